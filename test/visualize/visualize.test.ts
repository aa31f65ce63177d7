// Feature visualization on the bundled model: the written PNG, read back and preprocessed as any
// image, excites the neuron more than every sample image does; the same seed gives the same PNG
// bytes; --size tiles a larger image; a ResNet-hybrid fixture is visualized too; the command line
// writes the image and its record; cancel stops between steps.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { defaultModelPath, Engine, type VisualizationRecord } from '../../src/engine/index';
import { FIXTURES, REPO, tempDir } from '../helpers/fixtures';

const cache = tempDir('visualize-cache');
const out = tempDir('visualize-out');
const samples = fs.readdirSync(path.join(REPO, 'media', 'samples')).filter((f) => f.endsWith('.png')).map((f) => path.join(REPO, 'media', 'samples', f));
let engine: Engine;
let sampleActs: Float64Array[][];

before(async () => {
  engine = await Engine.open({ modelPath: defaultModelPath(), threads: 1, cacheDir: cache });
  sampleActs = await Promise.all(samples.map((s) => engine.readoutActivations(s)));
});
after(async () => { await engine.dispose(); });

for (const [layer, neuron] of [[1, 50], [3, 7], [5, 90]]) {
  test(`neuron ${layer}:${neuron}: the PNG read back beats all ${samples.length} sample images`, async () => {
    const png = path.join(out, `n-${layer}-${neuron}.png`);
    const steps: number[] = [];
    const r = await engine.visualize({ layer, neuron, steps: 96, seed: 3 }, png, (step) => steps.push(step));
    assert.deepEqual(steps, Array.from({ length: 96 }, (_, k) => k + 1));
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [28, 28, 3]);
    assert.equal(r.objective.kind, 'neuron');
    // The record's activation is the one the analysis reads for that image.
    const again = (await engine.readoutActivations(png))[layer][neuron];
    assert.ok(Math.abs(again - r.finalActivation) < 1e-5, `${again} vs ${r.finalActivation}`);
    const best = Math.max(...sampleActs.map((a) => a[layer][neuron]));
    assert.ok(r.finalActivation > best, `visualization ${r.finalActivation} <= best sample ${best}`);
  });
}

test('the same seed gives the same PNG bytes; another seed another image', async () => {
  const file = (name: string) => path.join(out, name);
  await engine.visualize({ layer: 2, neuron: 11, steps: 24, seed: 5 }, file('a.png'));
  await engine.visualize({ layer: 2, neuron: 11, steps: 24, seed: 5 }, file('b.png'));
  await engine.visualize({ layer: 2, neuron: 11, steps: 24, seed: 6 }, file('c.png'));
  assert.ok(fs.readFileSync(file('a.png')).equals(fs.readFileSync(file('b.png'))));
  assert.ok(!fs.readFileSync(file('a.png')).equals(fs.readFileSync(file('c.png'))));
});

test('a class logit, and the patch rows: the ascent raises what it ascends', async () => {
  const c = await engine.visualize({ class: 4, steps: 48, seed: 1 }, path.join(out, 'class.png'));
  assert.deepEqual(c.objective, { kind: 'class', class: 4, label: engine.info.labels[4] });
  assert.ok(c.finalActivation > c.objectivePerStep[0] + 1, `logit ${c.objectivePerStep[0]} -> ${c.finalActivation}`);
  const p = await engine.visualize({ layer: 4, neuron: 30, rows: 'patches', steps: 48, seed: 1 }, path.join(out, 'patches.png'));
  assert.equal(p.objective.kind === 'neuron' && p.objective.rowIndices.length, 49);
  assert.ok(p.objectivePerStep[47] > p.objectivePerStep[0]);
});

test('--size: a tiled image larger than the input; each window of it beats every sample image on the patch rows', async () => {
  // Tiling suits a translation-invariant objective: the neuron summed over the patch tokens (the
  // readout rows depend on where things are, through the position embeddings).
  const png = path.join(out, 'tiled.png');
  const r = await engine.visualize({ layer: 3, neuron: 7, rows: 'patches', steps: 288, seed: 3, size: [42, 56] }, png);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [56, 42]);
  assert.deepEqual([r.image.width, r.image.height, r.settings.size], [56, 42, [42, 56]]);
  assert.deepEqual(r.tiles?.map((t) => [t.top, t.left]), [[0, 0], [0, 28], [14, 0], [14, 28], [7, 14]]);
  const scans = await engine.scanNeurons(samples.map((p) => ({ path: p, target: null })), [{ layer: 3, neuron: 7 }]);
  const patchSums = scans.map((s) => { assert.ok(!(s instanceof Error)); return s.units[0].map!.reduce((a, v) => a + v, 0); });
  const best = Math.max(...patchSums);
  for (const t of r.tiles) assert.ok(t.activation > best, `window at ${t.top},${t.left}: ${t.activation} <= best sample ${best}`);
  // a window cut out of the PNG as an image of the input's size: the analysis reads the same activation
  const cut = path.join(out, 'tiled-window.png');
  await sharp(png).extract({ top: 14, left: 28, height: 28, width: 28 }).png().toFile(cut);
  const [window] = await engine.scanNeurons([{ path: cut, target: null }], [{ layer: 3, neuron: 7 }]);
  assert.ok(!(window instanceof Error));
  const read = window.units[0].map!.reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(read - r.tiles[3].activation) < 1e-4 * Math.abs(read), `${read} vs ${r.tiles[3].activation}`);
  // deterministic for a seed; at the input's size no window is drawn: the bytes of a run without --size
  const a = path.join(out, 'tiled-a.png'), b = path.join(out, 'tiled-b.png');
  await engine.visualize({ layer: 3, neuron: 7, steps: 8, seed: 4, size: [40, 40] }, a);
  await engine.visualize({ layer: 3, neuron: 7, steps: 8, seed: 4, size: [40, 40] }, b);
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), 'same seed, same tiled PNG');
  const plain = path.join(out, 'plain.png'), sized = path.join(out, 'plain-sized.png');
  await engine.visualize({ layer: 3, neuron: 7, steps: 8, seed: 4 }, plain);
  await engine.visualize({ layer: 3, neuron: 7, steps: 8, seed: 4, size: [28, 28] }, sized);
  assert.ok(fs.readFileSync(plain).equals(fs.readFileSync(sized)), 'the input size is the untiled image');
  await assert.rejects(engine.visualize({ layer: 3, neuron: 7, steps: 2, size: [20, 56] }, path.join(out, 'x.png')),
    /the size must be at least the model's input \(28x28\) and at most 2048x2048, not 20x56/);
});

test('a ResNet-hybrid ViT (Pad, GroupNorm, MaxPool stem) is visualized: what is ascended rises', async () => {
  const hybrid = await Engine.open({ modelPath: path.join(FIXTURES, 'timm_hybrid_op17', 'model.onnx'), threads: 1, cacheDir: cache });
  try {
    const r = await hybrid.visualize({ layer: 1, neuron: 3, steps: 24, seed: 0 }, path.join(out, 'hybrid.png'));
    assert.deepEqual([r.image.width, r.image.height], [32, 32]);
    assert.ok(r.objectivePerStep[23] > r.objectivePerStep[0], `${r.objectivePerStep[0]} -> ${r.objectivePerStep[23]}`);
    assert.ok(Number.isFinite(r.finalActivation));
  } finally {
    await hybrid.dispose();
  }
});

test('bad requests are refused in words; an aborted signal stops it', async () => {
  await assert.rejects(engine.visualize({ layer: 6, neuron: 0 }, path.join(out, 'x.png')), /layer 6 is out of range: the model has blocks 0..5/);
  await assert.rejects(engine.visualize({ layer: 0, neuron: 256 }, path.join(out, 'x.png')), /neuron 256 is out of range/);
  await assert.rejects(engine.visualize({ layer: 0 }, path.join(out, 'x.png')), /needs a layer and a neuron, or a class/);
  await assert.rejects(engine.visualize({ layer: 0, neuron: 1, steps: 0 }, path.join(out, 'x.png')), /steps must be an integer in 1..4096/);
  const controller = new AbortController();
  await assert.rejects(engine.visualize({ layer: 0, neuron: 1, steps: 50 }, path.join(out, 'x.png'), (step) => { if (step === 3) controller.abort(); }, controller.signal),
    (e: Error) => e.name === 'AbortError');
});

test('neuron-path visualize writes the PNG and the record, with progress on stderr', () => {
  const png = path.join(out, 'cli.png'), json = path.join(out, 'cli.json');
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5', '--neuron', '17', '--steps', '20', '--out', png, '--json', json, '--threads', '1'],
    { encoding: 'utf8', env: { ...process.env, NEURON_PATH_CACHE: cache } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /step 20\/20: /);
  assert.match(r.stdout, /Visualization of layer 5, neuron 17, summed over the readout rows \(1\)/);
  const rec = JSON.parse(fs.readFileSync(json, 'utf8')) as VisualizationRecord;
  assert.equal(rec.schema, 'neuron-path/visualization-1');
  assert.equal(rec.objectivePerStep.length, 20);
  assert.equal(rec.image.path, png);
  assert.match(r.stdout, new RegExp(`Activation on .*cli\\.png \\(28x28, read back and preprocessed\\): `));
  // a file of other results is not replaced; the same command again replaces its own record
  const record = path.join(out, 'record.json');
  fs.writeFileSync(record, '{"schema": "neuron-path/1"}\n');
  const kept = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5', '--neuron', '17', '--steps', '2', '--out', png, '--json', record],
    { encoding: 'utf8', env: { ...process.env, NEURON_PATH_CACHE: cache } });
  assert.equal(kept.status, 1);
  assert.match(kept.stderr, /holds neuron-path results \(neuron-path\/1\)/);
  const again = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5', '--neuron', '17', '--steps', '2', '--out', png, '--json', json, '--threads', '1'],
    { encoding: 'utf8', env: { ...process.env, NEURON_PATH_CACHE: cache } });
  assert.equal(again.status, 0, again.stderr);
  const bad = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /name a neuron \(--layer L --neuron J\) or a class \(--class C\)/);
  // --size: a tiled image, its windows printed; a malformed size is a usage error
  const tiled = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5', '--neuron', '17', '--steps', '3', '--size', '28x42', '--out', path.join(out, 'cli-tiled.png'), '--threads', '1'],
    { encoding: 'utf8', env: { ...process.env, NEURON_PATH_CACHE: cache } });
  assert.equal(tiled.status, 0, tiled.stderr);
  assert.match(tiled.stdout, /cli-tiled\.png \(42x28, read back and preprocessed\): .*\n {2}Its 28x28 windows \(top-left, top-right, bottom-left, bottom-right, centre\): [^,]+(, [^,]+){4}\n/);
  const badSize = spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), 'visualize', '--layer', '5', '--neuron', '1', '--size', '448'], { encoding: 'utf8' });
  assert.equal(badSize.status, 2);
  assert.match(badSize.stderr, /--size takes HxW in pixels \(height x width, e\.g\. 448x448\), not "448"/);
});
