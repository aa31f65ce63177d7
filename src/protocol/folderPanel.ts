// The messages between the extension host and the folder panel's page (a folder's result file, live
// while its run appends to it), and the state the page saves.
import type { BatchReport } from '../engine/batch/report';
import type { PruningCurve } from '../engine/batch/prune';
import type { BatchProgressInfo, BatchRunResult } from '../operations/progress';
import { isIndex, isLocalPath, isObject } from './guards';
import { isNeuronRefs, type NeuronRef, type ThumbnailStatus } from './thumbnails';

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
  bundledModelPath?: string;    // the bundled model's file, which the page names "bundled model"
}

export type HostToFolderWebview =
  | { type: 'init'; init: FolderInit }
  | { type: 'report'; report: BatchReport; skipped: { line: number; reason: string }[] }
  | { type: 'batchProgress'; progress: BatchProgressInfo }
  | { type: 'batchDone'; result?: BatchRunResult; message?: string; cancelled: boolean }
  | { type: 'pruneProgress'; done: number; total: number }
  /** The pruning curve, or why there is none (`cancelled`: stopped by the user). */
  | { type: 'pruneDone'; curve?: PruningCurve; message?: string; cancelled: boolean }
  /** The heatmap cells' feature-visualization thumbnails, and the computation of the missing ones. */
  | { type: 'thumbnails'; status: ThumbnailStatus };

/** What the folder panel's pruning form asks for (the file is the panel's own). */
export interface PruneRequest {
  fractions: number[]; keep: number; holdout: number;
  layers?: number;            // the first N blocks (default all)
  seed?: number;
}

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
  | { type: 'cancelPrune' }
  /** The heatmap cells the page shows (the host answers with their cached thumbnails). */
  | { type: 'showNeurons'; neurons: NeuronRef[] }
  /** Compute the feature visualizations these heatmap neurons lack; stop that. */
  | { type: 'visualizeNeurons'; neurons: NeuronRef[] }
  | { type: 'cancelVisualizeNeurons' };

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
    case 'ready': case 'cancel': case 'resume': case 'cancelPrune': case 'cancelVisualizeNeurons': return true;
    case 'showNeurons': case 'visualizeNeurons': return isNeuronRefs(v.neurons);
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
