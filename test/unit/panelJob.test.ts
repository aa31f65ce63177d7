// The panels' job plumbing (src/extension/panelJob.ts): one job at a time, progress only from the
// current job, how it ended said once (result, stop, error worded by the service), nothing after a close.
import test from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError } from '../../src/engine/errors';
import type { BatchRunResult } from '../../src/operations/progress';
import { FolderRun, PanelJob, type JobEnd } from '../../src/extension/panelJob';

/** A job the test finishes by hand; it rejects as cancelled when its signal aborts. */
function manual<R>() {
  let finish!: (r: R) => void, fail!: (e: unknown) => void, report!: (p: number) => void;
  const work = (onProgress: (p: number) => void, signal: AbortSignal) => new Promise<R>((resolve, reject) => {
    finish = resolve; fail = reject; report = onProgress;
    signal.addEventListener('abort', () => reject(new CancelledError('stopped')));
  });
  return { work, finish: (r: R) => finish(r), fail: (e: unknown) => fail(e), report: (p: number) => report(p) };
}

function job() {
  const reported: string[] = [], progress: number[] = [], ends: JobEnd<string>[] = [];
  const j = new PanelJob<number>((err, subject) => { reported.push(subject); return `${subject}: ${(err as Error).message}`; });
  const hooks = { subject: 'Doing x', progress: (p: number) => progress.push(p), ended: (e: JobEnd<string>) => { ends.push(e); } };
  return { j, hooks, reported, progress, ends };
}

test('a job runs one at a time, passes its progress on and says its result once', async () => {
  const { j, hooks, progress, ends } = job();
  const m = manual<string>();
  const first = j.run(m.work, hooks);
  assert.equal(j.isRunning, true);
  assert.equal(await j.run(manual<string>().work, hooks), undefined, 'a second job is not started');
  m.report(3);
  assert.equal(j.running?.progress, 3, 'the last progress, for a page that opens now');
  m.finish('done');
  assert.equal(await first, 'done');
  assert.deepEqual(progress, [3]);
  assert.deepEqual(ends, [{ result: 'done', cancelled: false }]);
  assert.equal(j.isRunning, false);
});

test('a stopped job ends as cancelled, a failed one with the service\'s words, a closed one says nothing', async () => {
  const { j, hooks, reported, progress, ends } = job();
  const stopped = manual<string>();
  const a = j.run(stopped.work, hooks);
  j.cancel();
  assert.equal(await a, undefined);
  const failing = manual<string>();
  const b = j.run(failing.work, hooks);
  failing.fail(new Error('disk full'));
  await b;
  assert.deepEqual(ends, [{ cancelled: true, message: undefined }, { cancelled: false, message: 'Doing x: disk full' }]);
  assert.deepEqual(reported, ['Doing x'], 'a stop is not reported as an error');
  const closed = manual<string>();
  const c = j.run(closed.work, hooks);
  j.dispose();
  closed.report(7);
  assert.equal(await c, undefined);
  assert.equal(ends.length, 2, 'nothing is said of a job whose panel closed');
  assert.deepEqual(progress, []);
});

test('a folder run sends batchProgress, re-reads the panel\'s file, then batchDone; a new run clears the last error', async () => {
  const posted: unknown[] = [];
  let reads = 0;
  const run = new FolderRun((err) => (err as Error).message, { post: (m) => posted.push(m), refresh: () => { reads++; posted.push('read'); return Promise.resolve(); } });
  const failing = run.start(() => Promise.reject(new Error('worker died')), 'Scanning f');
  assert.equal(await failing, undefined);
  assert.equal(run.error, 'worker died');
  const result: BatchRunResult = { out: 'f.jsonl', total: 2, resumed: 0, analysed: 2, failed: 0, cancelled: false, seconds: 1 };
  const progress = { done: 1, total: 2, resumed: 0, analysed: 1, failed: 0, rate: 1 };
  const seen: unknown[] = [];
  const ok = run.start((onProgress) => { assert.equal(run.error, undefined); onProgress(progress); return Promise.resolve(result); }, 'Scanning f', (p) => seen.push(p));
  assert.equal(await ok, result);
  assert.deepEqual(seen, [progress]);
  assert.equal(reads, 2);
  assert.deepEqual(posted, [
    'read', { type: 'batchDone', cancelled: false, message: 'worker died' },
    { type: 'batchProgress', progress }, 'read', { type: 'batchDone', result, cancelled: false },
  ]);
});
