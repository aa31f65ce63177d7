// The messages between the extension host and the neuron view's page (what one neuron responds to
// over a folder, live while the folder is scanned), and the state the page saves.
import type { NeuronSummary } from '../engine/neurons/summary';
import type { FfnNodes } from '../engine/result';
import type { BatchProgressInfo, BatchRunResult } from '../operations/progress';
import { isCopyRequest, isIndex, isLocalPath, isObject, type CopyRequest } from './guards';

/** The neuron's feature visualization as the page shows it (computed in the worker, cached by the host). */
export interface NeuronVisualization {
  uri: string;                   // webview URI of the PNG
  activation: number;            // the neuron's activation at the readout on that PNG, read back
  steps: number;
  seed: number;
  seconds: number;               // how long it took when it was computed
}

/** Where the page's visualization stands: running with its step, shown, or failed. */
export interface VisualizationStatus {
  running: boolean;
  step?: number;
  steps?: number;
  visualization?: NeuronVisualization;
  error?: string;
}

/** Where the neuron lives in the ONNX graph: its block's FFN nodes, from the model that scanned it (absent until it is loaded). */
export interface NeuronLocation { nodes: FfnNodes; gated: boolean }

export interface NeuronInit {
  folder: string;
  resultFile: string;            // the scan's .jsonl
  layer: number;
  neuron: number;
  title: string;
  summary?: NeuronSummary;       // absent while the file holds no scanned image yet
  imageUris?: Record<string, string>;  // webview URIs of the summary's top images
  pathsFile?: string;            // the folder analysis the "on paths" frequencies come from
  location?: NeuronLocation;
  running?: BatchProgressInfo;
  /** Images of the folder the scan file lacks, when no scan runs: the last scan's, else counted (absent: not known). */
  left?: number;
  error?: string;
  visualization?: VisualizationStatus;
}

export type HostToNeuronWebview =
  | { type: 'init'; init: NeuronInit }
  | { type: 'summary'; summary: NeuronSummary; imageUris: Record<string, string>; pathsFile?: string; location?: NeuronLocation; left?: number }
  | { type: 'batchProgress'; progress: BatchProgressInfo }
  | { type: 'batchDone'; result?: BatchRunResult; message?: string; cancelled: boolean }
  | { type: 'visualization'; status: VisualizationStatus };

export type NeuronWebviewToHost =
  | { type: 'ready' }
  /** Open the image panel of one of the top images. */
  | { type: 'openImage'; image: string }
  | { type: 'cancel' }
  /** Scan (or resume scanning) the folder. */
  | { type: 'resume' }
  /** Compute (or show the cached) feature visualization of the neuron; stop it. */
  | { type: 'visualize' }
  | { type: 'cancelVisualization' }
  | CopyRequest;

export function isNeuronWebviewToHost(v: unknown): v is NeuronWebviewToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': case 'cancel': case 'resume': case 'visualize': case 'cancelVisualization': return true;
    case 'openImage': return typeof v.image === 'string' && v.image.length > 0;
    case 'copy': return isCopyRequest(v);
    default: return false;
  }
}

/** The neuron view's persisted state (for its serializer). */
export interface NeuronPersistedState { folder: string; layer: number; neuron: number }

export function isNeuronPersistedState(v: unknown): v is NeuronPersistedState {
  return isObject(v) && isLocalPath(v.folder) && isIndex(v.layer) && isIndex(v.neuron);
}
