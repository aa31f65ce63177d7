// The host<->worker protocol without processes: message guards, a JSON round trip through the real
// WorkerServer (with a fake engine), id matching, timeouts and rejection when the worker exits.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError } from '../../src/engine/errors';
import { progressPercent } from '../../src/format';
import { runningProgress } from '../../src/operations/progress';
import { isCompareWebviewToHost } from '../../src/protocol/comparePanel';
import { isFolderPersistedState, isFolderWebviewToHost } from '../../src/protocol/folderPanel';
import { OPERATIONS } from '../../src/operations/index';
import { stableKey } from '../../src/protocol/guards';
import { isImagePersistedState, isImageWebviewToHost } from '../../src/protocol/imagePanel';
import { isNeuronPersistedState, isNeuronWebviewToHost } from '../../src/protocol/neuronPanel';
import { isHostToWorker, isWorkerToHost, type HostToWorker, type WorkerToHost } from '../../src/protocol/worker';
import { RequestTimeoutError, WorkerExitedError, WorkerRequestError } from '../../src/protocol/workerErrors';
import { WorkerClient, type WorkerTransport } from '../../src/worker/client';
import { describeError, WorkerServer } from '../../src/worker/server';
import { TargetError } from '../../src/engine/analyze';
import { EngineError } from '../../src/engine/errors';
import { ConfigError } from '../../src/engine/modelFolder';
import { ProviderError } from '../../src/engine/runtime';
import { ImageError } from '../../src/engine/preprocess';
import { MethodUndefinedError, NotAViTError } from '../../src/engine/structure';
import { fakeDeps, fakeResult, type FakeBehavior } from './fixtures/fakeEngine';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeModel } from '../../src/engine/onnx/proto';
import { FIXTURES } from '../helpers/fixtures';

/** A transport whose "process" is a WorkerServer in this process; messages go through JSON, asynchronously. */
class MemoryTransport implements WorkerTransport {
  static nextPid = 1000;
  readonly pid = MemoryTransport.nextPid++;
  readonly sent: HostToWorker[] = [];
  private hostListeners: Array<(m: unknown) => void> = [];
  private exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
  private workerListener: ((m: unknown) => void) | undefined;
  alive = true;
  killed = false;
  readonly server: WorkerServer;

  constructor(behavior: FakeBehavior = {}, private readonly intercept?: (m: HostToWorker) => boolean) {
    this.server = new WorkerServer({
      send: (m: WorkerToHost) => this.toHost(m),
      onMessage: (l) => { this.workerListener = l; },
      exit: (code) => this.exit(code, null),
    }, fakeDeps(behavior));
    this.server.start(this.pid);
  }

  /** Delivers a raw message to the host as if the worker had sent it. */
  toHost(m: unknown): void {
    if (!this.alive) return;
    const copy: unknown = JSON.parse(JSON.stringify(m));
    setImmediate(() => { if (this.alive) for (const l of this.hostListeners) l(copy); });
  }

  send(message: HostToWorker): void {
    if (!this.alive) throw new Error('not connected');
    this.sent.push(message);
    if (this.intercept?.(message)) return;
    const copy: unknown = JSON.parse(JSON.stringify(message));
    setImmediate(() => { if (this.alive) this.workerListener?.(copy); });
  }

  onMessage(l: (m: unknown) => void): void { this.hostListeners.push(l); }
  onExit(l: (code: number | null, signal: string | null) => void): void { this.exitListeners.push(l); }

  exit(code: number | null, signal: string | null): void {
    if (!this.alive) return;
    this.alive = false;
    setImmediate(() => { for (const l of this.exitListeners) l(code, signal); });
  }

  kill(): void { this.killed = true; this.exit(null, 'SIGKILL'); }
}

function client(behavior: FakeBehavior = {}, opts: Partial<ConstructorParameters<typeof WorkerClient>[0]> = {}) {
  const transports: MemoryTransport[] = [];
  const c = new WorkerClient({
    spawn: () => { const t = new MemoryTransport(behavior); transports.push(t); return t; },
    cancelGraceMs: 200,
    ...opts,
  });
  return { c, transports };
}

const MODEL = { modelPath: '/models/a.onnx', scope: 'auto' as const };

test('guards accept the messages of the protocol and reject malformed ones', () => {
  assert.ok(isHostToWorker({ type: 'request', id: 1, method: 'loadModel', params: { modelPath: 'x' } }));
  assert.ok(isHostToWorker({ type: 'cancel', id: 3 }));
  assert.ok(isHostToWorker({ type: 'shutdown' }));
  assert.ok(!isHostToWorker({ type: 'request', id: 0, method: 'loadModel', params: {} }), 'ids start at 1');
  assert.ok(!isHostToWorker({ type: 'request', id: 1, method: 'rm -rf', params: {} }));
  assert.ok(!isHostToWorker({ type: 'request', id: 1.5, method: 'analyze', params: {} }));
  assert.ok(!isHostToWorker(null));
  assert.ok(!isHostToWorker([]));

  assert.ok(isWorkerToHost({ type: 'ready', pid: 1, protocol: 1 }));
  assert.ok(isWorkerToHost({ type: 'progress', id: 1, progress: { phase: 'layer', message: 'x' } }));
  assert.ok(isWorkerToHost({ type: 'result', id: 1, result: null }));
  assert.ok(isWorkerToHost({ type: 'error', id: 1, error: { code: 'cancelled', message: 'm' } }));
  assert.ok(!isWorkerToHost({ type: 'error', id: 1, error: { code: 'nope', message: 'm' } }));
  assert.ok(!isWorkerToHost({ type: 'result', id: 1 }), 'a result message carries a result key');
  assert.ok(!isWorkerToHost({ type: 'progress', id: 1, progress: 'x' }));
  assert.ok(isWorkerToHost({ type: 'stepProgress', id: 1, progress: { step: 3, steps: 256, value: 0.5 } }));
  assert.ok(!isWorkerToHost({ type: 'stepProgress', id: 1, progress: { step: 3, steps: 256 } }), 'a step carries the value ascended');

  assert.ok(isImageWebviewToHost({ type: 'ready' }));
  assert.ok(isImageWebviewToHost({ type: 'analyze', target: 3 }));
  assert.ok(isImageWebviewToHost({ type: 'analyze', target: 'predicted' }));
  assert.ok(!isImageWebviewToHost({ type: 'analyze', target: -1 }));
  assert.ok(!isImageWebviewToHost({ type: 'analyze', target: '3' }));
  assert.ok(isImageWebviewToHost({ type: 'export', request: { format: 'png', name: 'x', dataUrl: 'data:image/png;base64,AAAA' } }));
  assert.ok(!isImageWebviewToHost({ type: 'export', request: { format: 'png', name: 'x', dataUrl: 'https://evil/x.png' } }));
  assert.ok(!isImageWebviewToHost({ type: 'export', request: { format: 'exe' } }));
  assert.ok(isImagePersistedState({ imagePath: '/a.png' }));
  assert.ok(!isImagePersistedState({ imagePath: '' }));

  // the neuron view and the comparison (issue 13)
  assert.ok(isHostToWorker({ type: 'request', id: 2, method: 'neuronScan', params: { folder: '/d', out: '/d.jsonl', units: [{ layer: 1, neuron: 2 }] } }));
  assert.ok(isHostToWorker({ type: 'request', id: 2, method: 'comparePaths', params: { a: {}, b: {} } }));
  for (const guard of [isImageWebviewToHost, isFolderWebviewToHost]) {
    assert.ok(guard({ type: 'neuronView', layer: 3, neuron: 29 }));
    assert.ok(!guard({ type: 'neuronView', layer: -1, neuron: 29 }));
    assert.ok(!guard({ type: 'neuronView', layer: 3, neuron: '29' }));
  }
  assert.ok(isImageWebviewToHost({ type: 'compare' }));
  assert.ok(isNeuronWebviewToHost({ type: 'openImage', image: '/d/a.png' }));
  assert.ok(!isNeuronWebviewToHost({ type: 'openImage', image: '' }));
  assert.ok(isNeuronWebviewToHost({ type: 'resume' }));
  assert.ok(!isNeuronWebviewToHost({ type: 'analyze', target: 1 }));
  assert.ok(isNeuronPersistedState({ folder: '/d', layer: 0, neuron: 5 }));
  assert.ok(!isNeuronPersistedState({ folder: '/d', layer: 0 }));
  assert.ok(isCompareWebviewToHost({ type: 'openImage', side: 'b' }));
  assert.ok(!isCompareWebviewToHost({ type: 'openImage', side: 'c' }));
  assert.deepEqual(runningProgress(undefined), undefined);
  assert.equal(runningProgress({})?.done, 0);

  // the image's hash the host hands on: a sha256 with the stamp of the file it was made of
  const hash = { sha256: 'a'.repeat(64), size: 542, mtimeMs: 1733490000123.25, ctimeMs: -5 };
  const analyze = (imageHash: unknown) => OPERATIONS.analyze.isParams({ imagePath: '/img/a.png', options: {}, imageHash });
  assert.ok(analyze(undefined) && analyze(hash));
  for (const bad of [{ ...hash, sha256: 'A'.repeat(64) }, { ...hash, sha256: 'a'.repeat(63) }, { ...hash, size: -1 }, { ...hash, size: 1.5 },
    { ...hash, mtimeMs: Infinity }, { sha256: hash.sha256, size: 542, mtimeMs: 0 }, 'a'.repeat(64), null]) assert.ok(!analyze(bad), JSON.stringify(bad));
});

test('stableKey ignores key order and undefined members', () => {
  assert.equal(stableKey({ b: 1, a: { y: [1, 2], x: undefined, w: 0 } }), stableKey({ a: { w: 0, y: [1, 2] }, b: 1 }));
  assert.notEqual(stableKey({ a: [1, 2] }), stableKey({ a: [2, 1] }));
});

test('progressPercent grows through the phases', () => {
  const seq = [
    progressPercent({ phase: 'load', message: '' }),
    progressPercent({ phase: 'clean', message: '' }),
    progressPercent({ phase: 'layer', layer: 0, layers: 4, message: '' }),
    progressPercent({ phase: 'layer', layer: 3, layers: 4, message: '' }),
    progressPercent({ phase: 'jas', message: '' }),
    progressPercent({ phase: 'baselines', message: '' }),
    progressPercent({ phase: 'manipulation', message: '' }),
  ];
  for (let i = 1; i < seq.length; i++) assert.ok(seq[i] > seq[i - 1], `${seq.join(',')}`);
  assert.ok(seq[seq.length - 1] <= 100);
});

test('round trip: load a model, analyze with progress, the result survives JSON', async () => {
  const { c, transports } = client();
  const info = await c.ensureModel(MODEL);
  assert.equal(info.path, '/models/a.onnx');
  assert.equal(info.layers, 3);
  const progress: number[] = [];
  const result = await c.request('analyze', { imagePath: '/img/cat.png', options: { target: 'predicted', steps: 20 } }, { onProgress: (p) => progress.push(p.partialPath?.length ?? -1) });
  assert.deepEqual(progress, [1, 2, 3]);
  assert.deepEqual(result, fakeResult('/img/cat.png', { layers: 3, neurons: 8, target: 'predicted', modelPath: '/models/a.onnx' }));
  assert.equal(transports.length, 1);
  assert.equal(c.pendingCount, 0);
  await c.dispose();
});

test('an empty model path means the bundled model', async () => {
  const { c } = client();
  const info = await c.ensureModel({ modelPath: '' });
  assert.equal(info.path, '/bundled/model.onnx');
  await c.dispose();
});

test('answers are matched to requests by id, whatever their order', async () => {
  const { c } = client();
  // The fake preview takes maxSize ms: the first request is answered last.
  const slow = c.request('preview', { imagePath: '/a.tif', maxSize: 40 });
  const fast = c.request('preview', { imagePath: '/b.tif', maxSize: 1 });
  const order: string[] = [];
  const [a, b] = await Promise.all([slow.then((r) => { order.push('a'); return r; }), fast.then((r) => { order.push('b'); return r; })]);
  assert.deepEqual(order, ['b', 'a']);
  assert.equal(Buffer.from(a.dataUri.split(',')[1], 'base64').toString(), '/a.tif');
  assert.equal(Buffer.from(b.dataUri.split(',')[1], 'base64').toString(), '/b.tif');
  await c.dispose();
});

test('answers for unknown ids and malformed messages are ignored', async () => {
  const logs: string[] = [];
  const { c, transports } = client({}, { log: (l) => logs.push(l) });
  await c.ensureModel(MODEL);
  const t = transports[0];
  t.toHost({ type: 'result', id: 999, result: 'late' });
  t.toHost({ type: 'banana' });
  t.toHost('nonsense');
  const result = await c.request('analyze', { imagePath: '/img/x.png', options: {} });
  assert.equal(result.image.path, '/img/x.png');
  assert.ok(logs.some((l) => l.includes('malformed')), logs.join('\n'));
  await c.dispose();
});

test('the worker answers a malformed request with bad-request, and engine errors with a message that says what to do', async () => {
  const { c, transports } = client({ missingModel: '/nope.onnx' });
  await assert.rejects(c.ensureModel({ modelPath: '/nope.onnx' }), (err: unknown) => {
    assert.ok(err instanceof WorkerRequestError);
    assert.equal(err.code, 'model-not-found');
    assert.match(err.message, /Select Model/);
    return true;
  });
  assert.ok(!c.hasModel, 'a failed load leaves no model');
  // analyze before any model is loaded
  await assert.rejects(c.request('analyze', { imagePath: '/img/x.png', options: {} }), (err: unknown) => err instanceof WorkerRequestError && err.code === 'no-model');
  // a request the host could not have sent (bypassing the types)
  const got = new Promise<unknown>((resolve) => transports[0].onMessage((m) => { if ((m as { id?: number }).id === 77) resolve(m); }));
  transports[0].server.receive({ type: 'request', id: 77, method: 'analyze' });
  const answer = await got as { type: string; error: { code: string } };
  assert.equal(answer.type, 'error');
  assert.equal(answer.error.code, 'bad-request');
  await c.dispose();
});

test('describeError words engine errors by their code and facts, never by their text', () => {
  const analyze = { type: 'request', id: 1, method: 'analyze', params: { imagePath: '/x.png', options: {} } } as const;
  const load = { type: 'request', id: 1, method: 'loadModel', params: { modelPath: '/m.onnx', labelsPath: '/l.txt', executionProvider: 'cuda' } } as const;
  const cuda = describeError(new ProviderError('the CUDA execution provider is not installed'), load);
  assert.equal(cuda.code, 'cuda-unavailable');
  assert.match(cuda.message, /neuronPath\.executionProvider/);
  // The same text with another code is another error: the text is not looked at.
  assert.equal(describeError(new Error('CUDA failure 100: image /x.png does not exist'), load).code, 'model-load-failed');
  assert.equal(describeError(new EngineError('not-found', 'image /x.png does not exist', { file: '/x.png', role: 'image' }), analyze).code, 'image-not-found');
  assert.equal(describeError(new EngineError('not-a-file', 'image /x.png is a named pipe (FIFO)', { file: '/x.png', role: 'image' }), analyze).code, 'image-unreadable');
  assert.equal(describeError(new ImageError('cannot read /x.png as an image (bad)'), analyze).code, 'image-unreadable');
  const target = describeError(new TargetError('target class 12 is out of range (5 classes)'), analyze);
  assert.equal(target.code, 'analysis-failed');
  assert.match(target.message, /^Target class 12 is out of range \(5 classes\)\. .*neuronPath\.target/);
  const labels = describeError(new ConfigError('labels file /l.txt does not exist', { file: '/l.txt', role: 'labels' }, 'labels'), load);
  assert.equal(labels.code, 'model-load-failed', 'a missing labels file is not a missing model');
  assert.match(labels.message, /neuronPath\.labelsPath/);
  const std = describeError(new ConfigError('preprocessing std[0] must be a number from 0.000001 to 1000, got 0', { source: 'overrides', field: 'std[0]' }), load);
  assert.match(std.message, /"neuronPath\.preprocess\.std"/);
  const notVit = describeError(new NotAViTError('no transformer blocks found'), load);
  assert.equal(notVit.code, 'model-load-failed');
  assert.match(notVit.message, /Select Model/);
  // A model the method defines no path for is not called "not a vision transformer".
  const swin = describeError(new MethodUndefinedError('the token rows change between blocks (tokens merged or pooled between stages, as in Swin or PiT)'), load);
  assert.equal(swin.code, 'model-load-failed');
  assert.match(swin.message, /^Neuron Path cannot analyse .*: the token rows change between blocks .*Select Model/);
  assert.doesNotMatch(swin.message, /must be a vision transformer/);
  assert.equal(describeError(new EngineError('not-found', 'model file /m.onnx does not exist', { file: '/m.onnx', role: 'model' }), load).code, 'model-not-found');
  const locked = describeError(new EngineError('result-locked', '/r.jsonl is being written by process 12 on host (neuron-path batch, since 2026-01-01)'), { type: 'request', id: 1, method: 'batch', params: { folder: '/d', out: '/r.jsonl', options: {} } });
  assert.match(locked.message, /process 12.*Wait for that run/);
  const abort = Object.assign(new Error('x'), { name: 'AbortError' });
  assert.equal(describeError(abort, analyze).code, 'cancelled');
  assert.equal(describeError(new CancelledError(), analyze).code, 'cancelled');
});

test('a file that is not an ONNX model: its path once, what is wrong in words (not the decoder\'s), what to do, no ".."', () => {
  const load = (modelPath: string) => ({ type: 'request', id: 1, method: 'loadModel', params: { modelPath } }) as const;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-corrupt-'));
  try {
    const truncated = path.join(dir, 'cut.onnx'), text = path.join(dir, 'text.onnx');
    writeFileSync(truncated, readFileSync(path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx')).subarray(0, 241));
    writeFileSync(text, 'not a model at all, just some text that protobuf reads as fields');
    for (const file of [truncated, text]) {
      const err = (() => { try { decodeModel(readFileSync(file), file); } catch (e) { return e; } })();
      assert.ok(err instanceof EngineError && err.code === 'model-format', `${file} is refused`);
      const { code, message, detail } = describeError(err, load(file));
      assert.equal(code, 'model-load-failed');
      assert.equal(message.split(file).length - 1, 1, `the path once: ${message}`);
      assert.match(message, /is not an ONNX model, or it is damaged or incomplete|holds no graph: it is not an ONNX model/);
      assert.match(message, /Export it again .*Select Model/);
      assert.doesNotMatch(message, /wire type|offset \d|index out of range|(^|[^.])\.\.($|[^.])/, message);
      if (/damaged/.test(message)) assert.match(detail ?? '', /the ONNX reader said: /, 'the decoder\'s words go to the log');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // an engine text that ends in a stop is not followed by another
  const failed = describeError(new Error('the session could not be created.'), load('/m.onnx'));
  assert.equal(failed.message, 'Could not load the model /m.onnx: the session could not be created. See the "Neuron Path" output for details.');
  assert.match(describeError(new Error('x.'), load('')).message, /^Could not load the bundled model: x\. /);
});

test('cancel stops the request with an AbortError and keeps the worker', async () => {
  const { c, transports } = client({ stepMs: 30, layers: 6 });
  await c.ensureModel(MODEL);
  const controller = new AbortController();
  const run = c.request('analyze', { imagePath: '/img/x.png', options: {} }, { signal: controller.signal, onProgress: () => controller.abort() });
  await assert.rejects(run, (err: unknown) => err instanceof CancelledError && err.name === 'AbortError');
  assert.equal(transports.length, 1);
  assert.ok(!transports[0].killed);
  assert.ok(transports[0].sent.some((m) => m.type === 'cancel'));
  // the same worker (and model) still answers
  const ok = await c.request('analyze', { imagePath: '/img/y.png', options: {} });
  assert.equal(ok.image.path, '/img/y.png');
  assert.equal(transports.length, 1);
  await c.dispose();
});

test('a queued request that is cancelled never runs', async () => {
  const { c } = client({ stepMs: 20, layers: 3 });
  await c.ensureModel(MODEL);
  const first = c.request('analyze', { imagePath: '/img/1.png', options: {} });
  const controller = new AbortController();
  const second = c.request('analyze', { imagePath: '/img/2.png', options: {} }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(second, CancelledError);
  assert.equal((await first).image.path, '/img/1.png');
  await c.dispose();
});

test('an already aborted signal rejects without sending anything', async () => {
  const { c, transports } = client();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(c.request('analyze', { imagePath: '/x.png', options: {} }, { signal: controller.signal }), CancelledError);
  assert.equal(transports.length, 0, 'no worker was started');
});

test('a result of the wrong shape is refused in words; a well-formed one passes', async () => {
  const logs: string[] = [];
  // The "worker" answers each analyze with the next of these (a real analysis of the fake engine first, then broken copies).
  const good = fakeResult('/img/x.png', { layers: 3, neurons: 8, modelPath: MODEL.modelPath });
  const answers: unknown[] = [good, { ...good, path: good.path.slice(1) }, { ...good, jas: 'high' }, null];
  const transports: MemoryTransport[] = [];
  const c = new WorkerClient({
    spawn: () => {
      const t: MemoryTransport = new MemoryTransport({}, (m) => {
        if (m.type !== 'request' || m.method !== 'analyze') return false;
        t.toHost({ type: 'result', id: m.id, result: answers.shift() });
        return true;
      });
      transports.push(t);
      return t;
    },
    log: (l) => logs.push(l),
  });
  await c.ensureModel(MODEL);
  const ask = () => c.request('analyze', { imagePath: '/img/x.png', options: {} });
  assert.deepEqual(await ask(), good);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(ask(), (err: unknown) => {
      assert.ok(err instanceof EngineError && err.code === 'worker-failed', String(err));
      assert.match(err.message, /^the worker answered analyze with a result of the wrong shape \(expected an analysis \(model, image, path, .*\); this is a bug: please report it$/);
      return true;
    });
  }
  assert.equal(logs.filter((l) => l.includes('answered with a result of the wrong shape')).length, 3, logs.join('\n'));
  // The worker is not at fault for the next request: it stays, and answers a preview (its own check) as before.
  assert.equal(transports.length, 1);
  const preview = await c.request('preview', { imagePath: '/a.tif', maxSize: 1 });
  assert.equal(Buffer.from(preview.dataUri.split(',')[1], 'base64').toString(), '/a.tif');
  await c.dispose();
});

test('a request without an answer times out, the worker is stopped and the next request starts a new one', async () => {
  const behaviors: FakeBehavior[] = [{ hang: true }, {}];
  const transports: MemoryTransport[] = [];
  const c = new WorkerClient({ spawn: () => { const t = new MemoryTransport(behaviors[transports.length] ?? {}); transports.push(t); return t; } });
  await c.ensureModel(MODEL);
  const started = Date.now();
  await assert.rejects(c.request('analyze', { imagePath: '/x.png', options: {} }, { timeoutMs: 80 }), (err: unknown) => {
    assert.ok(err instanceof RequestTimeoutError);
    assert.match(err.message, /did not answer 'analyze'/);
    return true;
  });
  assert.ok(Date.now() - started >= 70);
  assert.ok(transports[0].killed, 'the stuck worker was killed');
  assert.equal(c.isRunning, false);
  await c.ensureModel(MODEL);
  const r = await c.request('analyze', { imagePath: '/y.png', options: {} });
  assert.equal(r.image.path, '/y.png');
  assert.equal(transports.length, 2);
  await c.dispose();
});

test('progress restarts the timeout clock', async () => {
  const { c } = client({ stepMs: 200, layers: 5 });
  await c.ensureModel(MODEL);
  // 5 steps of 200 ms = 1 s in all (sleeps last at least that), but never 600 ms without a message, unless
  // this process stalls for 400 ms: the timer that ends a step and the timeout would then fire together
  const r = await c.request('analyze', { imagePath: '/x.png', options: {} }, { timeoutMs: 600 });
  assert.equal(r.path.length, 5);
  await c.dispose();
});

test('every pending request is rejected when the worker exits, and the crash is reported once', async () => {
  const { c, transports } = client({ hang: true });
  await c.ensureModel(MODEL);
  const crashes: Array<{ code: number | null; pending: number }> = [];
  c.onDidCrash((info) => crashes.push({ code: info.code, pending: info.pending }));
  const a = c.request('analyze', { imagePath: '/a.png', options: {} });
  const b = c.request('analyze', { imagePath: '/b.png', options: {} });
  await new Promise((r) => setTimeout(r, 10));
  transports[0].exit(134, null);
  for (const p of [a, b]) {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof WorkerExitedError);
      assert.equal(err.crashed, true);
      assert.match(err.message, /stopped unexpectedly: it exited with code 134, most likely out of memory \(onnxruntime and Node abort when an allocation fails\): .*this machine has [\d.]+ GB of [\d.]+ GB free.*restarted on the next run\. To use less memory: fewer threads \(neuronPath\.threads\)/);
      assert.equal(err.words?.startsWith('it exited with code 134, most likely out of memory'), true);
      return true;
    });
  }
  assert.deepEqual(crashes, [{ code: 134, pending: 2 }]);
  assert.equal(c.pendingCount, 0);
  assert.ok(!c.hasModel, 'the model is gone with the process');
  await c.dispose();
});

test('dispose shuts the worker down and rejects what is pending', async () => {
  const { c, transports } = client({ hang: true });
  await c.ensureModel(MODEL);
  const pending = c.request('analyze', { imagePath: '/a.png', options: {} });
  await c.dispose();
  await assert.rejects(pending, (err: unknown) => err instanceof CancelledError || err instanceof WorkerExitedError);
  assert.equal(transports[0].alive, false);
  await assert.rejects(c.request('analyze', { imagePath: '/b.png', options: {} }), /disposed/);
});

test('ensureModel loads once per distinct options and again after a change', async () => {
  const { c, transports } = client();
  const a1 = c.ensureModel(MODEL);
  const a2 = c.ensureModel({ scope: 'auto', modelPath: '/models/a.onnx' });
  assert.equal(a1, a2, 'the same options share one load');
  await a1;
  const loads = () => transports[0].sent.filter((m) => m.type === 'request' && m.method === 'loadModel').length;
  assert.equal(loads(), 1);
  const b = await c.ensureModel({ ...MODEL, modelPath: '/models/b.onnx' });
  assert.equal(b.path, '/models/b.onnx');
  assert.equal(loads(), 2);
  const r = await c.request('analyze', { imagePath: '/x.png', options: {} });
  assert.equal(r.model.path, '/models/b.onnx');
  await c.dispose();
});

test('state a page saved is checked like a message before a panel is revived from it', () => {
  assert.ok(isImagePersistedState({ imagePath: '/data/cat.png', target: 3, selectedLayer: 2, overlayOpacity: 0.5, showOverlay: true }));
  assert.ok(isImagePersistedState({ imagePath: 'C:\\data\\cat.JPG' }));
  const badPanels = [
    { imagePath: 'cat.png' }, { imagePath: '/' }, { imagePath: '/etc/passwd' }, { imagePath: '/data/../../etc/x.png' },
    { imagePath: '/data/a\u001b.png' }, { imagePath: `/${'x'.repeat(5000)}.png` }, { imagePath: '/data/cat.png', target: -1 },
    { imagePath: '/data/cat.png', overlayOpacity: 5 }, { imagePath: '/data/cat.png', selectedLayer: 1e9 }, { imagePath: '/data/cat.png', showOverlay: 'yes' },
  ];
  for (const bad of badPanels) assert.equal(isImagePersistedState(bad), false, JSON.stringify(bad).slice(0, 80));
  assert.ok(isFolderPersistedState({ resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop' }));
  for (const bad of [{ resultFile: '/etc/passwd' }, { resultFile: 'rel.jsonl' }, { resultFile: '/d/r.jsonl', folder: 'rel' }, { resultFile: '/d/r.jsonl', folder: '/d/../..' }, { resultFile: '/d/r.jsonl', selectedClass: 7 }]) {
    assert.equal(isFolderPersistedState(bad), false, JSON.stringify(bad));
  }
});
