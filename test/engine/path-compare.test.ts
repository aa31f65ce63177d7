// Two paths side by side (issue 13 §4) on the bundled model: the JAS of a path recomputed on its own
// image equals the analysis's (1e-6 relative), ranks are those of the recorded scores, an image
// compared with itself shares every neuron; results of other settings are refused. And the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { Engine, type AnalysisResult } from '../../src/engine/index';
import { comparePaths, type PathComparison } from '../../src/engine/pathCompare';
import { rankOf } from '../../src/engine/rank';
import { REPO, tempDir } from '../helpers/fixtures';

const SAMPLES = path.join(REPO, 'media', 'samples');
const modelOptions = { modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('compare-cache'), threads: 1 };
const opts = { steps: 8, baselines: [] };
let engine: Engine, a: AnalysisResult, b: AnalysisResult;
test.before(async () => {
  engine = await Engine.open(modelOptions);
  a = await engine.analyze(path.join(SAMPLES, 'coat-1.png'), opts);
  b = await engine.analyze(path.join(SAMPLES, 'pullover-1.png'), opts);
});
test.after(async () => { await engine.dispose(); });

const closeRel = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(1e-9, Math.abs(y)), `${what}: ${x} vs ${y}`);

test('a path\'s JAS recomputed on its own image equals the analysis\'s', async () => {
  closeRel(await engine.pathJas(a.image.path, a.path.map((p) => p.neuron), { target: a.target.class, steps: 8 }), a.jas, 'A on A');
  closeRel(await engine.pathJas(b.image.path, b.path.map((p) => p.neuron), { target: b.target.class, steps: 8 }), b.jas, 'B on B');
  await assert.rejects(engine.pathJas(a.image.path, [1, 2], { target: 0 }), /one neuron \(0\.\.255\) for each of its 6 blocks/);
  await assert.rejects(engine.pathJas(a.image.path, a.path.map((p) => p.neuron), { target: 10 }), /target class 10 is out of range \(0\.\.9\)/);
});

test('the comparison: ranks from the recorded scores, shared layers, cross JAS', async () => {
  const aOnB = await engine.pathJas(b.image.path, a.path.map((p) => p.neuron), { target: b.target.class, steps: 8 });
  const bOnA = await engine.pathJas(a.image.path, b.path.map((p) => p.neuron), { target: a.target.class, steps: 8 });
  const c = comparePaths(a, b, { aOnB, bOnA });
  assert.equal(c.layers.length, 6);
  for (const l of c.layers) {
    const sorted = b.layerScores[l.layer].map((s, j) => [s, j]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map((x) => x[1]);
    assert.equal(l.aRankInB, sorted.indexOf(l.a) + 1);
    assert.equal(l.same, l.a === l.b);
    if (l.same) assert.equal(l.aRankInB, 1);
  }
  assert.equal(c.shared, c.layers.filter((l) => l.same).length);
  assert.equal(c.a.jasOnOther, aOnB);
  assert.ok(Number.isFinite(aOnB) && Number.isFinite(bOnA));
  // an image against itself: every layer shared, rank 1, cross JAS = own JAS
  const self = comparePaths(a, a, { aOnB: a.jas, bOnA: a.jas });
  assert.equal(self.shared, 6);
  assert.ok(self.layers.every((l) => l.aRankInB === 1 && l.bRankInA === 1));
  assert.equal(rankOf([0.5, 0.9, 0.5, 0.1], 2), 3, 'ties go by index');
  assert.throws(() => comparePaths(a, { ...b, settings: { ...b.settings, steps: 20 } }, { aOnB, bOnA }), /scored differently \(8 steps, reference vs 20 steps, reference\)/);
  assert.throws(() => comparePaths(a, { ...b, settings: { ...b.settings, rule: 'gauss' } }, { aOnB, bOnA }), /scored differently \(8 steps, reference vs 8 steps, gauss rule, reference\)/);
});

test('CLI compare: two images or a record and an image, --json', () => {
  const dir = tempDir('compare-cli');
  const env = { ...process.env, NEURON_PATH_CACHE: tempDir('compare-cli-cache') };
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), ...args], { encoding: 'utf8', env });
  const record = path.join(dir, 'a.json');
  fs.writeFileSync(record, JSON.stringify(a));
  const json = path.join(dir, 'c.json');
  const r = cli('compare', record, path.join(SAMPLES, 'pullover-1.png'), '--steps', '8', '--baselines', 'none', '--threads', '1', '--json', json);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Shared neurons: \d of 6 layers/);
  assert.match(r.stdout, /JAS \(each path explaining each image's target\)/);
  const c = JSON.parse(fs.readFileSync(json, 'utf8')) as PathComparison;
  assert.deepEqual(c.layers.map((l) => [l.a, l.b]), a.path.map((p, l) => [p.neuron, b.path[l].neuron]));
  closeRel(c.b.jas, b.jas, 'B analysed by the CLI');
  assert.match(cli('compare', record).stderr, /compare takes two images \(or records\), got 1/);
});
