// The worker's `batch` request against the real dist/worker.js (`npm run build` first) with the tiny
// fixture ViT: a folder of two copies of sample images is analysed into a .jsonl with progress
// (count, total, rate, the latest line), cancelled midway, then resumed: each image is in the file
// exactly once, the result file summarises like `neuron-path report` does, and the `prune` request
// runs the pruning protocol on it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadReport } from '../../src/engine/batch/report';
import { batchProgressText } from '../../src/format';
import type { BatchProgressInfo } from '../../src/operations/progress';
import { forkTransport, WorkerClient } from '../../src/worker/client';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REAL_WORKER = path.join(ROOT, 'dist', 'worker.js');
const MODEL = path.join(ROOT, 'test', 'fixtures', 'cls_op17_dynamic', 'model.onnx');
const SAMPLES = path.join(ROOT, 'media', 'samples');
const have = existsSync(REAL_WORKER) && existsSync(MODEL) && existsSync(path.join(SAMPLES, 'bag-1.png'));

test('real worker: batch a folder, cancel midway, resume; each image once', { skip: have ? false : 'needs dist/worker.js (npm run build), the fixture model and media/samples', timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-batch-'));
  const folder = path.join(dir, 'images');
  // Two copies of four samples, in two class folders (the fixture's labels do not match: trueClass null).
  for (const [cls, names] of [['bag', ['bag-1.png', 'bag-2.png']], ['sandal', ['sandal-1.png', 'sandal-2.png']]] as const) {
    mkdirSync(path.join(folder, cls), { recursive: true });
    for (const n of names) {
      copyFileSync(path.join(SAMPLES, n), path.join(folder, cls, n));
      copyFileSync(path.join(SAMPLES, n), path.join(folder, cls, `copy-${n}`));
    }
  }
  const out = path.join(dir, 'images.neuron-path.jsonl');
  // 100 steps an image: the 6 images left when the first run is cancelled take far longer than the cancel's way to the worker
  const options = { steps: 100, baselines: ['activation' as const, 'random' as const], randomCount: 2 };
  const c = new WorkerClient({ spawn: () => forkTransport(REAL_WORKER), cancelGraceMs: 10_000 });
  try {
    await c.ensureModel({ modelPath: MODEL, cacheDir: path.join(dir, 'models'), threads: 1 });

    // first run: cancel after the second image
    const controller = new AbortController();
    const first: BatchProgressInfo[] = [];
    const pid = c.pid;
    const r1 = await c.request('batch', { folder, out, options }, {
      signal: controller.signal,
      onProgress: (p) => { first.push(p); if (p.done >= 2) controller.abort(); },
    });
    assert.equal(r1.cancelled, true);
    assert.equal(r1.total, 8);
    assert.ok(r1.analysed >= 2 && r1.analysed < 8, `analysed ${r1.analysed}`);
    assert.equal(c.pid, pid, 'the worker stopped by itself');
    assert.deepEqual(first[0], { ...first[0], done: 0, total: 8 });
    const withLine = first.find((p) => p.latest);
    assert.ok(withLine?.latest?.image.startsWith(folder), JSON.stringify(withLine));
    assert.equal(typeof withLine?.latest?.jas, 'number');
    assert.ok(first[first.length - 1].rate > 0);
    assert.match(batchProgressText(first[first.length - 1]), /^\d\/8 images, [\d.]+ img\/s/);

    // resume: only the rest is analysed
    const second: BatchProgressInfo[] = [];
    const r2 = await c.request('batch', { folder, out, options }, { onProgress: (p) => second.push(p) });
    assert.equal(r2.cancelled, false);
    assert.equal(r2.resumed, r1.analysed);
    assert.equal(r2.resumed + r2.analysed, 8);
    assert.equal(second[second.length - 1].done, 8);

    const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { image: { path: string } });
    const images = lines.map((l) => l.image.path).sort();
    assert.equal(images.length, 8);
    assert.equal(new Set(images).size, 8, 'each image once');

    // the result file summarises as the folder panel loads it
    const { report } = loadReport(out);
    assert.equal(report.images, 8);
    assert.deepEqual(report.comparison.map((m) => m.method), ['path', 'activation', 'random']);
    assert.equal(report.patterns.images.length, 8);
    assert.deepEqual(report.patterns.classes.map((k) => k.label), ['bag', 'sandal']);

    // the pruning protocol on that file, in the worker: 1 of the 4 images of each class held out
    const pruneProgress: BatchProgressInfo[] = [];
    const curve = await c.request('prune', { resultFile: out, fractions: [0, 1], keep: 2, holdout: 0.25 }, { onProgress: (p) => pruneProgress.push(p) });
    assert.equal(curve.images, 2);
    assert.deepEqual(curve.classes.map((k) => [k.label, k.chosenOn, k.measuredOn]), [['bag', 3, 1], ['sandal', 3, 1]]);
    assert.equal(curve.points[0].accuracy.protected, curve.clean.accuracy, 'nothing zeroed is the clean model');
    assert.equal(pruneProgress.at(-1)?.done, 8);
    await assert.rejects(c.request('prune', { resultFile: path.join(dir, 'none.jsonl'), fractions: [0.5], keep: 1, holdout: 0.2 }), /Result file .*none\.jsonl does not exist/);

    // a folder without images is an error the user can act on
    mkdirSync(path.join(dir, 'empty'));
    await assert.rejects(c.request('batch', { folder: path.join(dir, 'empty'), out: path.join(dir, 'empty.jsonl'), options }), /no images/i);
  } finally {
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
