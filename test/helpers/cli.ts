// The `neuron-path` command as a user runs it, for the hardening tests: a child process with a time
// limit (a run that has to be killed fails the test: a hang is a failure, not a stuck test), the
// fixture model, and small images made on the spot.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { BatchRecord } from '../../src/engine/batch/index';
import { FIXTURES, REPO, tempDir } from './fixtures';

export const BIN = path.join(REPO, 'bin', 'neuron-path.js');
export const FIXTURE = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
/** One step count and no baselines: the cheapest analysis that still runs every stage. */
export const FAST = ['--threads', '1', '--steps', '2', '--baselines', 'none'];
/** What `stoppedWriter` analyses with: 300 steps an image (a resumed run must give the same). */
export const SLOW = ['--threads', '1', '--steps', '300', '--baselines', 'none'];
const LIMIT_MS = 60_000;
/** The instrumented-model cache the runs share (one build of the fixture per test file). */
export const CACHE = tempDir('cli-cache');

export interface RunOptions { cwd?: string; cacheDir?: string; limitMs?: number; env?: NodeJS.ProcessEnv; input?: string }

/** The CLI in a child process (`prefix`: a command it runs under, e.g. unshare), killed after the limit. */
export function cli(args: string[], o: RunOptions = {}, prefix: string[] = []): SpawnSyncReturns<string> {
  const limit = o.limitMs ?? LIMIT_MS;
  const [cmd, ...pre] = prefix.length ? prefix : [process.execPath];
  const r = spawnSync(cmd, [...pre, ...(prefix.length ? [process.execPath] : []), BIN, ...args], {
    encoding: 'utf8', cwd: o.cwd, timeout: limit, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NEURON_PATH_CACHE: o.cacheDir ?? CACHE, ...o.env },
  });
  assert.equal(r.signal, null, `neuron-path ${args.join(' ')} did not end within ${limit / 1000} s\n${r.stderr}`);
  return r;
}

/**
 * The process that runs the command: the one child of the `neuron-path` process a user starts
 * (bin/neuron-path.js supervises it). Called once the command has written something or taken a lock.
 */
export function commandProcess(pid: number): number {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  assert.equal(kids.length, 1, `neuron-path (${pid}) runs its command in one child process; it has ${kids.length}`);
  return kids[0];
}

export const fifo = (file: string) => { execFileSync('mkfifo', [file]); return file; };

/** A 40x30 PNG of one colour (`shade` varies it, so images differ). */
export async function image(dir: string, name = 'photo.png', shade = 90): Promise<string> {
  const file = path.join(dir, name);
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: shade, g: 160, b: 60 } } }).png().toFile(file);
  return file;
}

/** A result file of `images` images of a folder of their own, made by `batch`. */
export async function resultFile(images = 3, name = 'r.jsonl'): Promise<{ out: string; dir: string }> {
  const dir = tempDir('hard-batch');
  for (let i = 0; i < images; i++) await image(dir, `${i}.png`, (30 + 50 * i) % 256);
  const out = path.join(tempDir('hard-batch-out'), name);
  const r = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...FAST, '-q']);
  assert.equal(r.status, 0, r.stderr);
  return { out, dir };
}

export const records = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as BatchRecord);

/**
 * Returns once process `pid` is stopped (state T in /proc: a SIGSTOP is delivered asynchronously), so
 * that whatever is read next (a file it writes, a lock it holds) cannot change under the reader.
 */
export async function stopped(pid: number): Promise<void> {
  for (;;) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat[stat.lastIndexOf(')') + 2];
    if (state === 'T') return;
    assert.ok(state !== 'Z' && state !== 'X', `process ${pid} ended instead of stopping`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A batch run of `dir` in the background, stopped (SIGSTOP) while it holds the lock of `out`: 300 steps
 * an image keep the lock held for seconds after the lock file appears, and the lock is checked again
 * once the run is stopped (a run that got through its images first fails here, not later). `writer`:
 * the command's process, which holds the lock and is the one stopped (SIGCONT it to go on).
 */
export async function stoppedWriter(dir: string, out: string) {
  const args = [BIN, 'batch', dir, '--model', FIXTURE, '--out', out, ...SLOW, '-q'];
  const first = spawn(process.execPath, args, { env: { ...process.env, NEURON_PATH_CACHE: CACHE }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(`${out}.lock`)) {
    assert.ok(Date.now() < deadline, 'the first run never took the lock');
    await new Promise((r) => setTimeout(r, 20));
  }
  const writer = commandProcess(first.pid!);
  process.kill(writer, 'SIGSTOP');
  await stopped(writer);
  assert.ok(fs.existsSync(`${out}.lock`), 'the first run was stopped after it had released its lock');
  return { first, exited, writer };
}

/** The processes `pid` started (its worker processes), from /proc. */
export const childPids = (pid: number): number[] =>
  fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

/**
 * `neuron-path batch ARGS` (with --jobs 2; ARGS name a folder of `total` images and `out`), with one worker
 * process killed (SIGKILL) while it surely holds an analysis, whatever the machine's speed: at the first
 * progress line (0/N: both workers have the model and their first image) both workers are stopped
 * (SIGSTOP), so the run cannot get ahead; each has then at most one answer on its way, and an answer
 * read back sends that worker the next image, so with at least 4 images not yet done both still hold one
 * when the first is killed and the other continued.
 */
export async function batchKillingAWorker(args: string[], env: NodeJS.ProcessEnv, out: string, total: number, limitMs = 150_000): Promise<{ status: number | null; stderr: string; killed: number; doneBefore: number }> {
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let stderr = '', workers: number[] = [];
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])));
  const started = new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    if (!workers.length && new RegExp(`(^|\\n)0/${total} images\\n`).test(stderr)) {
      workers = childPids(commandProcess(child.pid!)); // the batch command's worker processes
      for (const w of workers) process.kill(w, 'SIGSTOP');
      resolve();
    }
  }));
  // A stopped worker outlives its killed parent: on a failure or a hang, both go.
  const stop = () => { child.kill('SIGKILL'); for (const w of workers) try { process.kill(w, 'SIGKILL'); } catch { /* gone */ } };
  const limit = setTimeout(stop, limitMs);
  try {
    await Promise.race([started, exited]);
    assert.equal(workers.length, 2, `the worker processes at the first progress line:\n${stderr}`);
    for (const w of workers) await stopped(w);
    const doneBefore = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).length : 0;
    assert.ok(doneBefore <= total - 4, `${doneBefore} of ${total} images were done before the workers were stopped: too few left to kill one mid-analysis`);
    process.kill(workers[0], 'SIGKILL');
    process.kill(workers[1], 'SIGCONT');
    const [status, signal] = await exited;
    assert.equal(signal, null, `did not end in time:\n${stderr}`);
    return { status, stderr, killed: workers[0], doneBefore };
  } finally {
    clearTimeout(limit);
    if (child.exitCode === null && child.signalCode === null) stop();
  }
}
