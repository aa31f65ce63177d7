// The worker's main loop, independent of how messages arrive: the child process (worker.ts) wires it
// to process.send/process.on('message'); the unit tests wire it to an in-memory port and a fake engine.
//
// One engine at a time. Queued operations (every one that uses the model) run one after another in
// arrival order; `cancel` is handled at once: it aborts the running request (the engine stops
// between passes) or drops a queued one. An operation that needs no model (`preview`) is answered
// at once. What each operation does, checks and reports is its module's (src/operations/).
import type { ModelInfo, ModelOptions, RunHooks } from '../engine/api';
import { CancelledError, codeOf, EngineError, type ErrorFacts } from '../engine/errors';
import { operationOf } from '../operations/index';
import type { EngineLike, Operation, OperationContext, OpenModel, ProgressKind } from '../operations/operation';
import type { PreviewResult } from '../operations/preview';
import { modelKey } from '../operations/loadModel';
import { safeJson } from '../protocol/guards';
import { isHostToWorker, PROTOCOL_VERSION, type HostToWorker, type WorkerRequest, type WorkerToHost } from '../protocol/worker';
import type { WorkerErrorCode, WorkerErrorInfo } from '../protocol/workerErrors';

/** The message each kind of progress travels in. */
const PROGRESS_MESSAGE: Record<ProgressKind, 'progress' | 'batchProgress' | 'stepProgress'> = { layer: 'progress', batch: 'batchProgress', step: 'stepProgress', none: 'progress' };

export interface WorkerDeps {
  openEngine(options: ModelOptions, hooks?: RunHooks): Promise<EngineLike>;
  /** The bundled model, used when `modelPath` is empty. */
  defaultModelPath(): string;
  /** A PNG rendering of an image (the worker's is sharp's, in operations/preview.ts). */
  render(imagePath: string, maxSize: number): Promise<PreviewResult>;
}

export interface WorkerPort {
  send(message: WorkerToHost): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Ends the process (or, in tests, the fake one). */
  exit(code: number): void;
}

interface Job { request: WorkerRequest; controller: AbortController }

/** No model is open: the host loads one before any queued operation, so this is a worker that restarted. */
class NoModelError extends Error {
  readonly workerCode = 'no-model';
  constructor() { super('no model is loaded'); }
}

export class WorkerServer {
  private open: (OpenModel & { key: string }) | undefined;
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private draining = false;
  private shuttingDown = false;

  constructor(private readonly port: WorkerPort, private readonly deps: WorkerDeps) {}

  start(pid: number): void {
    this.port.onMessage((m) => this.receive(m));
    this.port.send({ type: 'ready', pid, protocol: PROTOCOL_VERSION });
  }

  receive(message: unknown): void {
    if (!isHostToWorker(message)) {
      const id = (message as { id?: unknown } | null)?.id;
      if (typeof id === 'number') this.badRequest(id, message);
      else this.port.send({ type: 'log', level: 'warn', message: `ignored malformed message: ${safeJson(message)}` });
      return;
    }
    this.handle(message);
  }

  private badRequest(id: number, message: unknown): void {
    this.port.send({ type: 'error', id, error: { code: 'bad-request', message: 'The Neuron Path worker received a malformed request (this is a bug; please report it).', detail: safeJson(message) } });
  }

  private handle(message: HostToWorker): void {
    switch (message.type) {
      case 'shutdown': void this.shutdown(); return;
      case 'cancel': this.cancel(message.id); return;
      case 'request': {
        const op = operationOf(message.method);
        if (!op.isParams(message.params as unknown as Record<string, unknown>)) { this.badRequest(message.id, message); return; }
        const job = { request: message, controller: new AbortController() };
        if (op.queued) { this.queue.push(job); void this.drain(); } else void this.answer(job);
      }
    }
  }

  private cancel(id: number): void {
    if (this.current?.request.id === id) { this.current.controller.abort(); return; }
    const i = this.queue.findIndex((j) => j.request.id === id);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.port.send({ type: 'error', id, error: cancelledInfo() });
    }
    // Unknown id: it has finished already; its answer is on the way.
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.shuttingDown) {
        const job = this.queue.shift()!;
        this.current = job;
        try { await this.answer(job); } finally { this.current = undefined; }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs one request's operation and sends its result or its error. */
  private async answer(job: Job): Promise<void> {
    const { request, controller } = job;
    const op = operationOf(request.method);
    try {
      if (controller.signal.aborted) throw new CancelledError();
      const result = await op.run(this.context(op, request.id, controller.signal), request.params);
      this.port.send({ type: 'result', id: request.id, result });
    } catch (err) {
      this.port.send({ type: 'error', id: request.id, error: { ...describeError(err, request), ...originalOf(err) } });
    }
  }

  private context(op: Operation<unknown, unknown, ProgressKind>, id: number, signal: AbortSignal): OperationContext<ProgressKind> {
    return {
      signal,
      progress: (progress) => this.port.send({ type: PROGRESS_MESSAGE[op.progress], id, progress } as WorkerToHost),
      model: () => {
        if (!this.open) throw new NoModelError();
        return this.open;
      },
      load: (options) => this.load(options, id, signal),
      render: (imagePath, maxSize) => this.deps.render(imagePath, maxSize),
    };
  }

  private async load(params: ModelOptions, id: number, signal: AbortSignal): Promise<ModelInfo> {
    const key = modelKey(params);
    const options: ModelOptions = { ...params, modelPath: params.modelPath || this.deps.defaultModelPath() };
    if (this.open?.key === key) return this.open.engine.info;
    await this.closeEngine();
    const engine = await this.deps.openEngine(options, {
      signal,
      onProgress: (progress) => this.port.send({ type: 'progress', id, progress }),
    });
    this.open = { engine, options, key };
    return engine.info;
  }

  private async closeEngine(): Promise<void> {
    const engine = this.open?.engine;
    this.open = undefined;
    if (engine) {
      try { await engine.dispose(); } catch (err) {
        this.port.send({ type: 'log', level: 'warn', message: `disposing the previous model failed: ${String(err)}` });
      }
    }
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.current?.controller.abort();
    for (const job of this.queue.splice(0)) this.port.send({ type: 'error', id: job.request.id, error: cancelledInfo() });
    await this.closeEngine();
    this.port.exit(0);
  }
}

/** The engine's error as it was thrown: an EngineError keeps its code and facts (the CLI's batch words and classifies it by them). */
function originalOf(err: unknown): Pick<WorkerErrorInfo, 'original'> {
  if (err instanceof EngineError) return { original: { message: err.message, code: err.code, facts: err.facts } };
  return err instanceof Error ? { original: { message: err.message } } : {};
}

function cancelledInfo(): WorkerErrorInfo {
  return { code: 'cancelled', message: 'The analysis was cancelled.' };
}

/**
 * Turns an error into a message for the user that says what to do, in the extension's words (its
 * settings and commands). Engine errors are told apart by their `code` and `facts`, never by their
 * text; the engine's own text is kept (it names the file and what is wrong).
 */
export function describeError(err: unknown, request: WorkerRequest): WorkerErrorInfo {
  const text = err instanceof Error ? err.message : String(err);
  const detail = err instanceof Error ? err.stack ?? err.message : String(err);
  const code = codeOf(err);
  if (code === 'cancelled') return cancelledInfo();
  if (err instanceof NoModelError) {
    return { code: 'no-model', message: 'No model is loaded in the Neuron Path worker. Run the analysis again; if this repeats, reload the window.', detail };
  }
  const facts: ErrorFacts = err instanceof EngineError ? err.facts : {};
  const said = sentence(text);
  const op = operationOf(request.method);
  const subject = op.subject(request.params);
  const failure = (): WorkerErrorInfo => ({ code: op.failure.code, message: op.failure.message(request.params, clause(text)), detail });
  // Where nothing is wrong with a file, a setting or the model, the operation words its own failure.
  const failed: WorkerErrorCode = op.failure.code === 'model-load-failed' ? 'model-load-failed' : 'analysis-failed';
  switch (code) {
    case 'provider':
      return { code: 'cuda-unavailable', message: `${said} Set "neuronPath.executionProvider" to "cpu", or install the CUDA libraries onnxruntime needs.`, detail };
    case 'not-found':
    case 'not-a-file':
    case 'too-large':
    case 'io':
      switch (facts.role) {
        case 'model': return { code: code === 'not-found' ? 'model-not-found' : 'model-load-failed', message: `${said} Run "Neuron Path: Select Model..." or clear "neuronPath.modelPath" to use the bundled model.`, detail };
        case 'labels': return { code: 'model-load-failed', message: `${said} Check "neuronPath.labelsPath", or clear it to use the model folder's labels.`, detail };
        case 'image': return { code: code === 'not-found' ? 'image-not-found' : 'image-unreadable', message: code === 'not-found' ? `${said} Was it moved or deleted?` : said, detail };
        case 'folder': return { code: 'image-not-found', message: `${said} Choose a folder of images (sub-folders named after the classes, or images directly in it).`, detail };
        default: return { code: failed, message: said, detail };
      }
    case 'model-choice':
      return { code: 'model-load-failed', message: `${said} Set "neuronPath.modelPath" to the one to analyse, or run "Neuron Path: Select Model...".`, detail };
    case 'labels':
      if (facts.role === 'folder') return { code: failed, message: `${said} Fix it, or move it out of the folder to group its images by predicted class.`, detail };
      return { code: 'model-load-failed', message: `${said} Check "neuronPath.labelsPath", or the model folder's config.json (id2label or label_names) or labels.txt.`, detail };
    case 'preprocessing':
      return {
        code: failed, detail,
        message: facts.source === 'overrides' ? `${said} Check "neuronPath.preprocess.${String(facts.field ?? 'size').split(/[.[]/)[0]}".`
          : `${said} Fix the model folder's config (${facts.file ?? 'preprocessor_config.json, or config.json pretrained_cfg'}), or override it with the "neuronPath.preprocess.*" settings.`,
      };
    case 'image':
      if (facts.role === 'folder') return { code: 'image-not-found', message: `${said} Choose a folder of images (sub-folders named after the classes, or images directly in it).`, detail };
      return { code: 'image-unreadable', message: `${said} Convert it to PNG or JPEG and try again.`, detail };
    case 'target':
      return { code: 'analysis-failed', message: `${said} Pick another class in the panel, or change "neuronPath.target".`, detail };
    case 'numeric':
      return { code: 'analysis-failed', message: `${said} Check the preprocessing settings ("neuronPath.preprocess.*") and the model.`, detail };
    case 'result-settings':
      return { code: 'analysis-failed', message: `${said} Restore those settings to resume it, or delete the file to start over.`, detail };
    case 'result-locked':
      return { code: 'analysis-failed', message: `${said} Wait for that run to finish (or stop it); if it crashed, delete the .lock file beside the results.`, detail };
    case 'result-file':
      // Advice for a folder run's output; a result file an operation reads is not one to move away.
      if (!op.writesResultFile) return failure();
      return { code: 'analysis-failed', message: `${said} Move it away, or set "neuronPath.resultsLocation" to "workspace" or "extensionStorage".`, detail };
    case 'cache':
      return { code: 'model-load-failed', message: `${said} Check that the extension's storage folder is writable.`, detail };
    case 'method-undefined':
      return { code: 'model-load-failed', message: `Neuron Path cannot analyse ${subject}: ${clause(text)}. Run "Neuron Path: Select Model..." to choose another model.`, detail };
    case 'model-format':
      // The engine's text names the file: said once, with what to do.
      if (facts.role === 'model') return { code: 'model-load-failed', message: `${said} Export it again (torch.onnx.export or optimum), or run "Neuron Path: Select Model..." to choose another.`, detail: typeof facts.decoder === 'string' && facts.decoder ? `${detail}\n(the ONNX reader said: ${facts.decoder})` : detail };
    // falls through
    case 'not-a-vit':
    case 'unsupported-op':
      return { code: 'model-load-failed', message: `Could not load ${subject}: ${clause(text)}. It must be a vision transformer image classifier exported to ONNX; run "Neuron Path: Select Model..." to choose another.`, detail };
    default:
      return failure();
  }
}

/** The first line of an error text as a sentence: capitalised, ending with a full stop. */
/** The first line without its closing stop, to go inside a sentence (no ".." where one ends it). */
function clause(s: string): string {
  return firstLine(s).replace(/[.;:\s]+$/, '');
}

function sentence(s: string): string {
  const line = clause(s);
  return `${line.charAt(0).toUpperCase()}${line.slice(1)}.`;
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
