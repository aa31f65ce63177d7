// The writer lock of a result file, made for cluster runs: a task killed with SIGKILL (an OOM kill,
// Slurm after KillWait) must not block its resumption, on this node, on another node, or in a pod
// restarted in a fresh PID namespace where the new process has the old one's PID. So the lock
// records who holds it precisely (host, boot id, PID namespace, PID and the process's start time)
// and a heartbeat, refreshed by a thread of the holder while it runs:
// - a holder on this machine and in this PID namespace is alive exactly when its PID runs with the
//   recorded start time (a reused PID is another process);
// - any other holder is alive while its heartbeat is fresh: a lock whose heartbeat is older than
//   the stale bound is taken over; a younger one is watched until it moves (alive: refused) or ages.
// The lock sits beside the real file (links resolved), so every path to one file shares it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { EngineError } from '../errors';
import { readRegular, writeTarget } from '../files';

/** Seconds without a heartbeat after which another machine's (or PID namespace's) lock is stale. */
export const LOCK_STALE = { default: 60, min: 2, max: 7 * 24 * 3600 } as const;

export interface LockHolder {
  pid: number; host: string; command: string; since: string;
  /** When the holder last showed it is alive (ISO time, the holder's clock), and how often it does (seconds). */
  heartbeat?: string; heartbeatEvery?: number;
  bootId?: string; pidNamespace?: string; startTime?: string;
  token?: string;
}

export const lockFileOf = (file: string) => `${writeTarget(file)}.lock`;

const readProc = (file: string) => { try { return fs.readFileSync(file, 'utf8'); } catch { return undefined; } };

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot (undefined: no such process). */
function startTimeOf(pid: number | 'self'): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // fields from 3 on; the name (2) may hold spaces
}

/** How often a holder with this stale bound refreshes its heartbeat (ms): several times per bound. */
const beatEvery = (staleMs: number) => Math.max(200, Math.min(10_000, staleMs / 6));

function whoAmI(command: string, staleMs: number): LockHolder {
  let pidNamespace: string | undefined;
  try { pidNamespace = fs.readlinkSync('/proc/self/ns/pid'); } catch { /* not Linux */ }
  const now = new Date().toISOString();
  return {
    pid: process.pid, host: os.hostname(), command, since: now, heartbeat: now, heartbeatEvery: beatEvery(staleMs) / 1000,
    bootId: readProc('/proc/sys/kernel/random/boot_id')?.trim(), pidNamespace, startTime: startTimeOf('self'),
    token: randomBytes(8).toString('hex'),
  };
}

function readHolder(lock: string): { holder: LockHolder; text: string } | undefined {
  try {
    const text = readRegular(lock, 'lock').toString('utf8'); // a FIFO planted as the lock must not block
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (!(Number.isInteger(v.pid) && v.pid! > 0 && typeof v.host === 'string')) return undefined;
    const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
    return {
      text,
      holder: {
        pid: v.pid!, host: v.host, command: String(v.command ?? ''), since: String(v.since ?? ''), heartbeat: str(v.heartbeat),
        heartbeatEvery: typeof v.heartbeatEvery === 'number' && v.heartbeatEvery > 0 ? v.heartbeatEvery : undefined,
        bootId: str(v.bootId), pidNamespace: str(v.pidNamespace), startTime: str(v.startTime), token: str(v.token),
      },
    };
  } catch { return undefined; }
}

/** How old the holder's heartbeat is, in ms (a lock without one: its `since`, else the file's age). */
function heartbeatAge(lock: string, h: LockHolder): number {
  let t = Date.parse(h.heartbeat ?? h.since);
  if (!Number.isFinite(t)) { try { t = fs.statSync(lock).mtimeMs; } catch { t = Date.now(); } }
  return Date.now() - t;
}

/** The taker's bound, but at least three of the holder's own beats (it may have been started with a longer bound). */
const staleBound = (h: LockHolder, staleMs: number) => Math.max(staleMs, 3000 * (h.heartbeatEvery ?? 0));

/**
 * 'live' or 'stale' when it can be known here and now (with why, for the user); 'watch' when only
 * the heartbeat can tell.
 */
function judge(lock: string, h: LockHolder, me: LockHolder, staleMs: number): { verdict: 'live' | 'stale' | 'watch'; why: string } {
  if (h.bootId && h.pidNamespace && h.startTime && h.bootId === me.bootId && h.pidNamespace === me.pidNamespace) {
    const running = startTimeOf(h.pid);
    return running === h.startTime ? { verdict: 'live', why: 'it is running' }
      : { verdict: 'stale', why: running ? 'that process has ended (its PID is another program\'s now)' : 'that process has ended' };
  }
  const age = heartbeatAge(lock, h);
  return { verdict: age > staleBound(h, staleMs) ? 'stale' : 'watch', why: `its heartbeat is ${Math.round(age / 1000)} s old` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LockOptions {
  command?: string;
  /** LOCK_STALE's bound, in seconds. */
  staleAfter?: number;
  /** What the lock is doing (waiting on a holder, taking a stale lock over), for the user. */
  log?: (msg: string) => void;
  /** Called if another process takes the lock over while it is held: the holder must stop writing. */
  onLost?: (e: EngineError) => void;
}

function lockedError(file: string, lock: string, h: LockHolder, why: string): EngineError {
  const holder = { pid: h.pid, host: h.host, command: h.command, since: h.since };
  return new EngineError('result-locked', `${file} is being written by process ${h.pid} on ${h.host} (${h.command || 'no command recorded'}, since ${h.since}; ${why})`,
    { file, role: 'result-file', holder, lock });
}

/** Moves a stale lock out of the way, unless it changed since it was judged (then it is put back). */
function removeStale(lock: string, judged: string): void {
  const aside = `${lock}.${process.pid}-${randomBytes(4).toString('hex')}.stale`;
  try { fs.renameSync(lock, aside); } catch { return; } // gone already
  const now = (() => { try { return fs.readFileSync(aside, 'utf8'); } catch { return undefined; } })();
  if (now !== judged) { try { fs.linkSync(aside, lock); } catch { /* a new lock is there: it stands */ } }
  fs.rmSync(aside, { force: true });
}

/**
 * Takes the writer lock of a result file (`FILE.lock` beside the real file, created exclusively,
 * holding who took it) and keeps its heartbeat; returns its release. Throws `result-locked` with the
 * holder's facts while another live process holds it.
 */
export async function lockResultFile(file: string, opts: LockOptions = {}): Promise<() => void> {
  const lock = lockFileOf(file);
  const staleMs = (opts.staleAfter ?? LOCK_STALE.default) * 1000;
  const me = whoAmI(opts.command ?? process.argv.slice(1).join(' '), staleMs);
  let unreadable = 0, watched: string | undefined;
  for (;;) {
    try {
      fs.writeFileSync(lock, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new EngineError('io', `cannot create the lock ${lock} (${(e as NodeJS.ErrnoException).code})`, { file: lock, role: 'lock' });
    }
    const read = readHolder(lock);
    if (!read) { // being written this instant, or garbage: garbage for a second is stale
      if (++unreadable > 20) removeStale(lock, fs.readFileSync(lock, 'utf8'));
      await sleep(50);
      continue;
    }
    const { holder, text } = read;
    const { verdict, why } = judge(lock, holder, me, staleMs);
    if (verdict === 'live') throw lockedError(file, lock, holder, why);
    if (verdict === 'stale') {
      opts.log?.(`taking over the lock of process ${holder.pid} on ${holder.host}: ${why}`);
      removeStale(lock, text);
      continue;
    }
    if (watched !== undefined && watched !== (holder.heartbeat ?? holder.since)) throw lockedError(file, lock, holder, 'its heartbeat is fresh');
    if (watched === undefined) {
      const wait = Math.max(0, Math.round((staleBound(holder, staleMs) - heartbeatAge(lock, holder)) / 1000));
      opts.log?.(`${lock} is held by process ${holder.pid} on ${holder.host} (${why}): waiting up to ${wait} s for it to go stale`);
    }
    watched = holder.heartbeat ?? holder.since;
    await sleep(Math.min(1000, staleMs / 8));
  }
  return keepAlive(lock, me, staleMs, opts.onLost ?? (() => {}), file);
}

// The heartbeat runs on a thread of its own: onnxruntime's runs block the main thread for seconds.
// `state` (shared): 0 idle, 1 writing a heartbeat, 2 released; the release waits out a write in
// progress, so no heartbeat recreates a lock after it is removed.
const HEARTBEAT = `
const { workerData: w, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const state = new Int32Array(w.state);
const timer = setInterval(() => {
  if (Atomics.compareExchange(state, 0, 0, 1) !== 0) { clearInterval(timer); return; }
  try {
    const held = JSON.parse(fs.readFileSync(w.lock, 'utf8'));
    if (held.token !== w.token) { clearInterval(timer); parentPort.postMessage('lost'); return; }
    held.heartbeat = new Date().toISOString();
    const tmp = w.lock + '.' + w.token + '.beat';
    fs.writeFileSync(tmp, JSON.stringify(held));
    fs.renameSync(tmp, w.lock);
  } catch (e) {
    if (e.code === 'ENOENT') { clearInterval(timer); parentPort.postMessage('lost'); }
  } finally {
    Atomics.store(state, 0, 0);
    Atomics.notify(state, 0);
  }
}, w.intervalMs);
`;

function keepAlive(lock: string, me: LockHolder, staleMs: number, onLost: (e: EngineError) => void, file: string): () => void {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const beat = new Worker(HEARTBEAT, { eval: true, workerData: { lock, token: me.token, state: state.buffer, intervalMs: beatEvery(staleMs) } });
  beat.unref();
  beat.on('message', () => onLost(new EngineError('result-locked', `${file}: another process took over its lock ${lock}; this run stopped writing`, { file, role: 'result-file', lock })));
  beat.on('error', () => { /* no heartbeat: the lock just ages */ });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    while (Atomics.compareExchange(state, 0, 0, 2) === 1) Atomics.wait(state, 0, 1, 1000);
    void beat.terminate();
    if (readHolder(lock)?.holder.token === me.token) fs.rmSync(lock, { force: true });
  };
}
