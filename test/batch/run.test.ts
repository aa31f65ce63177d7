// The batch runner with a real Engine (the tiny cls_op17_dynamic fixture): folder scan, one line per
// image, resume after a stop, broken images, settings checks, the new manipulation fields, the
// scaled passes and the pruning check.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import { analyzeFolder, categoryPatterns, mostFrequent, pathSets, PRUNE_VARIANTS, pruningCheck, runBatch, scanFolder, splitClasses } from '../../src/engine/batch/index';
import { batchSettings, recordsOf } from '../../src/engine/batch/records';
import { ERROR_SCHEMA, type BatchLine, type BatchRecord } from '../../src/engine/batch/schema';
import { stampOf, type FsPath } from '../../src/engine/files';
import { sha256File, type FileHash } from '../../src/engine/hash';
import { Engine, type AnalyzeGiven, type AnalyzeOptions, type ModelOptions, type RunHooks } from '../../src/engine/index';
import { pathScales } from '../../src/engine/manipulation';
import { FIXTURES, tempDir } from '../helpers/fixtures';
import { readResultFileSync } from '../../src/engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../../src/engine/batch/records';

const modelOptions: ModelOptions = { modelPath: path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx'), cacheDir: tempDir('batch-cache'), threads: 1 };
const fast = { steps: 4, randomCount: 2 };
let engine: Engine;
test.before(async () => { engine = await Engine.open(modelOptions); });
test.after(async () => { await engine.dispose(); });

async function png(file: string, colour: [number, number, number]): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } }).png().toFile(file);
  return file;
}

/** class_0/{a,b}.png, 1/c.png (labels of the fixture are "class N"), notes.txt, .hidden/x.png. */
async function folder(): Promise<string> {
  const dir = tempDir('batch-folder');
  await png(path.join(dir, 'class_0', 'a.png'), [200, 20, 20]);
  await png(path.join(dir, 'class_0', 'b.png'), [20, 200, 20]);
  await png(path.join(dir, '1', 'c.png'), [20, 20, 200]);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
  await png(path.join(dir, '.hidden', 'x.png'), [0, 0, 0]);
  return dir;
}

const imagesOf = (lines: BatchLine[]) => lines.map((l) => (l.schema === ERROR_SCHEMA ? l.image : l.image.path));

test('scan: ImageFolder classes by name or index, classes interleaved, hidden and non-image files left out', async () => {
  const dir = await folder();
  assert.deepEqual(engine.info.labels.slice(0, 2), ['class 0', 'class 1']);
  const scan = scanFolder(dir, engine.info.labels);
  assert.equal(scan.layout, 'imagefolder');
  assert.deepEqual(scan.items.map((i) => [path.relative(dir, i.image), i.trueClass, i.folderLabel]),
    [['1/c.png', 1, '1'], ['class_0/a.png', 0, 'class_0'], ['class_0/b.png', 0, 'class_0']]);
  assert.deepEqual(scan.unmatched, []);
  const flat = tempDir('batch-flat');
  await png(path.join(flat, 'z.jpg'), [1, 2, 3]);
  assert.deepEqual(scanFolder(flat, engine.info.labels).items.map((i) => [i.trueClass, i.folderLabel]), [[null, null]]);
  assert.equal(scanFolder(flat, engine.info.labels).layout, 'flat');
  assert.throws(() => scanFolder(tempDir('batch-empty'), engine.info.labels), /no images \(png, jpg/);
});

test('scan: a flat folder\'s labels.json gives its images their class, by index or by name; a broken one is refused with what it must hold', async () => {
  const flat = tempDir('batch-flat-labels');
  for (const name of ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']) await png(path.join(flat, name), [9, 9, 9]);
  // a: index, b: name as a folder would be matched, c: an index past the labels, d: a name no label has, e: not listed
  fs.writeFileSync(path.join(flat, 'labels.json'), JSON.stringify({ 'a.png': 1, 'b.png': 'Class_0', 'c.png': 99, 'd.png': 'zebra' }));
  const scan = scanFolder(flat, engine.info.labels);
  const byName = Object.fromEntries(scan.items.map((i) => [path.basename(i.image), [i.trueClass, i.folderLabel]]));
  assert.deepEqual(byName, { 'a.png': [1, null], 'b.png': [0, null], 'c.png': [null, null], 'd.png': [null, null], 'e.png': [null, null] });
  assert.equal(scan.layout, 'flat');
  assert.equal(scan.labelsFile, path.join(flat, 'labels.json'));
  assert.deepEqual(scan.unmatched, ['99', 'zebra']);
  fs.writeFileSync(path.join(flat, 'labels.json'), '{"a.png": 1,');
  assert.throws(() => scanFolder(flat, engine.info.labels), (e: Error & { code?: string }) => e.code === 'labels' && /labels\.json is not valid JSON .*must map image file names to class indices or names/.test(e.message));
  fs.writeFileSync(path.join(flat, 'labels.json'), '{"a.png": [1]}');
  assert.throws(() => scanFolder(flat, engine.info.labels), /gives \[1\] for "a\.png"/);
});

test('a run stopped after one image resumes without redoing it: every image appears once', async () => {
  const dir = await folder();
  const out = path.join(tempDir('batch-out'), 'run.jsonl');
  const controller = new AbortController();
  const first = await analyzeFolder(engine, {
    folder: dir, out, modelOptions, analyzeOptions: fast, signal: controller.signal,
    onProgress: (p) => { if (p.analysed === 1) controller.abort(); },
  });
  assert.equal(first.cancelled, true);
  assert.equal(first.analysed, 1);
  assert.equal(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines.length, 1);

  const progress: number[] = [];
  const second = await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: fast, onProgress: (p) => progress.push(p.done) });
  assert.deepEqual([second.resumed, second.analysed, second.cancelled], [1, 2, false]);
  assert.deepEqual(progress, [1, 2, 3], 'progress counts the resumed image');
  const lines = readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines as BatchRecord[];
  assert.equal(lines.length, 3);
  assert.equal(new Set(imagesOf(lines)).size, 3, 'each image once');
  for (const l of lines) {
    assert.equal(l.schema, 'neuron-path/1');
    assert.equal(l.trueClass, l.folderLabel === '1' ? 1 : 0);
    assert.equal(l.batch.key, batchSettings(engine.info.sha256, modelOptions, fast).key);
    assert.equal(l.settings.steps, 4);
  }
  const third = await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([third.resumed, third.analysed], [3, 0], 'nothing left to do');

  // A changed image is analysed again; other settings are refused rather than mixed into the file.
  await png(path.join(dir, 'class_0', 'a.png'), [90, 90, 10]);
  const fourth = await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([fourth.resumed, fourth.analysed], [2, 1]);
  assert.equal(recordsOf(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines).length, 4, 'old and new content of a.png');
  await assert.rejects(analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: { ...fast, steps: 5 } }),
    { name: 'BatchSettingsError', message: /other settings \(analyze.steps 4 in the file, 5 now\)/ });
  // Another model is named by its file, not by two hashes.
  const otherOptions = { ...modelOptions, modelPath: path.join(FIXTURES, 'cls_op13', 'model.onnx') };
  const other = await Engine.open(otherOptions);
  try {
    await assert.rejects(analyzeFolder(other, { folder: dir, out, modelOptions: otherOptions, analyzeOptions: fast }), (e: Error) => {
      assert.ok(e.message.includes(`another model: ${modelOptions.modelPath} in the file, ${otherOptions.modelPath} now`), e.message);
      assert.doesNotMatch(e.message, /[0-9a-f]{12}/);
      return true;
    });
  } finally {
    await other.dispose();
  }
});

test('a broken image is written as an error line and skipped, not fatal, and not retried on resume', async () => {
  const dir = await folder();
  fs.writeFileSync(path.join(dir, 'class_0', 'broken.png'), 'this is not a png');
  fs.writeFileSync(path.join(dir, '1', 'cut.png'), fs.readFileSync(path.join(dir, '1', 'c.png')).subarray(0, 60));
  const out = path.join(tempDir('batch-broken'), 'run.jsonl');
  const failed: string[] = [];
  const summary = await analyzeFolder(engine, {
    folder: dir, out, modelOptions, analyzeOptions: fast,
    onProgress: (p) => { if (p.line?.schema === ERROR_SCHEMA) failed.push(path.basename(p.line.image)); },
  });
  assert.deepEqual([summary.total, summary.analysed, summary.failed, summary.cancelled], [5, 5, 2, false]);
  assert.deepEqual(failed.sort(), ['broken.png', 'cut.png']);
  const lines = readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines;
  const errors = lines.filter((l) => l.schema === ERROR_SCHEMA);
  assert.equal(errors.length, 2);
  for (const e of errors) {
    assert.match(e.error, /cannot (read|decode)/);
    assert.match(e.sha256!, /^[0-9a-f]{64}$/);
  }
  assert.equal(recordsOf(lines).length, 3);
  const again = await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([again.resumed, again.analysed], [5, 0]);
});

test('each image is hashed once: the hash its resume check made goes to its analysis, with the file\'s stamp', async () => {
  const dir = await folder();
  const out = path.join(tempDir('batch-hash-once'), 'run.jsonl');
  const given = new Map<string, FileHash | undefined>();
  const model = {
    info: engine.info,
    analyze: (file: FsPath, options: AnalyzeOptions, hooks?: RunHooks, known?: AnalyzeGiven) => {
      given.set(String(file), known?.imageHash);
      return engine.analyze(file, options, hooks, known);
    },
  };
  await analyzeFolder(model, { folder: dir, out, modelOptions, analyzeOptions: fast });
  assert.equal(given.size, 3);
  for (const [file, hash] of given) assert.deepEqual(hash, { ...stampOf(fs.statSync(file)), sha256: await sha256File(file, 'image') }, file);
  for (const r of recordsOf(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines)) assert.equal(r.image.sha256, given.get(r.image.path)?.sha256);
});

test('a line cut off by a killed run does not corrupt the next one', async () => {
  const dir = await folder();
  const out = path.join(tempDir('batch-cut'), 'run.jsonl');
  const settings = batchSettings(engine.info.sha256, modelOptions, fast);
  const items = scanFolder(dir, engine.info.labels).items;
  await runBatch({ items: items.slice(0, 1), out, settings, kind: ANALYSIS_RECORDS, analyzers: [(it, signal) => engine.analyze(it.image, fast, { signal })] });
  fs.appendFileSync(out, '{"schema":"neuron-path/1","model":{"pa');
  const s = await runBatch({ items, out, settings, kind: ANALYSIS_RECORDS, analyzers: [(it, signal) => engine.analyze(it.image, fast, { signal })] });
  assert.deepEqual([s.resumed, s.analysed], [1, 2]);
  const read = readResultFileSync(out, { kind: ANALYSIS_RECORDS });
  assert.equal(read.lines.length, 3);
  assert.equal(read.skipped.length, 1);
});

test('fatal errors stop the run instead of filling the file with error lines', async () => {
  const dir = await folder();
  const out = path.join(tempDir('batch-fatal'), 'run.jsonl');
  await assert.rejects(analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: { ...fast, target: 99 } }), { name: 'TargetError' });
  assert.equal(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines.length, 0);
});

test('records carry the class predicted after removal and enhancement; scaled passes reproduce them', async () => {
  const dir = await folder();
  const image = path.join(dir, 'class_0', 'a.png');
  const r = await engine.analyze(image, { ...fast, randomCount: 3 });
  const C = engine.info.numClasses, L = engine.info.layers, D = engine.info.neuronsPerLayer;
  for (const t of [r.manipulation.remove.top1, r.manipulation.enhance.top1, r.baselines.activation!.removeTop1, r.baselines.integratedGradients!.enhanceTop1]) {
    assert.ok(Number.isInteger(t) && t! >= 0 && t! < C);
  }
  const kept = r.baselines.random!.removeKept!;
  assert.ok([0, 1 / 3, 2 / 3, 1].some((x) => Math.abs(x - kept) < 1e-12), `removeKept ${kept} is a share of 3 paths`);

  const path0 = r.path.map((n) => n.neuron);
  const probs = await engine.scaledProbabilities(image, pathScales([path0], [1, 0], L, D), 2);
  const clean = await engine.predict(image, C);
  for (const c of clean) assert.ok(Math.abs(probs[c.class] - c.probability) < 1e-5, 'scale 1 is the clean pass');
  const removed = probs.subarray(C, 2 * C);
  assert.ok(Math.abs(removed[r.target.class] - r.manipulation.remove.probability) < 1e-6);
  assert.equal(removed.indexOf(Math.max(...removed)), r.manipulation.remove.top1);
});

test('pruning protocol: kept neurons chosen on other images than those measured, never from the held-out ones; K = 0 is the unprotected curve', async () => {
  const dir = tempDir('batch-prune-folder');
  for (let i = 0; i < 5; i++) {
    await png(path.join(dir, 'class_0', `${i}.png`), [40 * i, 200 - 30 * i, 20]);
    await png(path.join(dir, '1', `${i}.png`), [20, 40 * i, 200 - 30 * i]);
  }
  const out = path.join(tempDir('batch-prune'), 'run.jsonl');
  await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: fast });
  const records = recordsOf(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines);
  const patterns = categoryPatterns(records);
  const L = engine.info.layers, D = engine.info.neuronsPerLayer;
  const opts = { fractions: [0, 0.5, 1], keep: 2, seed: 3 };
  const done: number[] = [];
  const curve = await pruningCheck(engine, records, patterns, { ...opts, onProgress: (d) => done.push(d) });
  assert.equal(curve.holdout, 0.2);
  assert.equal(curve.layers, L);
  assert.equal(curve.images, 2, 'one of five images per class held out');
  assert.equal(curve.reference, 'folder class');
  assert.deepEqual(curve.classes.map((c) => [c.key, c.chosenOn, c.measuredOn]), [['class:0', 4, 1], ['class:1', 4, 1]]);
  assert.equal(done.at(-1), 10);

  // The split: disjoint, complete, seeded; the kept path neurons are the most frequent on the chosen part.
  const split = splitClasses(records, patterns.groupBy, 0.2, 3);
  for (const c of split.classes) {
    assert.ok(c.heldOut.every((i) => !c.choose.includes(i)), 'held-out images are not chosen on');
    const k = curve.classes.find((x) => x.key === c.key)!;
    assert.deepEqual(k.kept.path, mostFrequent(c.choose.map((i) => pathSets(records[i])), L, 2));
    k.kept.path.forEach((l, layer) => assert.equal(k.kept.activation[layer].length, l.length, 'the activation control keeps as many'));
  }
  assert.deepEqual(split.classes.flatMap((c) => [...c.choose, ...c.heldOut]).sort((a, b) => a - b), records.map((_, i) => i));
  assert.deepEqual(splitClasses(records, patterns.groupBy, 0.2, 3), split, 'seeded');

  // Give every held-out image a path through a neuron no chosen image uses: it is never kept, and
  // nothing chosen changes.
  const unused = (layer: number) => [...Array(D).keys()].find((j) => split.classes.every((c) => c.choose.every((i) => records[i].path[layer].neuron !== j)))!;
  const tampered = records.map((r, i) => (split.classes.some((c) => c.heldOut.includes(i))
    ? { ...r, path: r.path.map((n) => ({ ...n, neuron: unused(n.layer) })) } : r));
  const again = await pruningCheck(engine, tampered, categoryPatterns(tampered), opts);
  assert.deepEqual(again.classes.map((c) => c.kept), curve.classes.map((c) => c.kept));
  for (const c of again.classes) c.kept.path.forEach((l, layer) => assert.ok(!l.includes(unused(layer)), `layer ${layer} keeps a held-out neuron`));
  assert.deepEqual(again.points, curve.points, 'the held-out paths do not change the curve');

  const [none, , all] = curve.points;
  for (const v of PRUNE_VARIANTS) {
    assert.equal(none.zeroed[v], 0);
    assert.ok(Math.abs(none.targetProbability[v] - curve.clean.targetProbability) < 1e-5, 'nothing zeroed is the clean model');
    assert.equal(none.accuracy[v], curve.clean.accuracy);
  }
  assert.equal(all.zeroed.unprotected, D);
  const kept = curve.classes.reduce((a, c) => a + c.kept.path.reduce((b, l) => b + l.length, 0), 0) / L / 2;
  assert.ok(Math.abs(all.zeroed.protected - (D - kept)) < 1e-9 && Math.abs(all.zeroed.activation - (D - kept)) < 1e-9 && Math.abs(all.zeroed.control - (D - kept)) < 1e-9);

  // K = 0: nothing is spared, every curve is the unprotected one.
  const zero = await pruningCheck(engine, records, patterns, { ...opts, keep: 0 });
  for (const p of zero.points) for (const v of PRUNE_VARIANTS) {
    assert.equal(p.accuracy[v], p.accuracy.unprotected);
    assert.equal(p.targetProbability[v], p.targetProbability.unprotected);
    assert.equal(p.zeroed[v], p.zeroed.unprotected);
  }
  assert.deepEqual(zero.points.map((p) => p.targetProbability.unprotected), curve.points.map((p) => p.targetProbability.unprotected), 'the same draw');

  // Only the first block pruned; holdout 0 chooses and measures on every image.
  const first = await pruningCheck(engine, records, patterns, { ...opts, layers: 1 });
  assert.equal(first.layers, 1);
  assert.ok(first.classes.every((c) => c.kept.path.length === 1));
  const same = await pruningCheck(engine, records, patterns, { ...opts, holdout: 0 });
  assert.equal(same.images, 10);
  assert.deepEqual(same.classes.map((c) => [c.chosenOn, c.measuredOn]), [[5, 5], [5, 5]]);
  await assert.rejects(pruningCheck(engine, records, patterns, { fractions: [1.5], keep: 2 }), /fractions must be in \[0, 1\]/);
  await assert.rejects(pruningCheck(engine, records, patterns, { ...opts, holdout: 1 }), /holdout must be a fraction in \[0, 1\)/);
  await assert.rejects(pruningCheck(engine, records, patterns, { ...opts, layers: L + 1 }), /layers must be an integer in 1\.\./);
});
