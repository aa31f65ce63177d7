// The messages between the extension host and the engine worker (a child process), and between the
// extension host and the panel's webview. Types and small guards only: no vscode, no onnxruntime, so
// the worker, the host, the webview bundle and the unit tests can all import it.
import type { AnalyzeOptions, ModelInfo, ModelOptions } from './engine/api';
import type { AnalysisResult, LayerProgress } from './engine/result';
import type { PruningCurve } from './engine/batch/prune';
import type { BatchReport } from './engine/batch/report';
import type { NeuronSummary, NeuronUnit } from './engine/neurons/index';
import type { PathComparison } from './engine/pathCompare';

export const PROTOCOL_VERSION = 1;

/** Stable text of a value with sorted object keys: equal options give equal keys. */
export function stableKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// Host <-> worker
// ---------------------------------------------------------------------------------------------

/** `imageBase64`: the path's bytes, for a folder scan's name that is not UTF-8 (`imagePath` is then its text form). */
export interface AnalyzeParams { imagePath: string; imageBase64?: string; options: AnalyzeOptions }
export interface PreviewParams { imagePath: string; maxSize: number }
export interface PreviewResult { dataUri: string; width: number; height: number }

/** Analyze every image of `folder` (ImageFolder or flat) with the open model into the .jsonl `out`, resuming it. */
export interface BatchParams {
  folder: string; out: string; options: AnalyzeOptions; limit?: number;
  /** Scores kept per record: 'top' (default, compact) or 'all'. */
  scores?: 'top' | 'all';
}
/** How a batch run ended (`cancelled`: stopped by `cancel`; what is in `out` stays and is resumed next time). */
export interface BatchRunResult {
  out: string; total: number; resumed: number; analysed: number; failed: number; cancelled: boolean; seconds: number;
}
/** The line a batch run has just written, slimmed down to what a progress line and a live list show. */
export interface BatchLatest {
  image: string;
  error?: string;
  label?: string;             // top-1 label
  probability?: number;       // top-1 probability
  jas?: number;
}
/** A batch run's progress: images done (earlier runs included) of total, rate in images/s, ETA. */
export interface BatchProgressInfo {
  done: number; total: number; resumed: number; analysed: number; failed: number;
  rate: number; etaSeconds?: number;
  latest?: BatchLatest;
}

/** Scan every image of `folder` for `units` (forward only) into the resumable .jsonl `out`. */
export interface NeuronScanParams { folder: string; out: string; units: NeuronUnit[]; limit?: number }

/** Two analyses of the open model, compared (the JAS of each path on the other image is computed). */
export interface CompareParams { a: AnalysisResult; b: AnalysisResult }

/** The pruning protocol (`neuron-path report --prune`) on a batch result file, with the open model. */
export interface PruneParams {
  resultFile: string;
  fractions: number[]; keep: number; holdout: number;
  layers?: number;            // the first N blocks (default all)
  seed?: number;
}

/** Every request the worker answers: its parameters and what a successful answer carries. */
export interface WorkerMethods {
  /** Open (or keep, when the options are unchanged) the model. Replaces any other open model. */
  loadModel: { params: ModelOptions; result: ModelInfo };
  /** Analyze one image with the open model. Sends `progress` messages while it runs. */
  analyze: { params: AnalyzeParams; result: AnalysisResult };
  /** A PNG rendering of an image the webview cannot decode itself (TIFF). Needs no model. */
  preview: { params: PreviewParams; result: PreviewResult };
  /** Analyze a folder with the open model into a resumable .jsonl. Sends `batchProgress` after every image. */
  batch: { params: BatchParams; result: BatchRunResult };
  /** The neuron scan of a folder with the open model into a resumable .jsonl. Sends `batchProgress` after every image. */
  neuronScan: { params: NeuronScanParams; result: BatchRunResult };
  /** Two paths side by side: shared neurons, ranks in the other's scores, JAS on the other image. */
  comparePaths: { params: CompareParams; result: PathComparison };
  /** The pruning protocol on a result file whose records the open model made. Sends `batchProgress` (images passed). */
  prune: { params: PruneParams; result: PruningCurve };
}
export type WorkerMethod = keyof WorkerMethods;
export type ParamsOf<M extends WorkerMethod> = WorkerMethods[M]['params'];
export type ResultOf<M extends WorkerMethod> = WorkerMethods[M]['result'];

export type WorkerRequest = { [M in WorkerMethod]: { type: 'request'; id: number; method: M; params: ParamsOf<M> } }[WorkerMethod];

export type HostToWorker =
  | WorkerRequest
  /** Stop request `id` (between passes); it then answers with an error of code `cancelled`. */
  | { type: 'cancel'; id: number }
  /** Dispose the engine and exit. */
  | { type: 'shutdown' };

export type WorkerErrorCode =
  | 'cancelled'
  | 'model-not-found'
  | 'model-load-failed'
  | 'no-model'
  | 'image-not-found'
  | 'image-unreadable'
  | 'cuda-unavailable'
  | 'analysis-failed'
  | 'bad-request'
  | 'internal';

/** An error as the worker reports it: `message` is for the user and says what to do. */
export interface WorkerErrorInfo {
  code: WorkerErrorCode;
  message: string;
  /** The original error text and stack, for the output channel. */
  detail?: string;
  /** The engine's own error (name, text, and an EngineError's code and facts), for a caller that words it itself (the CLI's batch). */
  original?: { name: string; message: string; code?: string; facts?: Record<string, unknown> };
}

export type WorkerToHost =
  /** Sent once when the worker has started and listens. */
  | { type: 'ready'; pid: number; protocol: number }
  | { type: 'progress'; id: number; progress: LayerProgress }
  | { type: 'batchProgress'; id: number; progress: BatchProgressInfo }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WorkerErrorInfo }
  /** Something outside any request went wrong; the worker exits right after. */
  | { type: 'fatal'; error: WorkerErrorInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

const WORKER_METHODS: readonly string[] = ['loadModel', 'analyze', 'preview', 'batch', 'prune', 'neuronScan', 'comparePaths'] satisfies WorkerMethod[];
const ERROR_CODES: readonly string[] = [
  'cancelled', 'model-not-found', 'model-load-failed', 'no-model', 'image-not-found', 'image-unreadable',
  'cuda-unavailable', 'analysis-failed', 'bad-request', 'internal',
] satisfies WorkerErrorCode[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

export function isWorkerErrorInfo(v: unknown): v is WorkerErrorInfo {
  return isObject(v) && typeof v.code === 'string' && ERROR_CODES.includes(v.code) && typeof v.message === 'string'
    && (v.detail === undefined || typeof v.detail === 'string')
    && (v.original === undefined || (isObject(v.original) && typeof v.original.name === 'string' && typeof v.original.message === 'string'
      && (v.original.code === undefined || typeof v.original.code === 'string') && (v.original.facts === undefined || isObject(v.original.facts))));
}

/** Checks the shape of a message the worker received; the worker answers bad ones with `bad-request`. */
export function isHostToWorker(v: unknown): v is HostToWorker {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'request': return isId(v.id) && typeof v.method === 'string' && WORKER_METHODS.includes(v.method) && isObject(v.params);
    case 'cancel': return isId(v.id);
    case 'shutdown': return true;
    default: return false;
  }
}

/** Checks the shape of a message the host received from the worker. */
export function isWorkerToHost(v: unknown): v is WorkerToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': return typeof v.pid === 'number' && typeof v.protocol === 'number';
    case 'progress': return isId(v.id) && isObject(v.progress) && typeof v.progress.phase === 'string';
    case 'batchProgress': return isId(v.id) && isObject(v.progress) && typeof v.progress.done === 'number' && typeof v.progress.total === 'number';
    case 'result': return isId(v.id) && 'result' in v;
    case 'error': return isId(v.id) && isWorkerErrorInfo(v.error);
    case 'fatal': return isWorkerErrorInfo(v.error);
    case 'log': return typeof v.message === 'string' && (v.level === 'info' || v.level === 'warn' || v.level === 'error');
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors the worker client rejects with (host side; plain classes, no vscode)
// ---------------------------------------------------------------------------------------------

/** The worker answered a request with an error. */
export class WorkerRequestError extends Error {
  override name = 'WorkerRequestError';
  constructor(readonly code: WorkerErrorCode, message: string, readonly detail?: string, readonly original?: WorkerErrorInfo['original']) { super(message); }
}

/** The request was cancelled (by the user, or by a cancellation that had to kill the worker). */
export class CancelledError extends Error {
  override name = 'AbortError';
  readonly code = 'cancelled';
  constructor(message = 'The analysis was cancelled.') { super(message); }
}

/** The worker did not answer (or report progress) in time; it was stopped. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  constructor(readonly method: string, readonly timeoutMs: number) {
    super(`The Neuron Path worker did not answer '${method}' within ${Math.round(timeoutMs / 1000)} s and was stopped. `
      + 'It will be restarted on the next run. A large model on the CPU can be slow: try fewer steps (neuronPath.steps) '
      + 'or a smaller model.');
  }
}

/** The worker process ended while the request was pending. */
export class WorkerExitedError extends Error {
  override name = 'WorkerExitedError';
  constructor(message: string, readonly exitCode: number | null, readonly signal: string | null, readonly crashed: boolean) {
    super(message);
  }
}

/** Where an analysis stands, in percent, from its progress message. */
export function progressPercent(p: LayerProgress): number {
  switch (p.phase) {
    case 'load': return 2;
    case 'clean': return 5;
    case 'layer': {
      const layers = p.layers ?? 0;
      const done = p.partialPath?.length ?? (p.layer !== undefined ? p.layer + 1 : 0);
      return layers > 0 ? 5 + (80 * Math.min(done, layers)) / layers : 5;
    }
    case 'jas': return 87;
    case 'baselines': return 92;
    case 'manipulation': return 97;
    default: return 0;
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'cancelled');
}

// ---------------------------------------------------------------------------------------------
// Host <-> webview (the analysis panel)
// ---------------------------------------------------------------------------------------------

export type TargetChoice = number | 'predicted';

/** What the panel needs to draw itself from scratch (sent after the webview's `ready`). */
export interface PanelInit {
  imagePath: string;
  imageUri: string;          // asWebviewUri of the image
  fileName: string;
  modelName: string;
  labels?: string[];         // every class label, when the model has been loaded in this session
  target: TargetChoice;      // what the next run explains
  result?: AnalysisResult;   // the last result (cached or finished)
  cached?: boolean;
  /** An analysis in progress: its id and the progress so far. */
  running?: { runId: number; progress?: LayerProgress };
  error?: string;
}

export type HostToWebview =
  | { type: 'init'; init: PanelInit }
  | { type: 'runStarted'; runId: number; target: TargetChoice }
  | { type: 'progress'; runId: number; progress: LayerProgress }
  | { type: 'result'; runId: number; result: AnalysisResult; cached: boolean }
  | { type: 'runFailed'; runId: number; message: string; cancelled: boolean }
  | { type: 'labels'; labels: string[] }
  | { type: 'preview'; dataUri: string };

export type ExportRequest =
  | { format: 'json' }
  | { format: 'csv' }
  | { format: 'png'; name: string; dataUrl: string };

export type WebviewToHost =
  /** The webview has loaded and listens (posted last by the script). */
  | { type: 'ready' }
  /** Run (or re-run) the analysis explaining `target`. */
  | { type: 'analyze'; target: TargetChoice }
  | { type: 'cancel' }
  | { type: 'export'; request: ExportRequest }
  | { type: 'openSettings' }
  /** The image could not be shown (TIFF...): ask for a PNG rendering. */
  | { type: 'imageError' }
  /** Open the neuron view of a path neuron (what excites it, over the image's folder). */
  | { type: 'neuronView'; layer: number; neuron: number }
  /** Compare this image's path with another analysed image's. */
  | { type: 'compare' };

/** Checks a message from the webview (whose content is not trusted). */
export function isWebviewToHost(v: unknown): v is WebviewToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': case 'cancel': case 'openSettings': case 'imageError': case 'compare': return true;
    case 'analyze': return isTargetChoice(v.target);
    case 'neuronView': return isIndex(v.layer) && isIndex(v.neuron);
    case 'export': {
      const r = v.request;
      if (!isObject(r)) return false;
      if (r.format === 'json' || r.format === 'csv') return true;
      return r.format === 'png' && typeof r.name === 'string' && typeof r.dataUrl === 'string'
        && r.dataUrl.startsWith('data:image/png;base64,');
    }
    default: return false;
  }
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function isTargetChoice(v: unknown): v is TargetChoice {
  return v === 'predicted' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

/** The state the webview keeps with `setState`, which the panel serializer gets back after a reload. */
export interface PanelPersistedState {
  imagePath: string;
  target?: TargetChoice;
  selectedLayer?: number;
  overlayOpacity?: number;
  showOverlay?: boolean;
}

/**
 * Checks state the page saved, like any message from it: the page is not trusted, and the state
 * decides what the revived panel reads (the image, and the folder its resource root opens).
 */
export function isPanelPersistedState(v: unknown): v is PanelPersistedState {
  return isObject(v) && isLocalPath(v.imagePath) && /\.(png|jpe?g|webp|gif|tiff?|avif)$/i.test(v.imagePath)
    && (v.target === undefined || isTargetChoice(v.target))
    && (v.selectedLayer === undefined || (typeof v.selectedLayer === 'number' && Number.isInteger(v.selectedLayer) && v.selectedLayer >= 0 && v.selectedLayer < 10_000))
    && (v.overlayOpacity === undefined || (typeof v.overlayOpacity === 'number' && v.overlayOpacity >= 0 && v.overlayOpacity <= 1))
    && (v.showOverlay === undefined || typeof v.showOverlay === 'boolean');
}

/** An absolute local path of sane length without control characters (POSIX or Windows). */
export function isLocalPath(v: unknown): v is string {
  return typeof v === 'string' && v.length > 1 && v.length <= 4096 && /^(\/|[A-Za-z]:[\\/])/.test(v)
    && !/[\u0000-\u001f\u007f]/.test(v) && !/(^|[\\/])\.\.([\\/]|$)/.test(v);
}

// ---------------------------------------------------------------------------------------------
// Host <-> webview (the folder panel: a batch result file, live while its batch runs)
// ---------------------------------------------------------------------------------------------

/** What the folder panel draws from scratch (sent after the webview's `ready`). */
export interface FolderInit {
  resultFile: string;
  folder?: string;              // the analysed folder, when known
  title: string;
  report?: BatchReport;         // the summary of the result file (absent while it holds no record yet)
  /** Lines of the file that could not be read, and why (1-based line numbers). */
  skipped?: { line: number; reason: string }[];
  running?: BatchProgressInfo;  // the batch filling the file, when one runs
  error?: string;
}

export type HostToFolderWebview =
  | { type: 'init'; init: FolderInit }
  | { type: 'report'; report: BatchReport; skipped: { line: number; reason: string }[] }
  | { type: 'batchProgress'; progress: BatchProgressInfo }
  | { type: 'batchDone'; result?: BatchRunResult; message?: string; cancelled: boolean }
  | { type: 'pruneProgress'; done: number; total: number }
  /** The pruning curve, or why there is none (`cancelled`: stopped by the user). */
  | { type: 'pruneDone'; curve?: PruningCurve; message?: string; cancelled: boolean };

/** What the folder panel's pruning form asks for (the file is the panel's own). */
export type PruneRequest = Omit<PruneParams, 'resultFile'>;

export type FolderWebviewToHost =
  | { type: 'ready' }
  /** Open the image panel (and run the single-image analysis) for an image of the report. */
  | { type: 'openImage'; image: string }
  | { type: 'cancel' }
  /** Run (or resume) the batch of the panel's folder. */
  | { type: 'resume' }
  /** Open the neuron view of a heatmap cell's neuron over the panel's folder. */
  | { type: 'neuronView'; layer: number; neuron: number }

  /** Run the pruning protocol on the panel's result file; `cancelPrune` stops it. */
  | { type: 'prune'; request: PruneRequest }
  | { type: 'cancelPrune' };

export function isPruneRequest(v: unknown): v is PruneRequest {
  const fraction = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  const int = (x: unknown, min: number) => typeof x === 'number' && Number.isInteger(x) && x >= min;
  return isObject(v) && Array.isArray(v.fractions) && v.fractions.length > 0 && v.fractions.length <= 20 && v.fractions.every(fraction)
    && int(v.keep, 0) && typeof v.holdout === 'number' && v.holdout >= 0 && v.holdout < 1
    && (v.layers === undefined || int(v.layers, 1)) && (v.seed === undefined || int(v.seed, 0));
}

export function isFolderWebviewToHost(v: unknown): v is FolderWebviewToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': case 'cancel': case 'resume': case 'cancelPrune': return true;
    case 'prune': return isPruneRequest(v.request);
    case 'openImage': return typeof v.image === 'string' && v.image.length > 0;
    case 'neuronView': return isIndex(v.layer) && isIndex(v.neuron);
    default: return false;
  }
}

/** The folder panel's persisted state (for its serializer). */
export interface FolderPersistedState { resultFile: string; folder?: string; selectedClass?: string }

export function isFolderPersistedState(v: unknown): v is FolderPersistedState {
  return isObject(v) && isLocalPath(v.resultFile) && v.resultFile.endsWith('.jsonl') && (v.folder === undefined || isLocalPath(v.folder))
    && (v.selectedClass === undefined || (typeof v.selectedClass === 'string' && v.selectedClass.length <= 1000));
}

// ---------------------------------------------------------------------------------------------
// Host <-> webview (the neuron view: what one neuron responds to over a folder, live while it is scanned)
// ---------------------------------------------------------------------------------------------

export interface NeuronInit {
  folder: string;
  resultFile: string;            // the scan's .jsonl
  layer: number;
  neuron: number;
  title: string;
  summary?: NeuronSummary;       // absent while the file holds no scanned image yet
  imageUris?: Record<string, string>;  // webview URIs of the summary's top images
  pathsFile?: string;            // the folder analysis the "on paths" frequencies come from
  running?: BatchProgressInfo;
  error?: string;
}

export type HostToNeuronWebview =
  | { type: 'init'; init: NeuronInit }
  | { type: 'summary'; summary: NeuronSummary; imageUris: Record<string, string>; pathsFile?: string }
  | { type: 'batchProgress'; progress: BatchProgressInfo }
  | { type: 'batchDone'; result?: BatchRunResult; message?: string; cancelled: boolean };

export type NeuronWebviewToHost =
  | { type: 'ready' }
  /** Open the image panel of one of the top images. */
  | { type: 'openImage'; image: string }
  | { type: 'cancel' }
  /** Scan (or resume scanning) the folder. */
  | { type: 'resume' };

export function isNeuronWebviewToHost(v: unknown): v is NeuronWebviewToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': case 'cancel': case 'resume': return true;
    case 'openImage': return typeof v.image === 'string' && v.image.length > 0;
    default: return false;
  }
}

/** The neuron view's persisted state (for its serializer). */
export interface NeuronPersistedState { folder: string; layer: number; neuron: number }

export function isNeuronPersistedState(v: unknown): v is NeuronPersistedState {
  return isObject(v) && typeof v.folder === 'string' && v.folder.length > 0 && isIndex(v.layer) && isIndex(v.neuron);
}

// ---------------------------------------------------------------------------------------------
// Host <-> webview (the comparison of two images' paths)
// ---------------------------------------------------------------------------------------------

export interface CompareSide { image: string; imageUri: string; fileName: string }

export interface CompareInit {
  a: CompareSide;
  b: CompareSide;
  comparison?: PathComparison;   // absent while the cross JAS is computed
  error?: string;
}

export type HostToCompareWebview =
  | { type: 'init'; init: CompareInit }
  | { type: 'comparison'; comparison: PathComparison }
  | { type: 'failed'; message: string };

export type CompareWebviewToHost =
  | { type: 'ready' }
  /** Open the image panel of side a or b. */
  | { type: 'openImage'; side: 'a' | 'b' };

export function isCompareWebviewToHost(v: unknown): v is CompareWebviewToHost {
  if (!isObject(v)) return false;
  return v.type === 'ready' || (v.type === 'openImage' && (v.side === 'a' || v.side === 'b'));
}

/** What a panel's `init` says of its folder run: its last progress, or a run that has not reported yet. */
export function runningProgress(run: { progress?: BatchProgressInfo } | undefined): BatchProgressInfo | undefined {
  return run?.progress ?? (run ? { done: 0, total: 0, resumed: 0, analysed: 0, failed: 0, rate: 0 } : undefined);
}

/** "123/1000 images, 4.2 img/s, 3 min left": a batch progress line. */
export function batchProgressText(p: BatchProgressInfo): string {
  const parts = [`${p.done}/${p.total} images`];
  if (p.rate > 0) parts.push(`${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(1)} img/s`);
  if (p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) && p.done < p.total) parts.push(`${durationText(p.etaSeconds)} left`);
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  return parts.join(', ');
}

/** A message that failed its guard, shortened for a log line (it may be anything, even circular). */
export function safeJson(v: unknown, max = 500): string {
  try { return JSON.stringify(v)?.slice(0, max) ?? String(v); } catch { return String(v); }
}

export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
