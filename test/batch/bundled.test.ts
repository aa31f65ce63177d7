// The batch analysis on the bundled Fashion-MNIST model and its sample images (two per class),
// laid out as an ImageFolder by their labels.json: every folder matches a label, the patterns and
// the comparison come out of real records, and the path matters more than random paths.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { analyzeFolder, categoryPatterns, compareMethods, pruningCheck, SimilarityIndex } from '../../src/engine/batch/index';
import { recordsOf } from '../../src/engine/batch/records';
import { Engine, type ModelOptions } from '../../src/engine/index';
import { REPO, tempDir } from '../helpers/fixtures';
import { readResultFileSync } from '../../src/engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../../src/engine/batch/records';

const MODEL = path.join(REPO, 'media', 'model', 'model.onnx');
const SAMPLES = path.join(REPO, 'media', 'samples');
const missing = !fs.existsSync(MODEL) || !fs.existsSync(path.join(SAMPLES, 'labels.json'));

test('batch on the bundled model: ImageFolder of the samples, class patterns, path vs random', { skip: missing && 'the bundled model is not there yet' }, async () => {
  const labels = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'labels.json'), 'utf8')) as Record<string, number>;
  const dir = tempDir('batch-bundled');
  for (const file of Object.keys(labels)) {
    const folder = file.replace(/-\d+\.png$/, ''); // tshirt-top-1.png -> tshirt-top
    fs.mkdirSync(path.join(dir, folder), { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, file), path.join(dir, folder, file));
  }
  const modelOptions: ModelOptions = { modelPath: MODEL, cacheDir: tempDir('batch-bundled-cache') };
  const engine = await Engine.open(modelOptions);
  try {
    const out = path.join(dir, '..', `${path.basename(dir)}.jsonl`);
    const summary = await analyzeFolder(engine, { folder: dir, out, modelOptions, analyzeOptions: { randomCount: 5 } });
    assert.deepEqual([summary.analysed, summary.failed], [20, 0]);
    const records = recordsOf(readResultFileSync(out, { kind: ANALYSIS_RECORDS }).lines);
    for (const r of records) assert.equal(r.trueClass, labels[path.basename(r.image.path)], `${r.image.path} matched to its label by folder name`);

    const patterns = categoryPatterns(records, { labels: engine.info.labels });
    assert.equal(patterns.classes.length, 10);
    assert.deepEqual(patterns.classes.map((c) => c.label), engine.info.labels);
    for (const c of patterns.classes) {
      assert.equal(c.count, 2);
      assert.equal(c.layers.length, engine.info.layers);
    }
    const index = new SimilarityIndex(patterns.classes);
    const rows = patterns.classes.map((_, i) => index.row(i));
    rows.forEach((row, i) => row.forEach((x, j) => {
      assert.ok(x >= 0 && x <= 1 + 1e-12);
      assert.ok(Math.abs(x - rows[j][i]) < 1e-12);
      if (i === j) assert.ok(Math.abs(x - 1) < 1e-12);
    }));
    patterns.similar.forEach((list, i) => assert.deepEqual(list.map((x) => x.similarity), [...rows[i]].filter((x, j) => j !== i && x > 0).sort((a, b) => b - a)));

    const [path_, ...baselines] = compareMethods(records);
    const random = baselines.find((b) => b.method === 'random')!;
    assert.ok(path_.jas.mean > random.jas.mean, `path JAS ${path_.jas.mean} > random ${random.jas.mean}`);
    assert.ok(path_.removeDeviation.mean < random.removeDeviation.mean, `removing the path drops the target more than removing random paths`);
    assert.ok(path_.removeKept !== null && random.removeKept !== null);

    const curve = await pruningCheck(engine, records, patterns, { fractions: [0.5], keep: 5, labels: engine.info.labels });
    assert.equal(curve.images, 10, 'one of the two images of each class held out');
    assert.equal(curve.reference, 'folder class');
    for (const v of ['unprotected', 'protected', 'activation', 'control'] as const) {
      const p = curve.points[0];
      assert.ok(p.accuracy[v] >= 0 && p.accuracy[v] <= 1 && p.targetProbability[v] >= 0 && p.targetProbability[v] <= 1);
    }
    process.stdout.write(`# bundled batch: path JAS ${path_.jas.mean.toFixed(4)} vs random ${random.jas.mean.toFixed(4)}; ` +
      `remove dev ${path_.removeDeviation.mean.toFixed(3)} vs ${random.removeDeviation.mean.toFixed(3)}\n`);
  } finally { await engine.dispose(); }
});
