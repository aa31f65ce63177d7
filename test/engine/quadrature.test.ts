// The integration rules (src/engine/quadrature.ts): each rule's integral of known functions, and on a
// fixture ViT the completeness of per-layer integrated gradients (the sum of a layer's attributions
// equals F(w) - F(0)), which midpoint and Gauss-Legendre reach with fewer steps than the left sum.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { candidateScores, scaledLayer } from '../../src/engine/locator';
import { openModel, releaseSessions } from '../../src/engine/modelStore';
import { RULES } from '../../src/engine/options';
import { quadrature, rowFactors } from '../../src/engine/quadrature';
import type { Rule } from '../../src/engine/result';
import { readoutValues } from '../../src/engine/readout';
import { Runner } from '../../src/engine/runner';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const integral = (rule: Rule, m: number, f: (x: number) => number) => {
  const q = quadrature(m, rule);
  return q.alphas.reduce((sum, a, k) => sum + q.weights[k] * f(a), 0);
};

test('each rule integrates known functions on [0, 1] as its error formula says', () => {
  for (const m of [1, 4, 20, 200]) {
    for (const rule of RULES) {
      const q = quadrature(m, rule);
      assert.equal(q.alphas.length, m);
      assert.ok(Math.abs(q.weights.reduce((a, b) => a + b, 0) - 1) < 1e-13, `${rule} m=${m}: weights sum to 1`);
      assert.ok(q.alphas.every((a, k) => a >= 0 && a < 1 && (k === 0 || a > q.alphas[k - 1])), `${rule} m=${m}: points ascending in [0, 1)`);
    }
    // x^2: the left sum is 1/3 - 1/(2m) + 1/(6m^2), the midpoint sum 1/3 - 1/(12m^2).
    assert.ok(Math.abs(integral('left', m, (x) => x * x) - (1 / 3 - 1 / (2 * m) + 1 / (6 * m * m))) < 1e-13);
    assert.ok(Math.abs(integral('midpoint', m, (x) => x * x) - (1 / 3 - 1 / (12 * m * m))) < 1e-13);
    // m Gauss-Legendre points are exact for polynomials of degree 2m - 1.
    if (m <= 20) assert.ok(Math.abs(integral('gauss', m, (x) => x ** (2 * m - 1)) - 1 / (2 * m)) < 1e-13, `gauss m=${m}: x^${2 * m - 1}`);
  }
  assert.equal(quadrature(4, 'left').alphas.join(), '0,0.25,0.5,0.75', 'left: alpha_k = k/m, as the paper\'s code');
  assert.ok(Math.abs(integral('gauss', 8, Math.exp) - (Math.E - 1)) < 1e-14);
  assert.ok(Math.abs(integral('gauss', 3, Math.exp) - (Math.E - 1)) < 1e-6 && Math.abs(integral('left', 3, Math.exp) - (Math.E - 1)) > 0.2);
  assert.throws(() => quadrature(4, 'simpson' as Rule), /unknown integration rule "simpson"/);
  assert.throws(() => quadrature(0, 'left'), /at least 1/);
});

test('row factors: none for the equal-weight rules, m * weight for Gauss-Legendre', () => {
  assert.equal(rowFactors(quadrature(8, 'left')), undefined);
  assert.equal(rowFactors(quadrature(8, 'midpoint')), undefined);
  const f = rowFactors(quadrature(8, 'gauss'))!;
  assert.equal(f.length, 8);
  assert.ok(Math.abs(f.reduce((a, b) => a + b, 0) - 8) < 1e-5);
  assert.ok(f[0] < f[3], 'the end points weigh less than the middle ones');
});

test('per-layer IG completeness on a fixture: midpoint and Gauss-Legendre at m = 4 beat the left sum', async () => {
  const name = 'cls_op17_dynamic';
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8'));
  const opened = await openModel({ modelPath: path.join(FIXTURES, name, 'model.onnx'), cacheDir: tempDir('quadrature-cache'), threads: 1 }, undefined, () => {});
  try {
    const runner = new Runner(opened.sessions, opened.info, opened.layers);
    const { layers: L } = opened, D = runner.D;
    const pixels = Float32Array.from(ref.input.data as number[]);
    const clean = await runner.clean(pixels);
    const target = ref.cases[0].target as number;
    const w = clean.acts.map((a) => readoutValues(a, opened.info.readoutRows, D));
    for (const l of [0, L - 1]) {
      // F(0): block l's readout activation zeroed (scale 0 is replacement by 0).
      const zero = Array.from({ length: L }, (_, i) => new Float32Array(D).fill(i === l ? 0 : 1));
      const delta = clean.probs[target] - (await runner.scaled(pixels, zero, 1))[target];
      const gap = async (rule: Rule, m: number) => {
        const q = quadrature(m, rule);
        const G = (await runner.gradients(pixels, target, w.map((wi, i) => (i === l ? scaledLayer(wi, q) : undefined)), m, rowFactors(q)))[l]!;
        return Math.abs(candidateScores(G, w[l], m, D, 'paper', []).reduce((a, b) => a + b, 0) - delta);
      };
      const [left, midpoint, gauss, converged] = [await gap('left', 4), await gap('midpoint', 4), await gap('gauss', 4), await gap('left', 200)];
      process.stdout.write(`# block ${l}: F(w) - F(0) = ${delta.toExponential(3)}; |sum IG - it| at m = 4: left ${left.toExponential(2)}, ` +
        `midpoint ${midpoint.toExponential(2)}, gauss ${gauss.toExponential(2)}; left at m = 200: ${converged.toExponential(2)}\n`);
      assert.ok(midpoint < left / 2 && gauss < left / 2, `block ${l}: midpoint ${midpoint} and gauss ${gauss} vs left ${left}`);
      assert.ok(converged < left / 10, `block ${l}: the left sum converges (m = 200: ${converged}, m = 4: ${left})`);
    }
  } finally { await releaseSessions(opened.sessions); }
});
