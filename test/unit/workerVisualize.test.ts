// The worker's `visualize` request against the real dist/worker.js (`npm run build` first) with the
// bundled model: a progress message per optimisation step, the PNG and its record, and a cancel
// between steps that keeps the worker.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StepProgress } from '../../src/operations/operation';
import { forkTransport, WorkerClient } from '../../src/worker/client';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REAL_WORKER = path.join(ROOT, 'dist', 'worker.js');
const MODEL = path.join(ROOT, 'media', 'model', 'model.onnx');

test('real worker: visualize with step progress; cancel between steps keeps the worker', { skip: existsSync(REAL_WORKER) ? false : 'needs dist/worker.js (npm run build)', timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-visualize-'));
  const c = new WorkerClient({ spawn: () => forkTransport(REAL_WORKER), cancelGraceMs: 10_000 });
  try {
    await c.ensureModel({ modelPath: MODEL, cacheDir: path.join(dir, 'models'), threads: 1 });
    const steps: StepProgress[] = [];
    const out = path.join(dir, 'n.png');
    const record = await c.request('visualize', { layer: 5, neuron: 17, steps: 12, seed: 2, out }, { onProgress: (p) => steps.push(p) });
    assert.deepEqual(steps.map((p) => p.step), Array.from({ length: 12 }, (_, k) => k + 1));
    assert.deepEqual(steps.map((p) => p.value), record.objectivePerStep);
    assert.equal(record.image.path, out);
    assert.ok(existsSync(out));

    const controller = new AbortController();
    await assert.rejects(c.request('visualize', { layer: 5, neuron: 17, steps: 2000, out: path.join(dir, 'x.png') },
      { signal: controller.signal, onProgress: (p) => { if (p.step === 3) controller.abort(); } }), (e: Error) => e.name === 'AbortError');
    assert.ok(!existsSync(path.join(dir, 'x.png')), 'a cancelled visualization writes no image');
    const again = await c.request('visualize', { class: 1, steps: 3, out: path.join(dir, 'c.png') });
    assert.equal(again.objective.kind, 'class');
  } finally {
    await c.dispose();
  }
});
