// The engine against the PyTorch reference implementation of docs/method.md, on every fixture export
// style: gradients of every layer step, paths, JAS, layer scores, baselines and manipulation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../src/engine/index';
import { asSet, influencePatternPath, pathJas, scaledLayer, scaledNeuron, type Neurons } from '../../src/engine/locator';
import type { Formula } from '../../src/engine/result';
import { NAMES, neutralFeeds } from '../../src/engine/instrument';
import { openModel, releaseSessions, type OpenedModel } from '../../src/engine/modelStore';
import { quadrature } from '../../src/engine/quadrature';
import { readoutValues } from '../../src/engine/readout';
import { Runner } from '../../src/engine/runner';
import { assertClose, tempDir, vitFixtures } from '../helpers/fixtures';

// The reference runs in float64, onnxruntime in float32: gradients and scores agree to ~1e-6 of
// their largest value; 1e-4 relative (of the largest element) is the stated tolerance.
const EXACT = { grad: 1e-4, jas: 1e-4, prob: 1e-5, act: 1e-5 };
// A graph stored in float16 rounds its own constants as well (GELU's sqrt(2) becomes 1.4140625),
// which the reference (float16-rounded weights, exact constants) does not; the float32 analysis of
// that graph is faithful to it, so paths must still be identical and values agree to ~1e-4 (measured
// 3e-5): 1e-3 relative, 1e-4 for probabilities.
const HALF_CONSTANTS = { grad: 1e-3, jas: 1e-3, prob: 1e-4, act: 1e-3 };

const cache = tempDir('ref-cache');
/** The reference's rule: alpha_k = k/m. */
const left = (m: number) => quadrature(m, 'left');
/** The fixtures of scripts/python/make_fixtures.py, which extend_fixtures.py gives influencePattern and topK. */
const EXTENDED = ['cls_op13', 'cls_op17_dynamic', 'mae_pool', 'quickgelu', 'relu_op11', 'timm_qkv', 'torchvision_mha'];

/**
 * JAS is a sum over readout tokens; where its terms cancel (|JAS| << sum |term|), float32 gradients
 * cannot give 1e-4 of the result. The tolerance is then 1e-5 of sum |term| (measured: ~1e-6).
 */
async function jasTerms(runner: Runner, pixels: Float32Array, target: number, w: Float32Array[], path: Neurons[], m: number, formula: Formula): Promise<number> {
  const D = runner.D;
  const G = await runner.gradients(pixels, target, w.map((wi, i) => scaledNeuron(wi, path[i], left(m), runner.D)), m);
  let terms = 0;
  for (let t = 0; t < w[0].length / D; t++) {
    let g = 0, s = 0, gs = 0;
    path.forEach((p, l) => asSet(p).forEach((j) => { const gi = G[l]![t * D + j], si = w[l][t * D + j] / m; g += gi; s += si; gs += Math.abs(gi * si); }));
    terms += formula === 'reference' ? Math.abs(g * s) : gs;
  }
  return terms;
}

/** The largest difference between the forward-only and the gradient session over every fixture, printed at the end. */
const forwardWorst = { diff: 0, where: '' };
after(() => { process.stdout.write(`# forward-only session: largest difference from the gradient session ${forwardWorst.diff} (${forwardWorst.where || 'none'})\n`); });

/** The worst errors seen over every fixture held to EXACT, formula, case and path, printed at the end of the file. */
const worst = { rel: 0, relWhere: '', cancelling: 0, cancellingWhere: '' };
after(() => {
  process.stdout.write(`# JAS: worst relative error ${worst.rel.toExponential(2)} (${worst.relWhere}); where terms cancel, ` +
    `worst error / sum|term| ${worst.cancelling.toExponential(2)} (${worst.cancellingWhere})\n`);
});

async function assertJas(got: number, want: number, terms: Promise<number>, rel: number, where: string): Promise<void> {
  const sum = await terms, err = Math.abs(got - want);
  assert.ok(err <= Math.max(rel * Math.abs(want), 1e-5 * sum), `${where}: JAS ${got} vs ${want}`);
  if (rel !== EXACT.jas) return;
  if (Math.abs(want) >= 0.1 * sum) {
    if (err / Math.abs(want) > worst.rel) Object.assign(worst, { rel: err / Math.abs(want), relWhere: where });
  } else if (err / sum > worst.cancelling) Object.assign(worst, { cancelling: err / sum, cancellingWhere: where });
}

for (const { name, model, ref } of vitFixtures()) describe(name, () => {
  const tol = ref.precision === 'float16' ? HALF_CONSTANTS : EXACT;
  // One engine and one runner session per fixture, shared by its tests (the machine has 2 cores).
  let engine: Engine;
  let opened: OpenedModel;
  before(async () => {
    engine = await Engine.open({ modelPath: model, cacheDir: cache, threads: 1 });
    opened = await openModel({ modelPath: model, cacheDir: cache, threads: 1 }, undefined, () => {});
  });
  after(async () => { await engine?.dispose(); if (opened) await releaseSessions(opened.sessions); });

  test(`structure is detected (L=${ref.layers}, D=${ref.neurons}, readout rows ${ref.readout.join(',')}, grid ${ref.grid.join(',')}, ${ref.ffn} FFN)`, () => {
    assert.equal(engine.info.layers, ref.layers);
    assert.equal(engine.info.neuronsPerLayer, ref.neurons);
    assert.equal(engine.info.tokens, ref.tokens);
    assert.deepEqual(engine.info.readout.rows, ref.readout, 'the readout rows found from the graph');
    assert.equal(engine.info.readout.source, 'graph');
    assert.deepEqual(engine.info.readout.grid, ref.grid, 'the patch grid');
    assert.equal(engine.info.ffn, ref.ffn);
    assert.equal(engine.info.precision, ref.precision ?? 'float32', 'half-precision models are upcast and say so');
    if (['cls', 'patches', 'all'].includes(ref.scope)) assert.equal(engine.info.scope, ref.scope);
    // A batch-1 export either had its batch axis made dynamic (verified) or runs row by row.
    assert.equal(engine.info.fixedBatch || engine.info.batchRewritten, ref.fixedBatch);
    assert.equal(engine.info.numClasses, ref.numClasses);
    if (ref.leftOut !== undefined) {
      // CaiT, XCiT: the path runs through the self-attention blocks; the class-attention blocks are named as left out, with why.
      assert.equal(engine.info.headFfns.length, ref.leftOut, 'the class-attention blocks left out');
      assert.match(engine.info.leftOut ?? '', new RegExp(`^${ref.leftOut} FFNs after the ${ref.layers} blocks .* read 1 row of a learned query token, not the ${ref.tokens} token rows: class-attention blocks`));
    }
  });

  test('gradients of every layer step and of whole paths match PyTorch autograd', async () => {
    const runner = new Runner(opened.sessions, opened.info, opened.layers);
    const pixels = Float32Array.from(ref.input.data);
    const D = ref.neurons, m = ref.steps;
    for (const c of ref.cases) {
      const w = c.clean.map((row) => Float32Array.from(row));
      const clean = await runner.clean(pixels);
      w.forEach((wl, l) => assertClose(readoutValues(clean.acts[l], opened.info.readoutRows, D), wl, tol.act, 1e-6, `clean activation of layer ${l}`));
      const path = c.reference.path;
      for (let l = 0; l < ref.layers; l++) {
        const G = await runner.gradients(pixels, c.target, w.map((wi, i) => (i < l ? scaledNeuron(wi, path[i], left(m), D) : i === l ? scaledLayer(wi, left(m)) : undefined)), m);
        for (let i = 0; i <= l; i++) assertClose(G[i]!, c.reference.layerGrads[l][i], tol.grad, 1e-9, `target ${c.target}, step ${l}, G_${i}`);
      }
      for (const j of c.jasOf) {
        const G = await runner.gradients(pixels, c.target, w.map((wi, i) => scaledNeuron(wi, j.path[i], left(m), D)), m);
        G.forEach((g, l) => assertClose(g!, j.grads[l], tol.grad, 1e-9, `path ${j.path.join(',')}, G_${l}`));
      }
    }
  });

  test('the forward-only session gives the gradient session\'s probabilities and activations, rows replaced and scaled', async () => {
    // Two rows: some blocks switched to a replacement, the readout neurons of every block scaled.
    const { info, layers } = opened;
    const K = info.readoutRows.length, D = info.neurons, rows = info.input.fixedBatch ? 1 : 2;
    const one = Float32Array.from(ref.input.data), pixels = new Float32Array(rows * one.length);
    for (let r = 0; r < rows; r++) pixels.set(one.map((v) => v * (1 - 0.3 * r)), r * one.length);
    const feeds = neutralFeeds(info, layers, { type: 'float32', data: pixels, dims: [rows, info.input.channels, info.input.height, info.input.width] });
    feeds[NAMES.switch] = { type: 'float32', data: Float32Array.from({ length: layers }, (_, l) => l % 2), dims: [layers] };
    for (let l = 0; l < layers; l++) {
      feeds[NAMES.replace(l)] = { type: 'float32', data: Float32Array.from({ length: rows * K * D }, (_, i) => Math.sin(i + l)), dims: [rows, K, D] };
      feeds[NAMES.scale(l)] = { type: 'float32', data: Float32Array.from({ length: rows * D }, (_, i) => 0.5 + (i % 3) * 0.5), dims: [rows, 1, D] };
    }
    const fetches = [NAMES.probs, ...Array.from({ length: layers }, (_, l) => NAMES.act(l))];
    assert.deepEqual([...opened.sessions.forward.outputNames].sort(), [...fetches].sort(), 'the forward-only model outputs only probabilities and activations');
    const [full, forward] = [await opened.sessions.gradient.run(feeds, fetches), await opened.sessions.forward.run(feeds, fetches)];
    for (const fetched of fetches) {
      const a = full[fetched].data as Float32Array, b = forward[fetched].data as Float32Array;
      const worstDiff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      if (worstDiff > forwardWorst.diff) Object.assign(forwardWorst, { diff: worstDiff, where: `${name}, ${fetched}` });
      assertClose(b, a, 1e-6, 1e-7, `${fetched}: forward-only session`);
    }
  });

  if (ref.fixedBatch) {
    test('batch-1 export: the batch axis is made dynamic only where that is safe', () => {
      // HF- and timm-style exports fold the batch into leading Reshape dims (rewritable); torchvision's
      // attention folds it into [tokens, batch*heads, d] (not rewritable: runs row by row).
      assert.equal(engine.info.batchRewritten, name !== 'torchvision_mha');
    });
  }

  for (const formula of ['reference', 'paper'] as const) {
    test(`${formula} formula gives PyTorch's paths, JAS, scores, baselines, token maps and manipulation`, async () => {
      const runner = new Runner(opened.sessions, opened.info, opened.layers);
      const pixels = Float32Array.from(ref.input.data);
      for (const c of ref.cases) {
        const w = c.clean.map((row) => Float32Array.from(row));
        const terms = (path: number[]) => jasTerms(runner, pixels, c.target, w, path, ref.steps, formula);
        const where = (what: string) => `${name} ${formula} target ${c.target} ${what}`;
        const r = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: ['activation', 'ig'] });
        const clean = await runner.clean(pixels);
        const expected = c[formula];
        assert.deepEqual(r.path.map((n) => n.neuron), expected.path, `path for target ${c.target}`);
        await assertJas(r.jas, expected.jas, terms(expected.path), tol.jas, where('path'));
        r.tokenMaps.forEach((map) => {
          assert.deepEqual(map.grid, ref.grid);
          const first = ref.tokens - ref.grid[0] * ref.grid[1];
          assert.deepEqual(map.values, Array.from({ length: ref.grid[0] * ref.grid[1] }, (_, t) => clean.acts[map.layer][(first + t) * ref.neurons + map.neuron]));
        });
        r.layerScores.forEach((s, l) => assertClose(s, expected.layerScores[l], tol.grad, 1e-12, `layer ${l} scores`));
        assert.ok(Math.abs(r.target.probability - c.targetProbability) <= tol.prob);
        const key = formula === 'reference' ? 'jasReference' : 'jasPaper';
        const act = c.baselines.activation, ig = c.baselines.integratedGradients;
        assert.deepEqual(r.baselines.activation!.path.map((n) => n.neuron), act.path);
        assert.deepEqual(r.baselines.integratedGradients!.path.map((n) => n.neuron), ig.path);
        await assertJas(r.baselines.activation!.jas, act[key], terms(act.path), tol.jas, where('activation baseline'));
        await assertJas(r.baselines.integratedGradients!.jas, ig[key], terms(ig.path), tol.jas, where('IG baseline'));
        for (const j of c.jasOf) {
          const got = await pathJas(runner, pixels, c.target, w, j.path, left(ref.steps), formula);
          await assertJas(got, j[formula], terms(j.path), tol.jas, where(`path ${j.path.join(',')}`));
        }
        for (const [got, want] of [[r.baselines.activation!.remove, act.remove], [r.baselines.activation!.enhance, act.enhance],
          [r.baselines.integratedGradients!.remove, ig.remove], [r.baselines.integratedGradients!.enhance, ig.enhance]]) {
          assert.ok(Math.abs(got - want) <= tol.prob, `baseline manipulation ${got} vs ${want}`);
        }
        if (formula === 'reference') {
          assert.ok(Math.abs(r.manipulation.remove.probability - c.manipulation.remove) <= tol.prob, `remove ${r.manipulation.remove.probability} vs ${c.manipulation.remove}`);
          assert.ok(Math.abs(r.manipulation.enhance.probability - c.manipulation.enhance) <= tol.prob, `enhance ${r.manipulation.enhance.probability} vs ${c.manipulation.enhance}`);
        }
      }
    });
  }

  // The influence pattern and top-K paths, recorded by scripts/python/extend_fixtures.py on the
  // make_fixtures.py models.
  if (!EXTENDED.includes(name)) return;
  for (const formula of ['reference', 'paper'] as const) {
    test(`${formula} formula: influence pattern and top-K paths as PyTorch computes them`, async () => {
      const runner = new Runner(opened.sessions, opened.info, opened.layers);
      const pixels = Float32Array.from(ref.input.data);
      for (const c of ref.cases) {
        const ip = c.influencePattern, top = c.topK;
        assert.ok(ip && top, `${name}/reference.json has no influencePattern/topK: run /usr/bin/python3 scripts/python/extend_fixtures.py`);
        const w = c.clean.map((row) => Float32Array.from(row));
        const terms = (path: Neurons[]) => jasTerms(runner, pixels, c.target, w, path, ref.steps, formula);
        const where = (what: string) => `${name} ${formula} target ${c.target} ${what}`;
        const key = formula === 'reference' ? 'jasReference' : 'jasPaper';
        const r = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: ['ip'], topK: top.k });
        const got = r.baselines.influencePattern!;
        assert.deepEqual(got.path.map((n) => n.neuron), ip.path, `influence pattern path for target ${c.target}`);
        const all = await influencePatternPath(runner, pixels, c.target, left(ref.steps));
        all.scores.forEach((s, l) => assertClose(s, ip.scores[l], tol.grad, 1e-12, `IP scores of layer ${l}`));
        await assertJas(got.jas, ip[key], terms(ip.path), tol.jas, where('influence pattern'));
        assert.ok(Math.abs(got.remove - ip.remove) <= tol.prob && Math.abs(got.enhance - ip.enhance) <= tol.prob, `IP remove/enhance ${got.remove}/${got.enhance} vs ${ip.remove}/${ip.enhance}`);

        const want = top[formula];
        assert.deepEqual(r.topK!.layers.map((l) => l.map((n) => n.neuron)), want.sets, `top-${top.k} sets for target ${c.target}`);
        assert.deepEqual(r.path.map((n) => n.neuron), want.sets.map((s) => s[0]), 'the path is the first neuron of every set');
        r.layerScores.forEach((s, l) => assertClose(s, want.layerScores[l], tol.grad, 1e-12, `top-K layer ${l} scores`));
        await assertJas(r.topK!.jas, want[key], terms(want.sets), tol.jas, where(`top-${top.k} sets`));
        if (formula === 'reference') {
          assert.ok(Math.abs(r.topK!.remove.probability - top.reference.remove) <= tol.prob, `top-K remove ${r.topK!.remove.probability} vs ${top.reference.remove}`);
          assert.ok(Math.abs(r.topK!.enhance.probability - top.reference.enhance) <= tol.prob, `top-K enhance ${r.topK!.enhance.probability} vs ${top.reference.enhance}`);
        }
        // K = 1 is the path: no top-K block, the neurons of the reference path.
        const one = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: [], topK: 1 });
        assert.equal(one.topK, undefined);
        assert.deepEqual(one.path.map((n) => n.neuron), c[formula].path);
      }
    });
  }
});
