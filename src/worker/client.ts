// The host's side of the worker: starts the child process on first use, matches answers to requests
// by id, gives every request a timeout (restarted by every message from the worker), rejects everything
// pending when the process exits, and starts a fresh process on the next request after a crash.
// No vscode import: the unit tests drive it with a real fork or an in-memory transport.
import { fork, type ChildProcess } from 'node:child_process';
import type { ModelInfo, ModelOptions } from '../engine/api';
import { CancelledError, EngineError } from '../engine/errors';
import { OPERATIONS, type ParamsOf, type ProgressOf, type ResultOf, type WorkerMethod } from '../operations/index';
import { modelKey } from '../operations/loadModel';
import { safeJson } from '../protocol/guards';
import { isWorkerToHost, type HostToWorker, type WorkerToHost } from '../protocol/worker';
import { RequestTimeoutError, WorkerExitedError, WorkerRequestError } from '../protocol/workerErrors';
import { crashWords, likelyOutOfMemory } from './crash';

/** One running worker process, as the client sees it. */
export interface WorkerTransport {
  readonly pid: number | undefined;
  send(message: HostToWorker): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  onStderr?(listener: (text: string) => void): void;
  kill(): void;
}

/** A transport that forks a Node script with an IPC channel. */
export function forkTransport(scriptPath: string, options: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}): WorkerTransport {
  const child: ChildProcess = fork(scriptPath, [], {
    // Never inherit the extension host's --inspect flags (the debug port would clash).
    execArgv: options.execArgv ?? [],
    // Inside VS Code process.execPath is the Electron binary: run it as plain Node.
    env: { ...(options.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let exited = false;
  const exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
  const fireExit = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    for (const l of exitListeners) l(code, signal);
  };
  child.on('exit', (code, signal) => fireExit(code, signal));
  // A fork that cannot start at all (bad execPath) reports 'error' and may never report 'exit'.
  child.on('error', () => { if (child.exitCode !== null || child.pid === undefined) fireExit(child.exitCode, null); });
  return {
    get pid() { return child.pid; },
    send(message) {
      if (!child.connected) throw new Error('the worker process is not connected');
      child.send(message);
    },
    onMessage(listener) { child.on('message', listener); },
    onExit(listener) { exitListeners.push(listener); },
    onStderr(listener) {
      child.stderr?.setEncoding('utf8').on('data', listener);
      child.stdout?.setEncoding('utf8').on('data', listener);
    },
    kill() { if (!exited) child.kill('SIGKILL'); },
  };
}

export interface RequestOptions<P = unknown> {
  /** The operation's progress: per layer step of an analysis, per image of a folder run. */
  onProgress?: (progress: P) => void;
  /** Aborting sends `cancel`; if the worker has not answered `cancelGraceMs` later it is killed. */
  signal?: AbortSignal;
  /** Overrides the method's default timeout (ms without an answer or progress). */
  timeoutMs?: number;
}

export interface WorkerClientOptions {
  spawn: () => WorkerTransport;
  /** Timeouts per method (default: the operation's), in ms without an answer or a progress message. */
  timeouts?: Partial<Record<WorkerMethod, number>>;
  /** How long a cancelled request may take to stop before the worker is killed. */
  cancelGraceMs?: number;
  log?: (line: string) => void;
}

/** What a cancelled request rejects with (the panels show it as it is). */
const CANCELLED = 'The analysis was cancelled.';

/** A result that fails its operation's check: a bug of the worker (or of the check), never the user's. */
function wrongShape(method: WorkerMethod, shape: string): EngineError {
  return new EngineError('worker-failed', `the worker answered ${method} with a result of the wrong shape (expected ${shape}); this is a bug: please report it`);
}

export interface CrashInfo { code: number | null; signal: string | null; message: string; pending: number }

interface Pending {
  id: number;
  method: WorkerMethod;
  resolve(value: unknown): void;
  reject(err: Error): void;
  onProgress?: (p: unknown) => void;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
  cancelled: boolean;
  cleanup(): void;
}

interface Session {
  transport: WorkerTransport;
  /** Set when the host itself ended the process: the exit is then no crash. */
  endReason?: 'killed' | 'cancel-timeout' | 'timeout' | 'shutdown';
  model?: { key: string; info: Promise<ModelInfo>; modelPath: string };
}

export class WorkerClient {
  private session: Session | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;
  private readonly crashListeners = new Set<(info: CrashInfo) => void>();
  private readonly timeouts: Partial<Record<WorkerMethod, number>>;
  private readonly cancelGraceMs: number;
  private starts = 0;

  constructor(private readonly options: WorkerClientOptions) {
    this.timeouts = options.timeouts ?? {};
    this.cancelGraceMs = options.cancelGraceMs ?? 3000;
  }

  /** How many processes this client has started (a restart after a crash counts). */
  get startCount(): number { return this.starts; }
  get pid(): number | undefined { return this.session?.transport.pid; }
  get isRunning(): boolean { return this.session !== undefined; }
  get pendingCount(): number { return this.pending.size; }
  /** Whether the worker has (or is loading) a model. */
  get hasModel(): boolean { return this.session?.model !== undefined; }
  /** Whether the worker has (or is loading) the model of these options. */
  isLoaded(options: ModelOptions): boolean { return this.session?.model?.key === modelKey(options); }

  /** Called when the worker ends without being asked to. */
  onDidCrash(listener: (info: CrashInfo) => void): { dispose(): void } {
    this.crashListeners.add(listener);
    return { dispose: () => this.crashListeners.delete(listener) };
  }

  /** Loads the model unless the worker already has exactly these options loaded (or loading). */
  ensureModel(options: ModelOptions, requestOptions: RequestOptions<ProgressOf<'loadModel'>> = {}): Promise<ModelInfo> {
    const session = this.ensureSession();
    const key = modelKey(options);
    if (session.model?.key === key) return session.model.info;
    const info = this.request('loadModel', options, requestOptions);
    session.model = { key, info, modelPath: options.modelPath };
    // A failed load leaves no model behind: the next call tries again.
    info.catch(() => { if (session.model?.key === key && session.model.info === info) session.model = undefined; });
    return info;
  }

  /** Sends one operation's request; its result, or a rejection with the worker's error, a timeout, an exit or a cancellation. */
  request<M extends WorkerMethod>(method: M, params: ParamsOf<M>, requestOptions: RequestOptions<ProgressOf<M>> = {}): Promise<ResultOf<M>> {
    if (this.disposed) return Promise.reject(new Error('The Neuron Path worker client has been disposed.'));
    const { signal } = requestOptions;
    if (signal?.aborted) return Promise.reject(new CancelledError(CANCELLED));
    const session = this.ensureSession();
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const onAbort = (): void => this.cancel(id);
      const entry: Pending = {
        id, method,
        resolve,
        reject,
        onProgress: requestOptions.onProgress as ((p: unknown) => void) | undefined,
        timeoutMs: requestOptions.timeoutMs ?? this.timeouts[method] ?? OPERATIONS[method].timeoutMs,
        cancelled: false,
        cleanup: () => {
          clearTimeout(entry.timer);
          clearTimeout(entry.graceTimer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.pending.set(id, entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.armTimer(entry);
      try {
        session.transport.send({ type: 'request', id, method, params } as HostToWorker);
      } catch (err) {
        this.settle(id, new Error(`Could not send '${method}' to the Neuron Path worker: ${(err as Error).message}`));
      }
    });
  }

  /** Asks the worker to stop request `id`; kills the worker if it has not stopped after the grace time. */
  cancel(id: number): void {
    const entry = this.pending.get(id);
    if (!entry || entry.cancelled) return;
    entry.cancelled = true;
    clearTimeout(entry.timer);
    const session = this.session;
    try { session?.transport.send({ type: 'cancel', id }); } catch { /* exiting anyway */ }
    entry.graceTimer = setTimeout(() => {
      if (!this.pending.has(id) || this.session !== session || !session) return;
      this.log(`request ${id} (${entry.method}) did not stop within ${this.cancelGraceMs} ms of cancel: killing worker ${session.transport.pid}`);
      this.endSession(session, 'cancel-timeout');
    }, this.cancelGraceMs);
  }

  /** Kills the worker now (the next request starts a new one). Pending requests are rejected. */
  kill(): void {
    if (this.session) this.endSession(this.session, 'killed');
  }

  /** Asks the worker to shut down, kills it if it has not exited after `graceMs`, rejects what is pending. */
  async dispose(graceMs = 2000): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const session = this.session;
    if (!session) return;
    session.endReason = 'shutdown';
    const exited = new Promise<void>((resolve) => session.transport.onExit(() => resolve()));
    try { session.transport.send({ type: 'shutdown' }); } catch { /* already gone */ }
    const timer = setTimeout(() => session.transport.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private ensureSession(): Session {
    if (this.session) return this.session;
    const transport = this.options.spawn();
    const session: Session = { transport };
    this.session = session;
    this.starts++;
    transport.onMessage((m) => { if (this.session === session) this.receive(m); });
    transport.onExit((code, signal) => this.onExit(session, code, signal));
    transport.onStderr?.((text) => this.log(text.trimEnd()));
    this.log(`worker started (pid ${transport.pid ?? '?'})`);
    return session;
  }

  private endSession(session: Session, reason: NonNullable<Session['endReason']>): void {
    session.endReason ??= reason;
    session.transport.kill();
    // Do not wait for 'exit': the next request gets a fresh process right away.
    this.detach(session, null, 'SIGKILL');
  }

  private onExit(session: Session, code: number | null, signal: string | null): void {
    this.detach(session, code, signal);
  }

  /** Forgets the session and rejects its pending requests (once). */
  private detach(session: Session, code: number | null, signal: string | null): void {
    if (this.session !== session) return;
    this.session = undefined;
    const reason = session.endReason;
    const crashed = reason === undefined;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    this.log(`worker ${session.transport.pid ?? '?'} ended (${how}${reason ? `, ${reason}` : ''})`);
    const pendingCount = this.pending.size;
    const words = crashed ? crashWords(code, signal, session.model?.modelPath) : undefined;
    const crashMessage = crashed ? `The Neuron Path worker stopped unexpectedly: ${words}. It will be restarted on the next run. `
      + (likelyOutOfMemory(code, signal)
        ? 'To use less memory: fewer threads (neuronPath.threads), fewer steps (neuronPath.steps), a smaller model, or more memory for VS Code; '
        : 'If it repeats, ')
      + 'the "Neuron Path" output has the worker\'s last messages.' : '';
    for (const entry of [...this.pending.values()]) {
      let err: Error;
      if (entry.cancelled) err = new CancelledError(CANCELLED);
      else if (crashed) err = new WorkerExitedError(crashMessage, code, signal, true, words);
      else if (reason === 'shutdown') err = new WorkerExitedError('The Neuron Path worker was shut down.', code, signal, false);
      else if (reason === 'timeout') err = new WorkerExitedError('The Neuron Path worker was stopped after another request timed out. Run the analysis again.', code, signal, false);
      else err = new WorkerExitedError('The Neuron Path worker was restarted while this request waited (a cancelled analysis did not stop in time). Run it again.', code, signal, false);
      this.settle(entry.id, err);
    }
    if (crashed) {
      const info: CrashInfo = { code, signal, message: crashMessage, pending: pendingCount };
      for (const l of [...this.crashListeners]) {
        try { l(info); } catch (err) { this.log(`crash listener failed: ${String(err)}`); }
      }
    }
  }

  private receive(raw: unknown): void {
    if (!isWorkerToHost(raw)) { this.log(`ignored malformed message from the worker: ${safeJson(raw)}`); return; }
    const message: WorkerToHost = raw;
    // Any sign of life restarts every waiting request's clock: requests run one after another, so a
    // queued one is not stuck while the one before it still reports progress.
    for (const entry of this.pending.values()) if (!entry.cancelled) this.armTimer(entry);
    switch (message.type) {
      case 'ready': this.log(`worker ${message.pid} ready (protocol ${message.protocol})`); return;
      case 'log': this.log(`[worker ${message.level}] ${message.message}`); return;
      case 'fatal': this.log(`[worker fatal] ${message.error.detail ?? message.error.message}`); return;
      case 'progress':
      case 'batchProgress':
      case 'stepProgress': {
        const entry = this.pending.get(message.id);
        if (!entry) return;
        try { entry.onProgress?.(message.progress); } catch (err) { this.log(`progress listener failed: ${String(err)}`); }
        return;
      }
      case 'result': {
        // A result is trusted only in the shape its operation declares: a wrong one is the worker's bug, said so, never passed on.
        const entry = this.pending.get(message.id);
        const op = entry && OPERATIONS[entry.method];
        if (op && !op.isResult(message.result)) {
          this.log(`request ${message.id} (${entry.method}) answered with a result of the wrong shape: ${safeJson(message.result)}`);
          this.settle(message.id, wrongShape(entry.method, op.resultShape));
        } else this.settle(message.id, undefined, message.result);
        return;
      }
      case 'error': {
        const e = message.error;
        if (e.detail) this.log(`request ${message.id} failed (${e.code}): ${e.detail}`);
        this.settle(message.id, e.code === 'cancelled' ? new CancelledError(e.message) : new WorkerRequestError(e.code, e.message, e.detail, e.original));
      }
    }
  }

  private settle(id: number, err: Error | undefined, value?: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) return; // late answer to a request that timed out or was rejected on exit
    this.pending.delete(id);
    entry.cleanup();
    if (err) entry.reject(err);
    else entry.resolve(value);
  }

  private armTimer(entry: Pending): void {
    clearTimeout(entry.timer);
    if (!(entry.timeoutMs > 0 && Number.isFinite(entry.timeoutMs))) return;
    entry.timer = setTimeout(() => {
      if (!this.pending.has(entry.id)) return;
      this.log(`request ${entry.id} (${entry.method}) timed out after ${entry.timeoutMs} ms`);
      this.settle(entry.id, new RequestTimeoutError(entry.method, entry.timeoutMs));
      // The worker runs one engine request at a time: a stuck one blocks all others. Start over.
      if (this.session) this.endSession(this.session, 'timeout');
    }, entry.timeoutMs);
  }

  private log(line: string): void {
    if (line) this.options.log?.(line);
  }
}
