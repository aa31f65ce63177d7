// The `neuron-path` process a user starts runs the command in a child process (the same script, with
// NEURON_PATH_SUPERVISED=1) and waits for it. A process killed by the out-of-memory killer (SIGKILL)
// or aborted by onnxruntime or V8 (SIGABRT) cannot say why itself: without this parent it would end
// with the library's last words or the shell's bare "Killed". The parent says in one line what
// happened and what to do, and exits 128 + the signal's number, as a shell reports such an end.
// Stop signals (Ctrl-C, SIGTERM, SIGHUP) are passed on (supervised.ts acts on each once); if one ends the
// child, it ends this process the same way, so a shell or a scheduler sees what it saw before.
// Bundled alone (dist/supervisor.js): it loads neither onnxruntime nor the CLI.
import { fork } from 'node:child_process';
import * as os from 'node:os';
import { crashWords, likelyOutOfMemory } from '../worker/crash';

export const SUPERVISED_ENV = 'NEURON_PATH_SUPERVISED';
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = typeof STOP_SIGNALS[number];

/** Supervisor to child: a stop signal the supervisor received. */
export interface SignalNote { signal: StopSignal }
/** Child to supervisor: what a crash line names: the ONNX file (its size), --threads (0: all cores), the result file a rerun resumes (as printed). */
export interface CrashContext { model?: string; threads?: number; resumes?: string }
/** Child to supervisor: it takes stop signals as messages from now on. */
export interface ReadyNote { ready: true }

/** The commands whose memory grows with --steps (the integration steps run as one batch). */
const STEPPED = new Set(['analyze', 'batch', 'compare']);

export const isStopSignal = (s: unknown): s is StopSignal => STOP_SIGNALS.includes(s as StopSignal);

/**
 * The crash line (without "neuron-path: "): "the analyze process stopped: it was killed (SIGKILL), most
 * likely out of memory (...): the model file is ...; what is done stays in r.jsonl: run the same command
 * again to resume; to use less memory: ...".
 */
export function crashLine(command: string, signal: string, context: CrashContext): string {
  const parts = [`the ${command} process stopped: ${crashWords(null, signal, context.model)}`];
  if (context.resumes) parts.push(`what is done stays in ${context.resumes}: run the same command again to resume`);
  if (!likelyOutOfMemory(null, signal)) return [...parts, 'its own last messages, if any, are above: if it repeats, report it with them'].join('; ');
  // The model's knobs only once a model was opened (report without --prune has none).
  const threads = context.threads || os.availableParallelism();
  const fewer = context.threads === undefined ? [] : [threads > 1 ? `fewer threads (--threads ${Math.floor(threads / 2)})` : '',
    STEPPED.has(command) ? 'fewer steps (--steps)' : '', 'a smaller model'].filter(Boolean);
  parts.push(fewer.length ? `to use less memory: ${fewer.join(', ')}, or more memory` : 'it needs more memory');
  if (signal === 'SIGABRT') parts.push('if the lines above say "JavaScript heap out of memory", Node\'s heap limit was reached: raise it (NODE_OPTIONS=--max-old-space-size=8192 for 8 GB)');
  return parts.join('; ');
}

/** Runs `script argv` in a supervised child and ends as it ends (its exit code, or its stop signal), or with the crash line. */
export function supervise(script: string, argv: string[]): void {
  const context: CrashContext = {};
  const child = fork(script, argv, { env: { ...process.env, [SUPERVISED_ENV]: '1' } });
  // Ctrl-C reaches both processes (the terminal signals its process group); the child counts the copies.
  // Until it listens, a signal is passed as a signal: its default action ends the child, as it ended the CLI before.
  let ready = false;
  const pass = (signal: StopSignal) => {
    try { if (ready) child.send({ signal } satisfies SignalNote); else child.kill(signal); } catch { /* it is exiting: nothing to stop */ }
  };
  for (const s of STOP_SIGNALS) process.on(s, pass);
  child.on('message', (m: CrashContext & Partial<ReadyNote>) => { if (m.ready) ready = true; else Object.assign(context, m); });
  child.on('error', (err) => {
    process.stderr.write(`neuron-path: could not start the command's process: ${err.message}; free some memory or processes, and run it again\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    for (const s of STOP_SIGNALS) process.removeListener(s, pass);
    if (signal === null) { process.exitCode = code ?? 1; return; }
    // Ended by a stop signal: end by the same signal (a shell's loop stops on a Ctrl-C only then).
    if (isStopSignal(signal)) { process.kill(process.pid, signal); return; }
    const clear = process.stderr.isTTY ? '\r\x1b[K' : ''; // a progress line may be waiting for its end
    const command = /^[a-z-]+$/.test(argv[0] ?? '') ? argv[0] : 'neuron-path'; // a name typed with control characters is not echoed
    process.stderr.write(`${clear}neuron-path: ${crashLine(command, signal, context)}\n`);
    process.exitCode = 128 + (os.constants.signals[signal] ?? 0);
  });
}
