// The engine against the PyTorch reference implementation of ALGORITHM.md, on every fixture export
// style: gradients of every layer step, paths, JAS, layer scores, baselines and manipulation.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Engine } from '../../src/engine/index';
import { asSet, influencePatternPath, pathJas, scaledLayer, scaledNeuron, type Neurons } from '../../src/engine/locator';
import type { Formula } from '../../src/engine/result';
import { openModel } from '../../src/engine/modelStore';
import { Runner } from '../../src/engine/runner';
import { assertClose, tempDir, vitFixtures } from '../helpers/fixtures';

// The reference runs in float64, onnxruntime in float32: gradients and scores agree to ~1e-6 of
// their largest value; 1e-4 relative (of the largest element) is the stated tolerance.
const GRAD_REL = 1e-4;
const JAS_REL = 1e-4;
const PROB_ABS = 1e-5;

const cache = tempDir('ref-cache');

/**
 * JAS is a sum over readout tokens; where its terms cancel (|JAS| << sum |term|), float32 gradients
 * cannot give 1e-4 of the result. The tolerance is then 1e-5 of sum |term| (measured: ~1e-6).
 */
async function jasTolerance(runner: Runner, pixels: Float32Array, target: number, w: Float32Array[], path: Neurons[], m: number, formula: Formula, expected: number): Promise<number> {
  const D = runner.D;
  const G = await runner.gradients(pixels, target, w.map((wi, i) => scaledNeuron(wi, path[i], m, runner.D)), m);
  let terms = 0;
  for (let t = 0; t < w[0].length / D; t++) {
    let g = 0, s = 0, gs = 0;
    path.forEach((p, l) => asSet(p).forEach((j) => { const gi = G[l]![t * D + j], si = w[l][t * D + j] / m; g += gi; s += si; gs += Math.abs(gi * si); }));
    terms += formula === 'reference' ? Math.abs(g * s) : gs;
  }
  return Math.max(JAS_REL * Math.abs(expected), 1e-5 * terms);
}

/** The fixture model as an Engine and, on a second session, a Runner for direct passes. */
async function withEngine(model: string, fn: (engine: Engine, runner: Runner) => Promise<void>): Promise<void> {
  const engine = await Engine.open({ modelPath: model, cacheDir: cache, threads: 1 });
  const opened = await openModel({ modelPath: model, cacheDir: cache, threads: 1 }, undefined, () => {});
  try {
    await fn(engine, new Runner(opened.session, opened.info, opened.layers));
  } finally { await engine.dispose(); await opened.session.release(); }
}

for (const { name, model, ref } of vitFixtures()) {
  test(`${name}: structure is detected (L=${ref.layers}, D=${ref.neurons}, scope ${ref.scope})`, async () => {
    const engine = await Engine.open({ modelPath: model, cacheDir: cache, threads: 1 });
    try {
      assert.equal(engine.info.layers, ref.layers);
      assert.equal(engine.info.neuronsPerLayer, ref.neurons);
      assert.equal(engine.info.tokens, ref.tokens);
      assert.equal(engine.info.scope, ref.scope);
      // A batch-1 export either had its batch axis made dynamic (verified) or runs row by row.
      assert.equal(engine.info.fixedBatch || engine.info.batchRewritten, ref.fixedBatch);
      assert.equal(engine.info.numClasses, ref.numClasses);
    } finally { await engine.dispose(); }
  });

  test(`${name}: gradients of every layer step and of whole paths match PyTorch autograd`, async () => {
    const opened = await openModel({ modelPath: model, cacheDir: cache, threads: 1 }, undefined, () => {});
    try {
      const runner = new Runner(opened.session, opened.info, opened.layers);
      const pixels = Float32Array.from(ref.input.data);
      const D = ref.neurons, m = ref.steps;
      for (const c of ref.cases) {
        const w = c.clean.map((row) => Float32Array.from(row));
        const clean = await runner.clean(pixels);
        w.forEach((wl, l) => assertClose(clean.acts[l].slice(opened.info.readout[0] * D, opened.info.readout[1] * D), wl, 1e-5, 1e-6, `clean activation of layer ${l}`));
        const path = c.reference.path;
        for (let l = 0; l < ref.layers; l++) {
          const G = await runner.gradients(pixels, c.target, w.map((wi, i) => (i < l ? scaledNeuron(wi, path[i], m, D) : i === l ? scaledLayer(wi, m) : undefined)), m);
          for (let i = 0; i <= l; i++) assertClose(G[i]!, c.reference.layerGrads[l][i], GRAD_REL, 1e-9, `target ${c.target}, step ${l}, G_${i}`);
        }
        for (const j of c.jasOf) {
          const G = await runner.gradients(pixels, c.target, w.map((wi, i) => scaledNeuron(wi, j.path[i], m, D)), m);
          G.forEach((g, l) => assertClose(g!, j.grads[l], GRAD_REL, 1e-9, `path ${j.path}, G_${l}`));
        }
      }
    } finally { await opened.session.release(); }
  });

  if (ref.fixedBatch) {
    test(`${name}: batch-1 export: the batch axis is made dynamic only where that is safe`, async () => {
      const engine = await Engine.open({ modelPath: model, cacheDir: cache, threads: 1 });
      try {
        // HF-style exports fold the batch into leading Reshape dims (rewritable); torchvision's
        // attention folds it into [tokens, batch*heads, d] (not rewritable: runs row by row).
        assert.equal(engine.info.batchRewritten, name !== 'torchvision_mha');
      } finally { await engine.dispose(); }
    });
  }

  for (const formula of ['reference', 'paper'] as const) {
    test(`${name}: ${formula} formula gives PyTorch's paths, JAS, scores, baselines and manipulation`, async () => {
      await withEngine(model, async (engine, runner) => {
        const pixels = Float32Array.from(ref.input.data);
        for (const c of ref.cases) {
          const w = c.clean.map((row) => Float32Array.from(row));
          const tolerance = (path: number[], expected: number) => jasTolerance(runner, pixels, c.target, w, path, ref.steps, formula, expected);
          const r = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: ['activation', 'ig'] });
          const expected = c[formula];
          assert.deepEqual(r.path.map((n) => n.neuron), expected.path, `path for target ${c.target}`);
          assert.ok(Math.abs(r.jas - expected.jas) <= await tolerance(expected.path, expected.jas), `JAS ${r.jas} vs ${expected.jas}`);
          r.layerScores.forEach((s, l) => assertClose(s, expected.layerScores[l], GRAD_REL, 1e-12, `layer ${l} scores`));
          assert.ok(Math.abs(r.target.probability - c.targetProbability) <= PROB_ABS);
          const key = formula === 'reference' ? 'jasReference' : 'jasPaper';
          const act = c.baselines.activation, ig = c.baselines.integratedGradients;
          assert.deepEqual(r.baselines.activation!.path.map((n) => n.neuron), act.path);
          assert.deepEqual(r.baselines.integratedGradients!.path.map((n) => n.neuron), ig.path);
          assert.ok(Math.abs(r.baselines.activation!.jas - act[key]) <= await tolerance(act.path, act[key]), `activation JAS ${r.baselines.activation!.jas} vs ${act[key]}`);
          assert.ok(Math.abs(r.baselines.integratedGradients!.jas - ig[key]) <= await tolerance(ig.path, ig[key]), `IG JAS ${r.baselines.integratedGradients!.jas} vs ${ig[key]}`);
          for (const j of c.jasOf) {
            const got = await pathJas(runner, pixels, c.target, w, j.path, ref.steps, formula);
            assert.ok(Math.abs(got - j[formula]) <= await tolerance(j.path, j[formula]), `JAS of path ${j.path}: ${got} vs ${j[formula]}`);
          }
          for (const [got, want] of [[r.baselines.activation!.remove, act.remove], [r.baselines.activation!.enhance, act.enhance],
            [r.baselines.integratedGradients!.remove, ig.remove], [r.baselines.integratedGradients!.enhance, ig.enhance]]) {
            assert.ok(Math.abs(got - want) <= PROB_ABS, `baseline manipulation ${got} vs ${want}`);
          }
          if (formula === 'reference') {
            assert.ok(Math.abs(r.manipulation.remove.probability - c.manipulation.remove) <= PROB_ABS, `remove ${r.manipulation.remove.probability} vs ${c.manipulation.remove}`);
            assert.ok(Math.abs(r.manipulation.enhance.probability - c.manipulation.enhance) <= PROB_ABS, `enhance ${r.manipulation.enhance.probability} vs ${c.manipulation.enhance}`);
          }
        }
      });
    });
  }

  for (const formula of ['reference', 'paper'] as const) {
    test(`${name}: ${formula} formula: influence pattern and top-K paths as PyTorch computes them`, async () => {
      await withEngine(model, async (engine, runner) => {
        const pixels = Float32Array.from(ref.input.data);
        for (const c of ref.cases) {
          const ip = c.influencePattern, top = c.topK;
          assert.ok(ip && top, `${name}/reference.json has no influencePattern/topK: run /usr/bin/python3 scripts/python/extend_fixtures.py`);
          const w = c.clean.map((row) => Float32Array.from(row));
          const tolerance = (path: Neurons[], expected: number) => jasTolerance(runner, pixels, c.target, w, path, ref.steps, formula, expected);
          const key = formula === 'reference' ? 'jasReference' : 'jasPaper';
          const r = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: ['ip'], topK: top.k });
          const got = r.baselines.influencePattern!;
          assert.deepEqual(got.path.map((n) => n.neuron), ip.path, `influence pattern path for target ${c.target}`);
          const all = await influencePatternPath(runner, pixels, c.target, ref.steps);
          all.scores.forEach((s, l) => assertClose(s, ip.scores[l], GRAD_REL, 1e-12, `IP scores of layer ${l}`));
          assert.ok(Math.abs(got.jas - ip[key]) <= await tolerance(ip.path, ip[key]), `IP JAS ${got.jas} vs ${ip[key]}`);
          assert.ok(Math.abs(got.remove - ip.remove) <= PROB_ABS && Math.abs(got.enhance - ip.enhance) <= PROB_ABS, `IP remove/enhance ${got.remove}/${got.enhance} vs ${ip.remove}/${ip.enhance}`);

          const want = top[formula];
          assert.deepEqual(r.topK!.layers.map((l) => l.map((n) => n.neuron)), want.sets, `top-${top.k} sets for target ${c.target}`);
          assert.deepEqual(r.path.map((n) => n.neuron), want.sets.map((s) => s[0]), 'the path is the first neuron of every set');
          r.layerScores.forEach((s, l) => assertClose(s, want.layerScores[l], GRAD_REL, 1e-12, `top-K layer ${l} scores`));
          assert.ok(Math.abs(r.topK!.jas - want[key]) <= await tolerance(want.sets, want[key]), `top-K JAS ${r.topK!.jas} vs ${want[key]}`);
          if (formula === 'reference') {
            assert.ok(Math.abs(r.topK!.remove.probability - top.reference.remove) <= PROB_ABS, `top-K remove ${r.topK!.remove.probability} vs ${top.reference.remove}`);
            assert.ok(Math.abs(r.topK!.enhance.probability - top.reference.enhance) <= PROB_ABS, `top-K enhance ${r.topK!.enhance.probability} vs ${top.reference.enhance}`);
          }
          // K = 1 is the path: no top-K block, the same neurons as the path of the reference.
          const one = await engine.analyzeTensor(pixels, { target: c.target, steps: ref.steps, formula, baselines: [], topK: 1 });
          assert.equal(one.topK, undefined);
          assert.deepEqual(one.path.map((n) => n.neuron), c[formula].path);
        }
      });
    });
  }
}
