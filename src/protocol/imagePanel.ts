// The messages between the extension host and the image panel's page (one image's analysis), and
// the state the page saves. The page is not trusted: every message from it passes its guard.
import type { AnalysisResult, BaselineName, LayerProgress } from '../engine/result';
import type { Intervention, InterventionResult } from '../engine/intervene';
import type { ClassEffect } from '../engine/interveneFolder';
import { isImageFileName } from '../engine/options';
import type { BatchProgressInfo, BatchRunResult } from '../operations/progress';
import { isCopyRequest, isId, isIndex, isLocalPath, isObject, type CopyRequest } from './guards';
import { isIntervention } from './intervention';
import { isNeuronRefs, type NeuronRef, type ThumbnailStatus } from './thumbnails';

export type TargetChoice = number | 'predicted';

/** What the panel needs to draw itself from scratch (sent after the webview's `ready`). */
export interface ImageInit {
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
  /** The last progress of a run cancelled before its path was complete: the path so far (partial). */
  cancelled?: LayerProgress;
  /** The baselines the settings ask for: a result without some of them offers to compute them. */
  wantedBaselines?: BaselineName[];
  /** The fast preset is on for the next run (8 Gauss-Legendre steps: not the paper's setting). */
  fast?: boolean;
  error?: string;
}

export type HostToImageWebview =
  | { type: 'init'; init: ImageInit }
  /** `baselines`: what the run computes after the path ([]: none, or the path is reused and only they run). */
  | { type: 'runStarted'; runId: number; target: TargetChoice; baselines?: BaselineName[]; reusesPath?: boolean }
  | { type: 'progress'; runId: number; progress: LayerProgress }
  /** `baselinesCancelled`: the run was cancelled (or its baselines skipped) after the path: the result has the path only. */
  | { type: 'result'; runId: number; result: AnalysisResult; cached: boolean; baselinesCancelled?: boolean }
  | { type: 'runFailed'; runId: number; message: string; cancelled: boolean }
  | { type: 'labels'; labels: string[] }
  | { type: 'preview'; dataUri: string }
  /** The path cards' feature-visualization thumbnails, and the computation of the missing ones. */
  | { type: 'thumbnails'; status: ThumbnailStatus }
  /** The answer to the page's `intervene` of the same id (a newer request cancels an older one, which gets no answer). */
  | { type: 'intervention'; requestId: number; result?: LiveIntervention; error?: string }
  | { type: 'folderIntervention'; run: FolderIntervention }
  /** "Export edited model...": written (`out`), or why not. */
  | { type: 'editedModel'; out?: string; error?: string };

/** What the Intervene section shows of one setting: both top-5 lists and the target before and after. */
export type LiveIntervention = Pick<InterventionResult, 'before' | 'after' | 'target' | 'top1After' | 'settings' | 'rows'>;

/** The folder run of an intervention: running (with its progress), done (per class before and after), or failed. */
export type FolderIntervention =
  | { state: 'running'; folder: string; progress?: BatchProgressInfo }
  | { state: 'done'; folder: string; intervention: Intervention; run: BatchRunResult; effects: { classes: ClassEffect[]; all: ClassEffect } | null }
  | { state: 'failed'; folder: string; message: string };

export type ExportRequest =
  | { format: 'json' }
  | { format: 'csv' }
  | { format: 'png'; name: string; dataUrl: string };

export type ImageWebviewToHost =
  /** The webview has loaded and listens (posted last by the script). */
  | { type: 'ready' }
  /** Run (or re-run) the analysis explaining `target`. */
  | { type: 'analyze'; target: TargetChoice }
  | { type: 'cancel' }
  /** Stop the running analysis once its path is complete (at once if it is): a result without baselines. */
  | { type: 'skipBaselines' }
  /** Compute the baselines the shown result lacks, reusing its path. */
  | { type: 'runBaselines' }
  | { type: 'export'; request: ExportRequest }
  | { type: 'openSettings' }
  /** The image could not be shown (TIFF...): ask for a PNG rendering. */
  | { type: 'imageError' }
  /** Open the neuron view of a path neuron (what excites it, over the image's folder). */
  | { type: 'neuronView'; layer: number; neuron: number }
  /** Compare this image's path with another analysed image's. */
  | { type: 'compare' }
  /** Compute the feature visualizations these path neurons lack (thumbnails on their cards); stop that. */
  | { type: 'visualizeNeurons'; neurons: NeuronRef[] }
  | { type: 'cancelVisualizeNeurons' }
  /** Turn the fast preset (setting neuronPath.fast) on or off for the next runs. */
  | { type: 'setFast'; fast: boolean }
  | CopyRequest
  /** The top-5 with these neurons set (answered by `intervention` of the same id). */
  | { type: 'intervene'; requestId: number; intervention: Intervention }
  /** Run the intervention over a folder the user picks (resumable), or stop the one running. */
  | { type: 'interveneFolder'; intervention: Intervention }
  | { type: 'cancelInterveneFolder' }
  /** Save the model with the intervention built in. */
  | { type: 'exportEdited'; intervention: Intervention };

/** Checks a message from the webview (whose content is not trusted). */
export function isImageWebviewToHost(v: unknown): v is ImageWebviewToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': case 'cancel': case 'skipBaselines': case 'runBaselines': case 'openSettings': case 'imageError': case 'compare': case 'cancelVisualizeNeurons': case 'cancelInterveneFolder': return true;
    case 'visualizeNeurons': return isNeuronRefs(v.neurons);
    case 'intervene': return isId(v.requestId) && isIntervention(v.intervention) && v.intervention.settings.length > 0;
    case 'interveneFolder': case 'exportEdited': return isIntervention(v.intervention) && v.intervention.settings.length > 0;
    case 'analyze': return isTargetChoice(v.target);
    case 'neuronView': return isIndex(v.layer) && isIndex(v.neuron);
    case 'copy': return isCopyRequest(v);
    case 'setFast': return typeof v.fast === 'boolean';
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

export function isTargetChoice(v: unknown): v is TargetChoice {
  return v === 'predicted' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

/** The state the webview keeps with `setState`, which the panel serializer gets back after a reload. */
export interface ImagePersistedState {
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
export function isImagePersistedState(v: unknown): v is ImagePersistedState {
  return isObject(v) && isLocalPath(v.imagePath) && isImageFileName(v.imagePath)
    && (v.target === undefined || isTargetChoice(v.target))
    && (v.selectedLayer === undefined || (typeof v.selectedLayer === 'number' && Number.isInteger(v.selectedLayer) && v.selectedLayer >= 0 && v.selectedLayer < 10_000))
    && (v.overlayOpacity === undefined || (typeof v.overlayOpacity === 'number' && v.overlayOpacity >= 0 && v.overlayOpacity <= 1))
    && (v.showOverlay === undefined || typeof v.showOverlay === 'boolean');
}
