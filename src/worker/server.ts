// The worker's main loop, independent of how messages arrive: the child process (worker.ts) wires it
// to process.send/process.on('message'); the unit tests wire it to an in-memory port and a fake engine.
//
// One engine at a time. Engine requests (loadModel, analyze) run one after another in arrival order;
// `cancel` is handled at once: it aborts the running request (the engine stops between passes) or
// drops a queued one. `preview` needs no engine and does not wait in the queue.
import type { AnalyzeOptions, ModelInfo, ModelOptions, RunHooks } from '../engine/api';
import { codeOf, EngineError, type ErrorFacts } from '../engine/errors';
import { recordedPath, type FsPath } from '../engine/files';
import type { AnalysisResult } from '../engine/result';
import { ERROR_SCHEMA, type BatchLine } from '../engine/batch/records';
import type { NeuronScanLine } from '../engine/neurons/records';
import { pruningCheck, type PruneEngine, type PruningCurve } from '../engine/batch/prune';
import { loadReports } from '../engine/batch/report';
import { analyzeFolder, type BatchProgress } from '../engine/batch/run';
import { scanFolderNeurons, type NeuronScanner } from '../engine/neurons/run';
import type { Engine } from '../engine/index';
import { checkComparable, ComparisonError, comparePaths } from '../engine/pathCompare';
import {
  isHostToWorker, PROTOCOL_VERSION, safeJson, stableKey,
  type BatchLatest, type BatchParams, type BatchProgressInfo, type BatchRunResult, type HostToWorker, type NeuronScanParams, type PreviewParams, type PreviewResult, type PruneParams, type WorkerErrorCode, type WorkerErrorInfo, type WorkerRequest, type WorkerToHost,
} from '../protocol';

/** What the worker needs of the engine (the real `Engine` satisfies it; the pruning passes are optional for fakes). */
export interface EngineLike extends Partial<Omit<PruneEngine, 'info'>> {
  readonly info: ModelInfo;
  analyze(imagePath: FsPath, options: AnalyzeOptions, hooks?: RunHooks): Promise<AnalysisResult>;
  /** The neuron scan and a path's JAS on an image (the real Engine has them; test fakes may not). */
  scanNeurons?: NeuronScanner['scanNeurons'];
  pathJas?: Engine['pathJas'];
  dispose(): Promise<void>;
}

export interface WorkerDeps {
  openEngine(options: ModelOptions, hooks?: RunHooks): Promise<EngineLike>;
  /** The bundled model, used when `modelPath` is empty. */
  defaultModelPath(): string;
  preview?(params: PreviewParams): Promise<PreviewResult>;
}

export interface WorkerPort {
  send(message: WorkerToHost): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Ends the process (or, in tests, the fake one). */
  exit(code: number): void;
}

interface Job { request: WorkerRequest; controller: AbortController }

export class WorkerServer {
  private engine: EngineLike | undefined;
  private engineKey: string | undefined;
  private engineOptions: ModelOptions | undefined;
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
      if (typeof id === 'number') {
        this.port.send({ type: 'error', id, error: { code: 'bad-request', message: 'The Neuron Path worker received a malformed request (this is a bug; please report it).', detail: safeJson(message) } });
      } else {
        this.port.send({ type: 'log', level: 'warn', message: `ignored malformed message: ${safeJson(message)}` });
      }
      return;
    }
    this.handle(message);
  }

  private handle(message: HostToWorker): void {
    switch (message.type) {
      case 'shutdown': void this.shutdown(); return;
      case 'cancel': this.cancel(message.id); return;
      case 'request':
        if (message.method === 'preview') { void this.runPreview(message.id, message.params); return; }
        this.queue.push({ request: message, controller: new AbortController() });
        void this.drain();
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
        try {
          const result = await this.run(job);
          this.port.send({ type: 'result', id: job.request.id, result });
        } catch (err) {
          this.port.send({ type: 'error', id: job.request.id, error: { ...describeError(err, job.request), ...originalOf(err) } });
        } finally {
          this.current = undefined;
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async run(job: Job): Promise<unknown> {
    const { request, controller } = job;
    const signal = controller.signal;
    if (request.method === 'loadModel') {
      const options: ModelOptions = { ...request.params, modelPath: request.params.modelPath || this.deps.defaultModelPath() };
      const key = stableKey(options);
      if (this.engine && this.engineKey === key) return this.engine.info;
      await this.closeEngine();
      this.engine = await this.deps.openEngine(options, {
        signal,
        onProgress: (progress) => this.port.send({ type: 'progress', id: request.id, progress }),
      });
      this.engineKey = key;
      this.engineOptions = options;
      return this.engine.info;
    }
    if (request.method === 'analyze') {
      if (!this.engine) {
        throw Object.assign(new Error('no model is loaded'), { workerCode: 'no-model' as const });
      }
      if (signal.aborted) throw abortError();
      return this.engine.analyze(recordedPath({ path: request.params.imagePath, pathBase64: request.params.imageBase64 }), request.params.options, {
        signal,
        onProgress: (progress) => this.port.send({ type: 'progress', id: request.id, progress }),
      });
    }
    if (request.method === 'batch') {
      if (!this.engine || !this.engineOptions) {
        throw Object.assign(new Error('no model is loaded'), { workerCode: 'no-model' as const });
      }
      return this.runBatch(request.id, request.params, this.engine, this.engineOptions, signal);
    }
    if (request.method === 'comparePaths') {
      const engine = this.engine;
      if (!engine) throw Object.assign(new Error('no model is loaded'), { workerCode: 'no-model' as const });
      if (!engine.pathJas) throw new Error('this engine cannot compute the JAS of a given path');
      const { a, b } = request.params;
      checkComparable(a, b);
      if (a.model.sha256 !== engine.info.sha256) throw new ComparisonError('the results are of another model than the one loaded; analyse them again');
      const settings = { steps: a.settings.steps, formula: a.settings.formula };
      const aOnB = await engine.pathJas(recordedPath(b.image), a.path.map((p) => p.neuron), { ...settings, target: b.target.class }, signal);
      const bOnA = await engine.pathJas(recordedPath(a.image), b.path.map((p) => p.neuron), { ...settings, target: a.target.class }, signal);
      return comparePaths(a, b, { aOnB, bOnA });
    }
    if (request.method === 'neuronScan') {
      const engine = this.engine;
      if (!engine || !this.engineOptions) {
        throw Object.assign(new Error('no model is loaded'), { workerCode: 'no-model' as const });
      }
      if (!engine.scanNeurons) throw new Error('this engine cannot scan neurons');
      return this.runNeuronScan(request.id, request.params, { info: engine.info, scanNeurons: engine.scanNeurons.bind(engine) }, this.engineOptions, signal);
    }
    if (request.method === 'prune') {
      if (!this.engine) throw Object.assign(new Error('no model is loaded'), { workerCode: 'no-model' as const });
      return this.runPrune(request.id, request.params, this.engine, signal);
    }
    throw new Error(`unknown method ${(request as { method: string }).method}`);
  }

  /** The folder through the engine's folder run (scan, resume, one .jsonl line per image). */
  private async runBatch(id: number, params: BatchParams, engine: EngineLike, modelOptions: ModelOptions, signal: AbortSignal): Promise<BatchRunResult> {
    const summary = await analyzeFolder(engine, {
      folder: params.folder, out: params.out, modelOptions, analyzeOptions: params.options, limit: params.limit, scores: params.scores, signal,
      onProgress: (p) => this.port.send({ type: 'batchProgress', id, progress: batchProgressInfo(p) }),
    });
    const { out, total, resumed, analysed, failed, cancelled, seconds } = summary;
    return { out, total, resumed, analysed, failed, cancelled, seconds };
  }

  /** The neuron scan through the engine's batch runner (same file conventions, resume, progress). */
  private async runNeuronScan(id: number, params: NeuronScanParams, engine: NeuronScanner, modelOptions: ModelOptions, signal: AbortSignal): Promise<BatchRunResult> {
    const summary = await scanFolderNeurons(engine, {
      folder: params.folder, out: params.out, units: params.units, modelOptions, limit: params.limit, signal,
      onProgress: (p) => this.port.send({ type: 'batchProgress', id, progress: batchProgressInfo(p) }),
    });
    const { out, total, resumed, analysed, failed, cancelled, seconds } = summary;
    return { out, total, resumed, analysed, failed, cancelled, seconds };
  }

  /** The pruning protocol on a result file the open model made (its images are read again). */
  private async runPrune(id: number, params: PruneParams, engine: EngineLike, signal: AbortSignal): Promise<PruningCurve> {
    const { scaledProbabilities, readoutActivations } = engine;
    if (!scaledProbabilities || !readoutActivations) throw new Error('this engine cannot run the pruning passes');
    const { records, report } = await loadReports([params.resultFile]);
    if (report.model.sha256 !== engine.info.sha256) {
      throw new Error(`${params.resultFile} was made with another model (${report.model.path}); open that model (neuronPath.modelPath) to run the pruning check`);
    }
    const started = performance.now();
    const pruneEngine: PruneEngine = { info: engine.info, scaledProbabilities: scaledProbabilities.bind(engine), readoutActivations: readoutActivations.bind(engine) };
    return pruningCheck(pruneEngine, records, report.patterns, {
      fractions: params.fractions, keep: params.keep, holdout: params.holdout, layers: params.layers, seed: params.seed,
      labels: engine.info.labels, signal,
      onProgress: (done, total) => {
        const rate = done / Math.max(1e-3, (performance.now() - started) / 1000);
        this.port.send({ type: 'batchProgress', id, progress: { done, total, resumed: 0, analysed: done, failed: 0, rate, etaSeconds: rate > 0 ? (total - done) / rate : undefined } });
      },
    });
  }

  private async runPreview(id: number, params: PreviewParams): Promise<void> {
    try {
      if (!this.deps.preview) throw new Error('image previews are not available in this worker');
      this.port.send({ type: 'result', id, result: await this.deps.preview(params) });
    } catch (err) {
      const fake = { type: 'request', id, method: 'preview', params } as WorkerRequest;
      this.port.send({ type: 'error', id, error: describeError(err, fake) });
    }
  }

  private async closeEngine(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    this.engineKey = undefined;
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

export function batchProgressInfo(p: BatchProgress<BatchLine | NeuronScanLine>): BatchProgressInfo {
  const { done, total, resumed, analysed, failed, rate, etaSeconds } = p;
  return { done, total, resumed, analysed, failed, rate, etaSeconds, latest: p.line ? latestOf(p.line) : undefined };
}

/** The written line without its maps and scores (a record can be megabytes; a progress message stays small). */
function latestOf(line: BatchLine | NeuronScanLine): BatchLatest {
  if (line.schema === ERROR_SCHEMA) return { image: line.image, error: line.error };
  const top = line.prediction.top[0];
  return { image: line.image.path, label: top?.label, probability: top?.probability, jas: 'jas' in line ? line.jas : undefined };
}

/** The engine's error as it was thrown: an EngineError keeps its code and facts (the CLI's batch words and classifies it by them). */
function originalOf(err: unknown): Pick<WorkerErrorInfo, 'original'> {
  if (err instanceof EngineError) return { original: { name: err.name, message: err.message, code: err.code, facts: err.facts } };
  return err instanceof Error ? { original: { name: err.name, message: err.message } } : {};
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
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
  if ((err as { workerCode?: string } | null)?.workerCode === 'no-model') {
    return { code: 'no-model', message: 'No model is loaded in the Neuron Path worker. Run the analysis again; if this repeats, reload the window.', detail };
  }
  const facts: ErrorFacts = err instanceof EngineError ? err.facts : {};
  const said = sentence(text);
  const subject = request.method === 'loadModel' ? `the model ${request.params.modelPath || 'the bundled model'}`
    : request.method === 'batch' || request.method === 'neuronScan' ? `the folder ${request.params.folder}`
      : request.method === 'comparePaths' ? `the paths of ${request.params.a.image.path} and ${request.params.b.image.path}`
      : request.method === 'prune' ? `the result file ${request.params.resultFile}` : `the image ${request.params.imagePath}`;
  const failed: WorkerErrorCode = request.method === 'loadModel' ? 'model-load-failed' : 'analysis-failed';
  // A result file the pruning check cannot read is not one to move away (that advice is for a batch's output).
  if (request.method === 'prune' && code === 'result-file') {
    return { code: 'analysis-failed', message: `The pruning check of ${request.params.resultFile} failed: ${firstLine(text)}.`, detail };
  }
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
    case 'labels':
      return { code: 'model-load-failed', message: `${said} Check "neuronPath.labelsPath", or the model folder's config.json (id2label) or labels.txt.`, detail };
    case 'preprocessing':
      return {
        code: failed, detail,
        message: facts.source === 'overrides' ? `${said} Check "neuronPath.preprocess.${String(facts.field ?? 'size').split(/[.[]/)[0]}".`
          : `${said} Fix the model folder's preprocessor_config.json, or override it with the "neuronPath.preprocess.*" settings.`,
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
      return { code: 'analysis-failed', message: `${said} Move it away, or choose "globalStorage" in "neuronPath.batch.resultLocation".`, detail };
    case 'cache':
      return { code: 'model-load-failed', message: `${said} Check that the extension's storage folder is writable.`, detail };
    case 'method-undefined':
      return { code: 'model-load-failed', message: `Neuron Path cannot analyse ${subject}: ${firstLine(text)}. Run "Neuron Path: Select Model..." to choose another model.`, detail };
    case 'model-format':
    case 'not-a-vit':
    case 'unsupported-op':
      return { code: 'model-load-failed', message: `Could not load ${subject}: ${firstLine(text)}. It must be a vision transformer image classifier exported to ONNX; run "Neuron Path: Select Model..." to choose another.`, detail };
    default:
      if (request.method === 'preview') return { code: 'image-unreadable', message: `Could not render a preview of ${request.params.imagePath}: ${firstLine(text)}.`, detail };
      if (request.method === 'prune') return { code: 'analysis-failed', message: `The pruning check of ${request.params.resultFile} failed: ${firstLine(text)}.`, detail };
      return { code: failed, message: `${request.method === 'loadModel' ? 'Could not load' : 'The analysis of'} ${subject}${request.method === 'loadModel' ? '' : ' failed'}: ${firstLine(text)}. See the "Neuron Path" output for details.`, detail };
  }
}

/** The first line of an error text as a sentence: capitalised, ending with a full stop. */
function sentence(s: string): string {
  const line = firstLine(s).replace(/[.;:\s]+$/, '');
  return `${line.charAt(0).toUpperCase()}${line.slice(1)}.`;
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
