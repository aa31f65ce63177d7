// The neuron scan (issue 13) on the bundled model and media/samples: activations and maps equal
// the path analysis's, batched or not; the ablation equals the analysis's manipulation pass for a
// one-neuron path; a folder run batches, cancels and resumes with one record per image; the
// summary's top-K is ordered and stable. Also the analysis's early prediction (issue 13 §5).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { BatchSettingsError, readLines, runBatch, type BatchProgress } from '../../src/engine/batch/index';
import { Engine, type AnalysisResult, type LayerProgress, type ModelOptions } from '../../src/engine/index';
import {
  batchedAnalyzer, NEURON_RECORDS, NEURON_SCHEMA, neuronScanSettings, scanFolderNeurons, selectiveNeurons, summarizeNeuron,
  type NeuronScanLine, type NeuronScanRecord, type ScanRecord,
} from '../../src/engine/neurons/index';
import { REPO, tempDir, vitFixtures } from '../helpers/fixtures';

const SAMPLES = path.join(REPO, 'media', 'samples');
const LABELS = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'labels.json'), 'utf8')) as Record<string, number>;
const FILES = Object.keys(LABELS).sort();
const modelOptions: ModelOptions = { modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('neuron-cache'), threads: 1 };
const TOL = 1e-6;

let engine: Engine;
let analysis: AnalysisResult;
const progress: LayerProgress[] = [];
test.before(async () => {
  engine = await Engine.open(modelOptions);
  analysis = await engine.analyze(path.join(SAMPLES, 'coat-1.png'), { steps: 8, baselines: [] }, { onProgress: (p) => progress.push(p) });
});
test.after(async () => { await engine.dispose(); });

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** An ImageFolder copy of the samples: <class label>/<file>. */
function classFolder(): string {
  const dir = tempDir('neuron-folder');
  for (const f of FILES) {
    const sub = path.join(dir, engine.info.labels[LABELS[f]].replace(/\//g, '-'));
    fs.mkdirSync(sub, { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, f), path.join(sub, f));
  }
  return dir;
}

test('the analysis reports the prediction as soon as the clean pass ends, on every later message', () => {
  const first = progress.findIndex((p) => p.prediction);
  assert.ok(first >= 0 && progress[first].phase === 'clean', 'a clean-phase message carries the prediction');
  assert.ok(progress.findIndex((p) => p.phase === 'layer') > first, 'before the first layer step');
  for (const p of progress.slice(first)) {
    assert.deepEqual(p.prediction?.top, analysis.prediction.top);
    assert.deepEqual(p.prediction?.target, analysis.target);
  }
});

test('scan activations and maps equal the path analysis\'s for every path neuron, in a batch of images (1e-6)', async () => {
  const units = analysis.path.map((p) => ({ layer: p.layer, neuron: p.neuron }));
  // coat-1 in the middle of a batch, so batching with other images is what is checked
  const images = ['bag-1.png', 'sandal-2.png', 'coat-1.png', 'trouser-1.png', 'shirt-1.png'].map((f) => ({ path: path.join(SAMPLES, f), target: null }));
  const records = await engine.scanNeurons(images, units);
  const coat = records[2] as NeuronScanRecord;
  assert.equal(coat.schema, NEURON_SCHEMA);
  assert.deepEqual(coat.prediction.top.map((t) => t.class), analysis.prediction.top.map((t) => t.class));
  for (const [k, p] of analysis.path.entries()) {
    const u = coat.units[k];
    close(u.activation[0], p.activation, `layer ${p.layer} neuron ${p.neuron} activation`);
    const map = analysis.tokenMaps[k];
    assert.deepEqual(coat.grid, map.grid);
    map.values.forEach((v, t) => close(u.map![t], v, `layer ${p.layer} patch ${t}`));
    const peak = map.values.indexOf(Math.max(...map.values));
    assert.equal(u.peak[0], peak);
    assert.equal(u.peakValue[0], map.values[peak]);
  }
  // the same image alone gives the same numbers as in the batch
  const alone = (await engine.scanNeurons([images[2]], units))[0] as NeuronScanRecord;
  alone.units.forEach((u, k) => close(u.activation[0], coat.units[k].activation[0], `alone vs batched, unit ${k}`));
});

test('a whole-layer unit gives each neuron the single-neuron activation and peak', async () => {
  const p = analysis.path[2];
  const [r] = await engine.scanNeurons([{ path: path.join(SAMPLES, 'coat-1.png'), target: null }], [{ layer: 2, neuron: null }, { layer: 2, neuron: p.neuron }]) as NeuronScanRecord[];
  const [whole, single] = r.units;
  assert.equal(whole.activation.length, engine.info.neuronsPerLayer);
  assert.equal(whole.map, undefined, 'no maps for whole layers (D maps per image would be large)');
  assert.equal(whole.ablated, undefined);
  assert.equal(whole.activation[p.neuron], single.activation[0]);
  assert.equal(whole.peak[p.neuron], single.peak[0]);
});

test('the ablation equals the manipulation pass of a one-neuron path (neuron x0 at the readout, 1e-6)', async () => {
  const image = path.join(SAMPLES, 'pullover-1.png');
  const units = [analysis.path[1], analysis.path[4], { layer: 3, neuron: 17 }].map((p) => ({ layer: p.layer, neuron: p.neuron }));
  const [r] = await engine.scanNeurons([{ path: image, target: LABELS['pullover-1.png'] }], units) as NeuronScanRecord[];
  assert.equal(r.target.class, LABELS['pullover-1.png']);
  const L = engine.info.layers, D = engine.info.neuronsPerLayer, C = engine.info.numClasses;
  for (const [k, u] of units.entries()) {
    const scales = Array.from({ length: L }, (_, l) => { const s = new Float32Array(D).fill(1); if (l === u.layer) s[u.neuron] = 0; return s; });
    const probs = await engine.scaledProbabilities(image, scales, 1);
    close(r.units[k].ablated!.probability, probs[r.target.class], `unit ${k} ablated probability`);
    assert.equal(r.units[k].ablated!.top1, probs.indexOf(Math.max(...probs.subarray(0, C))));
  }
  // zeroing a neuron changes the prediction at all (the pass is live, not a copy of the clean one)
  assert.ok(r.units.some((u) => u.ablated!.probability !== r.target.probability));
});

test('a broken image is an error for itself only; bad neurons are refused with the model\'s sizes', async () => {
  const bad = path.join(tempDir('neuron-bad'), 'broken.png');
  fs.writeFileSync(bad, 'not a png');
  const out = await engine.scanNeurons([{ path: bad, target: null }, { path: path.join(SAMPLES, 'bag-1.png'), target: null }], [{ layer: 0, neuron: 1 }]);
  assert.ok(out[0] instanceof Error && out[0].name === 'ImageError');
  assert.equal((out[1] as NeuronScanRecord).schema, NEURON_SCHEMA);
  await assert.rejects(engine.scanNeurons([], [{ layer: 6, neuron: 0 }]), /layer 6 does not exist: the model has 6 blocks \(0\.\.5\)/);
  await assert.rejects(engine.scanNeurons([], [{ layer: 0, neuron: 256 }]), /neuron 256 does not exist: block 0 has 256 FFN neurons \(0\.\.255\)/);
});

test('folder scan: batches of images per run; cancel and resume keep one record per image; other neurons are refused', async () => {
  const dir = classFolder();
  const out = path.join(tempDir('neuron-out'), 'scan.jsonl');
  const units = [{ layer: 3, neuron: analysis.path[3].neuron }, { layer: 5, neuron: null }];
  const controller = new AbortController();
  const seen: BatchProgress<NeuronScanLine>[] = [];
  const first = await scanFolderNeurons(engine, {
    folder: dir, out, units, modelOptions, batchSize: 4, signal: controller.signal,
    onProgress: (p) => { seen.push(p); if (p.analysed >= 6) controller.abort(); },
  });
  assert.equal(first.cancelled, true);
  const after = readLines(out, NEURON_RECORDS).lines;
  assert.ok(after.length >= 6 && after.length < FILES.length, `${after.length} lines after the stop`);
  const second = await scanFolderNeurons(engine, { folder: dir, out, units, modelOptions, batchSize: 4 });
  assert.equal(second.resumed, after.length);
  assert.equal(second.analysed, FILES.length - after.length);
  const lines = readLines(out, NEURON_RECORDS);
  assert.deepEqual(lines.skipped, []);
  const images = lines.lines.map((l) => (l as unknown as NeuronScanRecord).image.path);
  assert.equal(new Set(images).size, FILES.length, 'one record per image');
  assert.equal(images.length, FILES.length);
  const records = lines.lines as unknown as ScanRecord[];
  for (const r of records) assert.equal(r.target.class, r.trueClass, 'the ablation target is the folder class');
  await assert.rejects(scanFolderNeurons(engine, { folder: dir, out, units: [{ layer: 0, neuron: 0 }], modelOptions }),
    (e: Error) => e instanceof BatchSettingsError && /scan\.units/.test(e.message));

  // the summary: top-K ordered by activation, stable under record order, per-class rows cover every image
  const s = summarizeNeuron(records, units[0].layer, units[0].neuron!, { top: 5 });
  assert.equal(s.top.length, 5);
  for (let i = 1; i < s.top.length; i++) assert.ok(s.top[i - 1].activation >= s.top[i].activation);
  assert.deepEqual(summarizeNeuron([...records].reverse(), units[0].layer, units[0].neuron!, { top: 5 }), s);
  const best = records.reduce((a, b) => (b.units[0].activation[0] > a.units[0].activation[0] ? b : a));
  assert.equal(s.top[0].image, best.image.path);
  assert.ok(s.top[0].map && s.top[0].map.length === s.grid[0] * s.grid[1]);
  assert.equal(s.classes.length, 10);
  assert.equal(s.classes.reduce((a, c) => a + c.images, 0), FILES.length);
  // the histogram: every image in one bin, the smallest and largest activation at its ends, the top images' bins marked
  const acts = records.map((r) => r.units[0].activation[0]);
  assert.equal(s.histogram.counts.reduce((a, b) => a + b, 0), FILES.length);
  assert.equal(s.histogram.edges.length, s.histogram.counts.length + 1);
  assert.deepEqual([s.histogram.edges[0], s.histogram.edges[s.histogram.counts.length]], [Math.min(...acts), Math.max(...acts)]);
  const binOf = (v: number) => s.histogram.edges.findIndex((e, i) => i === s.histogram.counts.length - 1 || (v >= e && v < s.histogram.edges[i + 1]));
  assert.deepEqual(s.histogram.topBins, [...new Set(s.top.map((t) => binOf(t.activation)))].sort((a, b) => a - b));
  assert.ok(s.histogram.topBins.includes(s.histogram.counts.length - 1), 'the most active image is in the last bin');
  assert.ok(s.all.ablated && s.all.clean.accuracy >= 0.8, 'clean accuracy of the bundled model on the samples');
  // a neuron of the whole-layer unit: no ablation, but top images and selectivity
  const w = summarizeNeuron(records, 5, 7, { top: 3 });
  assert.equal(w.all.ablated, null);
  assert.equal(w.top.length, 3);
  const selective = selectiveNeurons(records, 5, 4);
  assert.equal(selective.length, 4);
  assert.ok(selective[0].classMean - selective[0].mean >= selective[3].classMean - selective[3].mean);
});

test('the batched analyzer runs the images the runner asks for together, one batch at a time', async () => {
  const sizes: number[] = [];
  let running = 0;
  const analyze = batchedAnalyzer(4, async (items) => {
    assert.equal(running++, 0, 'batches never overlap');
    sizes.push(items.length);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return items.map((it) => ({ schema: NEURON_SCHEMA, image: { path: it.image, sha256: 'x' } } as unknown as NeuronScanRecord));
  });
  const dir = tempDir('neuron-queue');
  const items = Array.from({ length: 10 }, (_, i) => ({ image: path.join(dir, `${i}.png`), trueClass: null, folderLabel: null }));
  const settings = neuronScanSettings('sha', modelOptions, [{ layer: 0, neuron: 0 }]);
  const summary = await runBatch({ items, out: path.join(dir, 'q.jsonl'), settings, analyzers: [analyze, analyze, analyze, analyze], kind: NEURON_RECORDS });
  assert.equal(summary.analysed, 10);
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('scan activations and maps equal the analysis\'s on every export style of the fixtures (readout rows, patch grids, gated FFNs)', async () => {
  const image = path.join(SAMPLES, 'dress-1.png');
  const cacheDir = tempDir('neuron-fixtures');
  for (const f of vitFixtures()) {
    const e = await Engine.open({ modelPath: f.model, cacheDir, threads: 1 });
    try {
      const r = await e.analyze(image, { steps: 2, baselines: [] });
      const [s] = await e.scanNeurons([{ path: image, target: null }, { path: path.join(SAMPLES, 'bag-2.png'), target: null }], r.path.map((p) => ({ layer: p.layer, neuron: p.neuron }))) as NeuronScanRecord[];
      r.path.forEach((p, k) => {
        close(s.units[k].activation[0], p.activation, `${f.name} layer ${p.layer}`);
        assert.deepEqual(s.grid, r.tokenMaps[k].grid, f.name);
        r.tokenMaps[k].values.forEach((v, t) => close(s.units[k].map![t], v, `${f.name} layer ${p.layer} patch ${t}`));
      });
    } finally { await e.dispose(); }
  }
});
