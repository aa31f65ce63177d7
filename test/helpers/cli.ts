// The `neuron-path` command as a user runs it, for the hardening tests: a child process with a time
// limit (a run that has to be killed fails the test: a hang is a failure, not a stuck test), the
// fixture model, and small images made on the spot.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { BatchRecord } from '../../src/engine/batch/index';
import { FIXTURES, REPO, tempDir } from './fixtures';

export const BIN = path.join(REPO, 'bin', 'neuron-path.js');
export const FIXTURE = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
/** One step count and no baselines: the cheapest analysis that still runs every stage. */
export const FAST = ['--threads', '1', '--steps', '2', '--baselines', 'none'];
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
