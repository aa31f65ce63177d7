// Exports unlike the fixtures: a model that ends in a softmax, and a generated non-square ViT with
// decomposed LayerNorm whose gradients are checked against finite differences on the whole model.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { syntheticVit } from '../../scripts/bench/syntheticVit';
import { analyzePixels } from '../../src/engine/analyze';
import { Engine } from '../../src/engine/index';
import { NAMES, neutralFeeds } from '../../src/engine/instrument';
import { openModel, releaseSessions } from '../../src/engine/modelStore';
import { decodeModel, encodeModel, onnx } from '../../src/engine/onnx/proto';
import { Runner } from '../../src/engine/runner';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const cache = tempDir('exports-cache');

test('a model that outputs probabilities is explained through its logits', async () => {
  const source = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
  const model = decodeModel(fs.readFileSync(source), source);
  const g = model.graph!;
  g.node!.push(onnx.NodeProto.create({ opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [{ name: 'axis', type: 2, i: 1 }] }));
  g.output = [{ name: 'probabilities' }];
  const file = path.join(tempDir('softmax'), 'model.onnx');
  fs.writeFileSync(file, encodeModel(model));
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cls_op17_dynamic', 'reference.json'), 'utf8'));
  const pixels = Float32Array.from(ref.input.data as number[]);
  const plain = await Engine.open({ modelPath: source, cacheDir: cache });
  const withSoftmax = await Engine.open({ modelPath: file, cacheDir: cache });
  try {
    const a = await plain.analyzeTensor(pixels, { baselines: [] });
    const b = await withSoftmax.analyzeTensor(pixels, { baselines: [] });
    assert.deepEqual(b.path.map((n) => n.neuron), a.path.map((n) => n.neuron));
    assert.ok(Math.abs(b.target.probability - a.target.probability) < 1e-6);
    assert.ok(Math.abs(b.jas - a.jas) <= 1e-6 * Math.abs(a.jas));
  } finally { await plain.dispose(); await withSoftmax.dispose(); }
});

test('a non-square ViT with decomposed LayerNorm: patch grid and whole-model gradients vs finite differences', async () => {
  const shape = { image: [24, 40] as [number, number], patch: 8, width: 24, layers: 3, heads: 2, ffn: 40, classes: 5, opset: 14 };
  const file = path.join(tempDir('nonsquare'), 'model.onnx');
  fs.writeFileSync(file, encodeModel(syntheticVit(shape, 7)));
  const engine = await Engine.open({ modelPath: file, cacheDir: cache });
  try {
    assert.equal(engine.info.tokens, 16);
    assert.deepEqual(engine.info.inputSize, [24, 40]);
    const pixels = Float32Array.from({ length: 3 * 24 * 40 }, (_, i) => Math.sin(i * 0.37));
    const r = await engine.analyzeTensor(pixels, { baselines: [] });
    assert.deepEqual(r.tokenMaps[0].grid, [3, 5]);
  } finally { await engine.dispose(); }

  // d F / d replacement of every block, against central differences of F computed by forward passes.
  const opened = await openModel({ modelPath: file, cacheDir: cache }, undefined, () => {});
  try {
    const runner = new Runner(opened.sessions, opened.info, opened.layers);
    const pixels = Float32Array.from({ length: 3 * 24 * 40 }, (_, i) => Math.cos(i * 0.11));
    const clean = await runner.clean(pixels);
    const D = runner.D, target = 3, m = 1;
    const w = clean.acts.map((a) => a.slice(0, D));
    const replacement = w.map((wi) => Float32Array.from(wi, (v, j) => v * (0.5 + 0.1 * (j % 5))));
    const G = await runner.gradients(pixels, target, replacement, m);
    const F = async (layer: number, j: number, delta: number) => {
      const rr = replacement.map((x) => x.slice());
      rr[layer][j] += delta;
      // Every block switched to its replacement (the forward-only session keeps the replacement inputs).
      const feeds = neutralFeeds(opened.info, opened.layers, { type: 'float32', data: pixels, dims: [1, 3, 24, 40] });
      feeds[NAMES.switch] = { type: 'float32', data: new Float32Array(opened.layers).fill(1), dims: [opened.layers] };
      rr.forEach((x, l) => { feeds[NAMES.replace(l)] = { type: 'float32', data: x, dims: [1, 1, D] }; });
      const out = await opened.sessions.forward.run(feeds, [NAMES.probs]);
      return (out[NAMES.probs].data as Float32Array)[target];
    };
    const eps = 1e-2;
    for (let l = 0; l < opened.layers; l++) {
      const scale = Math.max(...Array.from(G[l]!, Math.abs));
      for (const j of [0, 7, 19, 39]) {
        const fd = (await F(l, j, eps) - await F(l, j, -eps)) / (2 * eps);
        assert.ok(Math.abs(fd - G[l]![j]) <= 2e-3 * scale + 1e-6, `layer ${l} neuron ${j}: ${G[l]![j]} vs finite difference ${fd}`);
      }
    }
  } finally { await releaseSessions(opened.sessions); }
});

test('running the m steps in chunks (as large models do) changes no answer', async () => {
  const source = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cls_op17_dynamic', 'reference.json'), 'utf8'));
  const pixels = Float32Array.from(ref.input.data as number[]);
  const opened = await openModel({ modelPath: source, cacheDir: cache }, undefined, () => {});
  try {
    const input = { sessions: opened.sessions, info: opened.info, layers: opened.layers, labels: [], pixels };
    const whole = await analyzePixels(input, { randomCount: 4 });
    const chunked = await analyzePixels({ ...input, info: { ...opened.info, rowBytes: 128 * 1024 * 1024 / 3 } }, { randomCount: 4 });
    assert.equal(chunked.timing.rowsPerRun, 3);
    assert.equal(whole.timing.rowsPerRun, 20);
    assert.deepEqual(chunked.path.map((n) => n.neuron), whole.path.map((n) => n.neuron));
    assert.ok(Math.abs(chunked.jas - whole.jas) <= 1e-5 * Math.abs(whole.jas));
    chunked.layerScores.forEach((row, l) => row.forEach((v, j) => assert.ok(Math.abs(v - whole.layerScores[l][j]) <= 1e-5 * Math.max(...whole.layerScores[l].map(Math.abs)))));
    assert.ok(Math.abs(chunked.manipulation.remove.probability - whole.manipulation.remove.probability) < 1e-6);
    assert.ok(Math.abs(chunked.baselines.random!.removeMean - whole.baselines.random!.removeMean) < 1e-6);
  } finally { await releaseSessions(opened.sessions); }
});
