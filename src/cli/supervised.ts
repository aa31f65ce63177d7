// The process the supervisor (supervisor.ts) runs: Ctrl-C, SIGTERM and SIGHUP for the commands, and
// what a crash line names. A stop signal can reach this process twice: directly (a terminal
// signals its whole process group; so do `kill -- -PGID`, timeout, Slurm and systemd) and passed on
// by the supervisor (Kubernetes and `kill PID` signal only the process they started). Each copy is
// counted by where it came from and the n-th signal is acted on once, whichever copy comes first: one
// Ctrl-C still stops a command cleanly and a second still ends it at once, as without a supervisor.
import { Engine, type RunHooks, type ModelOptions } from '../engine/index';
import { locateModel } from '../engine/modelLocation';
import { isStopSignal, STOP_SIGNALS, SUPERVISED_ENV, type CrashContext, type ReadyNote, type StopSignal } from './supervisor';

interface Count { direct: number; passed: number; acted: number }
const counts = new Map<StopSignal, Count>(STOP_SIGNALS.map((s) => [s, { direct: 0, passed: 0, acted: 0 }]));
const handlers = new Map<StopSignal, Array<() => void>>(STOP_SIGNALS.map((s) => [s, []]));
let listening = false, supervised = false;

function arrived(signal: StopSignal, from: 'direct' | 'passed'): void {
  const c = counts.get(signal)!;
  c[from]++;
  if (Math.max(c.direct, c.passed) <= c.acted) return; // the other copy of a signal already acted on
  c.acted++;
  const handler = handlers.get(signal)!.shift();
  if (handler) { handler(); return; }
  // No command handles it: end by the signal, as a process without a listener does.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

function listen(): void {
  if (listening) return;
  listening = true;
  for (const s of STOP_SIGNALS) process.on(s, () => arrived(s, 'direct'));
}

/** Calls `handler` on the next of each of `signals` (as process.once for each); returns what removes it. */
export function onceSignals(signals: StopSignal[], handler: () => void): () => void {
  listen();
  for (const s of signals) handlers.get(s)!.push(handler);
  return () => {
    for (const s of signals) { const list = handlers.get(s)!, i = list.indexOf(handler); if (i >= 0) list.splice(i, 1); }
  };
}

/**
 * Whether this process runs under the supervisor; if so, takes the stop signals it passes on, and ends at
 * once if the supervisor is gone (killed itself: whoever killed it meant the command). The variable is
 * not passed on to this process's own children.
 */
export function startSupervised(): boolean {
  if (supervised) return true;
  supervised = process.env[SUPERVISED_ENV] === '1' && typeof process.send === 'function';
  delete process.env[SUPERVISED_ENV];
  if (!supervised) return false;
  listen();
  process.on('message', (m: { signal?: unknown }) => { if (isStopSignal(m?.signal)) arrived(m.signal, 'passed'); });
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref(); // the channel does not keep the process alive once the command is done
  process.send!({ ready: true } satisfies ReadyNote);
  return true;
}

/** Tells the supervisor what its crash line names (nothing without one); `resumes` as printed (escaped). */
export function tellSupervisor(context: CrashContext): void {
  if (supervised && process.connected) process.send!(context);
}

/** Engine.open, having told the supervisor the ONNX file whose size a crash line names, and the threads. */
export function openEngine(options: ModelOptions, hooks?: RunHooks): Promise<Engine> {
  tellSupervisor({ threads: options.threads ?? 0 });
  try { tellSupervisor({ model: locateModel(options.modelPath).file }); } catch { /* not found: Engine.open says so */ }
  return Engine.open(options, hooks);
}
