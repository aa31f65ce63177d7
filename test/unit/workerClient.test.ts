// The worker client against real child processes (child_process.fork over the Node IPC channel):
// a fake-engine worker for crash, cancel and model switch, then the real dist/worker.js with a
// fixture model when it has been built.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../../src/engine/errors';
import { WorkerExitedError, WorkerRequestError, type WorkerErrorCode } from '../../src/protocol/workerErrors';
import { forkTransport, WorkerClient } from '../../src/worker/client';
import type { FakeBehavior } from './fixtures/fakeEngine';

const FAKE_WORKER = path.join(__dirname, 'fixtures', 'fake-worker.js');
const MODEL = { modelPath: '/models/a.onnx' };

/** A client whose n-th process gets behaviors[n] (the last one repeats). */
function forkClient(behaviors: FakeBehavior[], opts: { cancelGraceMs?: number } = {}) {
  let n = 0;
  const pids: Array<number | undefined> = [];
  const logs: string[] = [];
  const c = new WorkerClient({
    spawn: () => {
      const behavior = behaviors[Math.min(n++, behaviors.length - 1)];
      const t = forkTransport(FAKE_WORKER, { env: { ...process.env, FAKE_WORKER: JSON.stringify(behavior) } });
      pids.push(t.pid);
      return t;
    },
    cancelGraceMs: opts.cancelGraceMs ?? 500,
    log: (l) => logs.push(l),
  });
  return { c, pids, logs };
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('fork: load, analyze with progress, shut down', async () => {
  const { c, pids } = forkClient([{ layers: 4 }]);
  const info = await c.ensureModel(MODEL);
  assert.equal(info.layers, 4);
  const layers: number[] = [];
  const r = await c.request('analyze', { imagePath: '/img/a.png', options: { target: 1 } }, { onProgress: (p) => layers.push(p.layer ?? -1) });
  assert.deepEqual(layers, [0, 1, 2, 3]);
  assert.equal(r.target.class, 1);
  assert.equal(r.path.length, 4);
  await c.dispose();
  await waitFor(() => !alive(pids[0]));
});

test('fork: a crash rejects the pending request with a clear message, reports it, and the next use restarts the worker', async () => {
  const { c, pids } = forkClient([{ crashAtLayer: 1, stepMs: 5 }, {}]);
  const crashes: string[] = [];
  c.onDidCrash((info) => crashes.push(info.message));
  await c.ensureModel(MODEL);
  await assert.rejects(c.request('analyze', { imagePath: '/img/a.png', options: {} }), (err: unknown) => {
    assert.ok(err instanceof WorkerExitedError);
    assert.equal(err.crashed, true);
    assert.equal(err.exitCode, 7);
    assert.match(err.message, /^The Neuron Path worker stopped unexpectedly: it exited with code 7\. It will be restarted on the next run\. If it repeats, the "Neuron Path" output has the worker's last messages\.$/, 'an exit that is no sign of memory says nothing of memory');
    return true;
  });
  assert.equal(crashes.length, 1);
  assert.equal(c.isRunning, false);
  // next use: a new process, the model loaded again
  await c.ensureModel(MODEL);
  const r = await c.request('analyze', { imagePath: '/img/b.png', options: {} });
  assert.equal(r.image.path, '/img/b.png');
  assert.equal(c.startCount, 2);
  assert.notEqual(pids[0], pids[1]);
  await c.dispose();
});

test('fork: cancel stops a cooperative analysis and keeps the process', async () => {
  // 1000 layers of 20 ms: an analysis the cancel did not stop would answer (20 s later) instead of rejecting,
  // however late this process gets to send the cancel.
  const { c, pids } = forkClient([{ layers: 1000, stepMs: 20 }]);
  await c.ensureModel(MODEL);
  const controller = new AbortController();
  const run = c.request('analyze', { imagePath: '/img/a.png', options: {} }, { signal: controller.signal, onProgress: (p) => { if (p.layer === 1) controller.abort(); } });
  await assert.rejects(run, CancelledError);
  assert.equal(c.startCount, 1);
  assert.ok(alive(pids[0]));
  await c.dispose();
});

test('fork: a worker that ignores cancel is killed after the grace time and restarted on next use', async () => {
  // 1000 layers of 50 ms: the kill after the grace time comes long before an answer could.
  const { c, pids, logs } = forkClient([{ layers: 1000, stepMs: 50, ignoreAbort: true }, {}], { cancelGraceMs: 300 });
  await c.ensureModel(MODEL);
  const controller = new AbortController();
  const run = c.request('analyze', { imagePath: '/img/a.png', options: {} }, { signal: controller.signal, onProgress: (p) => { if (p.layer === 0) controller.abort(); } });
  await assert.rejects(run, CancelledError);
  assert.ok(logs.some((l) => /did not stop within 300 ms/.test(l)), logs.join('\n'));
  await waitFor(() => !alive(pids[0]));
  await c.ensureModel(MODEL);
  assert.equal((await c.request('analyze', { imagePath: '/img/b.png', options: {} })).image.path, '/img/b.png');
  assert.equal(c.startCount, 2);
  await c.dispose();
});

test('fork: switching the model loads the new one in the same process', async () => {
  const { c } = forkClient([{}]);
  const a = await c.ensureModel(MODEL);
  const again = await c.ensureModel({ ...MODEL });
  assert.equal(again.activation, a.activation, 'same options: no second load');
  const b = await c.ensureModel({ modelPath: '/models/b.onnx', threads: 2 });
  assert.equal(b.path, '/models/b.onnx');
  assert.notEqual(b.activation, a.activation, 'a new open');
  assert.equal((await c.request('analyze', { imagePath: '/x.png', options: {} })).model.path, '/models/b.onnx');
  assert.equal(c.startCount, 1);
  await c.dispose();
});

test('fork: a worker script that cannot start rejects the request instead of hanging', async () => {
  const c = new WorkerClient({ spawn: () => forkTransport(path.join(os.tmpdir(), 'no-such-neuron-path-worker.js')) });
  await assert.rejects(c.ensureModel(MODEL), WorkerExitedError);
  await c.dispose();
});

// ---------------------------------------------------------------------------------------------
// The real worker (dist/worker.js from `npm run build`) with a tiny fixture ViT
// ---------------------------------------------------------------------------------------------

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REAL_WORKER = path.join(ROOT, 'dist', 'worker.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const FIXTURE_A = path.join(FIXTURES, 'cls_op13', 'model.onnx');
const FIXTURE_B = path.join(FIXTURES, 'relu_op11', 'model.onnx');
const haveReal = existsSync(REAL_WORKER) && existsSync(FIXTURE_A) && existsSync(FIXTURE_B);

async function writeImage(dir: string, name: string, size = 40): Promise<string> {
  // sharp is a dependency of the engine; a small gradient is enough for a fixture model.
  const sharp = (await import('sharp')).default;
  const px = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const i = (y * size + x) * 3;
    px[i] = (x * 255) / size; px[i + 1] = (y * 255) / size; px[i + 2] = ((x + y) * 127) / size;
  }
  const file = path.join(dir, name);
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
  return file;
}

test('real worker: analyze, cancel, model switch, errors', { skip: haveReal ? false : 'needs dist/worker.js (npm run build) and test/fixtures models' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-worker-'));
  const c = new WorkerClient({ spawn: () => forkTransport(REAL_WORKER), cancelGraceMs: 5000 });
  try {
    const image = await writeImage(dir, 'grad.png');
    const cacheDir = path.join(dir, 'models');
    const info = await c.ensureModel({ modelPath: FIXTURE_A, cacheDir, threads: 1 });
    assert.equal(info.layers, 4);
    assert.equal(info.neuronsPerLayer, 64);

    const progress: number[] = [];
    const r = await c.request('analyze', { imagePath: image, options: { steps: 4, baselines: ['activation'] } }, { onProgress: (p) => { if (p.phase === 'layer') progress.push(p.partialPath?.length ?? 0); } });
    assert.equal(r.schema, 'neuron-path/1');
    assert.equal(r.path.length, 4);
    assert.equal(r.layerScores.length, 4);
    assert.equal(r.layerScores[0].length, 64);
    assert.ok(progress.length >= 1 && progress[progress.length - 1] <= 4, `${progress.join(',')}`);

    // cancel after the first layer: an AbortError, the same process answers afterwards (200 steps: the
    // rest of the analysis takes far longer than the cancel's way to the worker, on any machine)
    const controller = new AbortController();
    const pid = c.pid;
    await assert.rejects(
      c.request('analyze', { imagePath: image, options: { steps: 200 } }, { signal: controller.signal, onProgress: (p) => { if (p.phase === 'layer') controller.abort(); } }),
      CancelledError,
    );
    assert.equal(c.pid, pid, 'the worker stopped by itself, it was not killed');

    // model switch
    const infoB = await c.ensureModel({ modelPath: FIXTURE_B, cacheDir, threads: 1 });
    assert.equal(infoB.layers, 3);
    const rb = await c.request('analyze', { imagePath: image, options: { steps: 2, baselines: [] } });
    assert.equal(rb.path.length, 3);
    assert.equal(c.startCount, 1);

    // errors the user can act on
    await assert.rejects(c.request('analyze', { imagePath: path.join(dir, 'missing.png'), options: { steps: 2 } }), (err: unknown) => {
      assert.ok(err instanceof WorkerRequestError);
      assert.equal(err.code, 'image-not-found' satisfies WorkerErrorCode);
      return true;
    });
    await assert.rejects(c.ensureModel({ modelPath: path.join(dir, 'missing.onnx'), cacheDir }), (err: unknown) => {
      assert.ok(err instanceof WorkerRequestError);
      assert.equal(err.code, 'model-not-found');
      assert.match(err.message, /Select Model/);
      return true;
    });

    // The PNG preview of an image the page cannot decode is upright, as the analysis reads it (EXIF orientation 6: stored 40 x 60).
    const turned = await c.request('preview', { imagePath: path.join(FIXTURES, 'images', 'chelsea-exif6.jpg'), maxSize: 1024 });
    assert.deepEqual([turned.width, turned.height], [60, 40]);
  } finally {
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
