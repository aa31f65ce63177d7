// The panel's state and how messages and user actions change it. Pure (no DOM), so it is unit tested.
import type { AnalysisResult, BaselineName, ClassProbability, LayerProgress, PathNeuron } from '../src/engine/result';
import { knownLabel, placeholderName } from '../src/engine/classNames';
import type { MethodRow } from '../src/engine/methods';
import { missingBaselines } from '../src/engine/options';
import { rankOrder } from '../src/engine/rank';
import type { HostToImageWebview, ImageInit, ImagePersistedState, TargetChoice } from '../src/protocol/imagePanel';
import { initialIntervene, reduceIntervene, type InterveneAction, type InterveneState } from './interveneState';
import type { ThumbnailStatus } from '../src/protocol/thumbnails';

export type ImageStatus = 'empty' | 'running' | 'done' | 'error' | 'cancelled';

export interface ImageState {
  imagePath: string;
  imageUri: string;
  previewUri?: string;          // PNG rendering when the webview cannot show the image itself
  fileName: string;
  modelName: string;
  labels?: string[];
  target: TargetChoice;
  status: ImageStatus;
  runId?: number;
  progress?: LayerProgress;
  /** What the running analysis computes after its path (skipping them is offered), and whether it reuses a shown path. */
  runBaselines: BaselineName[];
  reusesPath: boolean;
  /** A run cancelled before its path was complete: its last progress (prediction, layers); `path` is then the path so far. */
  partial?: LayerProgress;
  /** The shown result had its baselines cancelled or skipped (it is complete without them). */
  baselinesCancelled: boolean;
  /** The baselines the settings ask for. */
  wantedBaselines: BaselineName[];
  /** The fast preset is on for the next run. */
  fast: boolean;
  /** The path so far while running; the result's path when done. */
  path: PathNeuron[];
  layers?: number;
  result?: AnalysisResult;
  cached: boolean;
  message?: string;             // error or cancellation text
  selectedLayer: number;
  /** While running, the selection follows the newest layer until the user picks one. */
  followLive: boolean;
  showOverlay: boolean;
  overlayOpacity: number;
  /** The Intervene section (interveneState.ts). */
  intervene: InterveneState;
  /** The path cards' feature-visualization thumbnails (sent by the host). */
  thumbnails: ThumbnailStatus;
}

export type ImageAction =
  | Exclude<HostToImageWebview, InterveneAction>
  | InterveneAction
  | { type: 'selectLayer'; layer: number }
  | { type: 'setTarget'; target: TargetChoice }
  | { type: 'setOverlay'; show?: boolean; opacity?: number };

export function initialImageState(persisted?: Partial<ImagePersistedState>): ImageState {
  return {
    imagePath: persisted?.imagePath ?? '',
    imageUri: '',
    fileName: '',
    modelName: '',
    target: persisted?.target ?? 'predicted',
    status: 'empty',
    path: [],
    runBaselines: [],
    reusesPath: false,
    baselinesCancelled: false,
    wantedBaselines: [],
    fast: false,
    cached: false,
    selectedLayer: persisted?.selectedLayer ?? 0,
    followLive: true,
    showOverlay: persisted?.showOverlay ?? true,
    overlayOpacity: clamp(persisted?.overlayOpacity ?? 0.5, 0, 1),
    intervene: initialIntervene(),
    thumbnails: { uris: {} },
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;
}

function clampLayer(layer: number, count: number): number {
  return count > 0 ? Math.min(Math.max(0, Math.trunc(layer)), count - 1) : 0;
}

function fromInit(prev: ImageState, init: ImageInit): ImageState {
  const base: ImageState = {
    ...prev,
    imagePath: init.imagePath,
    imageUri: init.imageUri,
    previewUri: prev.imagePath === init.imagePath ? prev.previewUri : undefined,
    fileName: init.fileName,
    modelName: init.modelName,
    labels: init.labels ?? prev.labels,
    target: init.target,
    cached: init.cached ?? false,
    result: init.result,
    message: init.error,
    progress: undefined,
    runId: undefined,
    partial: undefined,
    wantedBaselines: init.wantedBaselines ?? prev.wantedBaselines,
    fast: init.fast ?? prev.fast,
  };
  if (init.running) {
    const p = init.running.progress;
    const path = p?.partialPath ?? [];
    return {
      ...base,
      status: 'running',
      runId: init.running.runId,
      progress: p,
      path,
      layers: p?.layers ?? init.result?.model.layers,
      message: undefined,
      selectedLayer: prev.followLive ? Math.max(0, path.length - 1) : prev.selectedLayer,
    };
  }
  if (init.cancelled?.partialPath?.length) {
    const path = init.cancelled.partialPath;
    return { ...base, status: 'cancelled', partial: init.cancelled, path, layers: init.cancelled.layers, result: undefined, selectedLayer: clampLayer(prev.selectedLayer, path.length) };
  }
  if (init.result) {
    return { ...base, status: 'done', path: init.result.path, layers: init.result.model.layers, selectedLayer: clampLayer(prev.selectedLayer, init.result.path.length) };
  }
  return { ...base, status: init.error ? 'error' : 'empty', path: [], layers: undefined };
}

export function reduceImage(state: ImageState, action: ImageAction): ImageState {
  switch (action.type) {
    case 'init': return fromInit(state, action.init);

    case 'runStarted':
      // A run that reuses the shown path (its baselines computed later) keeps showing it.
      if (action.reusesPath && state.result) {
        return { ...state, status: 'running', runId: action.runId, progress: undefined, runBaselines: action.baselines ?? [], reusesPath: true, partial: undefined, message: undefined };
      }
      return {
        ...state, status: 'running', runId: action.runId, target: action.target, progress: undefined,
        runBaselines: action.baselines ?? [], reusesPath: false, partial: undefined, baselinesCancelled: false,
        wantedBaselines: action.baselines ?? state.wantedBaselines,
        path: [], message: undefined, followLive: true, selectedLayer: 0,
      };

    case 'progress': {
      if (action.runId !== state.runId || state.status !== 'running') return state;
      const p = action.progress;
      // The partial path only grows; a progress message without one keeps what we have.
      const path = p.partialPath && p.partialPath.length >= state.path.length ? p.partialPath : state.path;
      const grown = path.length > state.path.length;
      return {
        ...state,
        progress: p,
        path,
        layers: p.layers ?? state.layers,
        selectedLayer: state.followLive && grown ? path.length - 1 : state.selectedLayer,
      };
    }

    case 'result': {
      if (state.runId !== undefined && action.runId !== state.runId) return state;
      const r = action.result;
      return {
        ...state,
        status: 'done', runId: undefined, progress: undefined, result: r, cached: action.cached,
        baselinesCancelled: action.baselinesCancelled ?? false, reusesPath: false, partial: undefined,
        path: r.path, layers: r.model.layers, message: undefined,
        target: r.settings.target,
        selectedLayer: state.followLive ? bestLayerToShow(state, r) : clampLayer(state.selectedLayer, r.path.length),
        followLive: false,
      };
    }

    case 'runFailed': {
      if (action.runId !== state.runId) return state;
      // Cancelled while the path grew: what was found stays on screen, marked partial.
      if (action.cancelled && !state.reusesPath && state.path.length > 0) {
        return {
          ...state, status: 'cancelled', runId: undefined, message: action.message, result: undefined, cached: false,
          partial: { ...(state.progress ?? { phase: 'layer', message: '' }), partialPath: state.path, layers: state.layers },
          progress: undefined, followLive: false, selectedLayer: clampLayer(state.selectedLayer, state.path.length),
        };
      }
      // Back to the last complete result, if any; the message says what happened.
      const r = state.result;
      return {
        ...state,
        status: action.cancelled ? 'cancelled' : 'error', runId: undefined, progress: undefined, message: action.message, reusesPath: false,
        path: r?.path ?? [], layers: r?.model.layers,
        target: r ? r.settings.target : state.target,
        selectedLayer: clampLayer(state.selectedLayer, r?.path.length ?? 0),
        followLive: false,
      };
    }

    case 'labels': return { ...state, labels: action.labels };
    case 'preview': return { ...state, previewUri: action.dataUri };
    case 'thumbnails': return { ...state, thumbnails: action.status };

    case 'selectLayer': {
      const count = state.path.length;
      if (count === 0) return state;
      return { ...state, selectedLayer: clampLayer(action.layer, count), followLive: false };
    }
    case 'setTarget': return { ...state, target: action.target };
    case 'setOverlay':
      return {
        ...state,
        showOverlay: action.show ?? state.showOverlay,
        overlayOpacity: action.opacity === undefined ? state.overlayOpacity : clamp(action.opacity, 0, 1),
      };
    default: {
      const intervene = reduceIntervene(state.intervene, action);
      return intervene === state.intervene ? state : { ...state, intervene };
    }
  }
}

function bestLayerToShow(state: ImageState, r: AnalysisResult): number {
  // After a live run the last layer was selected; keep it (clamped) so the view does not jump.
  return clampLayer(state.path.length > 0 ? state.selectedLayer : r.path.length - 1, r.path.length);
}

export function persistedImage(state: ImageState): ImagePersistedState {
  return {
    imagePath: state.imagePath,
    target: state.target,
    selectedLayer: state.selectedLayer,
    overlayOpacity: state.overlayOpacity,
    showOverlay: state.showOverlay,
  };
}

// ---------------------------------------------------------------------------------------------
// Derived data for the views (pure)
// ---------------------------------------------------------------------------------------------

export interface RankedNeuron { rank: number; neuron: number; score: number }

/** Every neuron of a layer in the engine's rank order (rank.ts), with its 0-based place. */
export function rankLayer(scores: readonly number[]): RankedNeuron[] {
  return rankOrder(scores).map((neuron, rank) => ({ rank, neuron, score: scores[neuron] }));
}

/** A method's name in the image panel's table and charts (its numbers: the engine's methodRows). */
export function methodName(row: MethodRow): string {
  switch (row.key) {
    case 'path': return 'Neuron path (JAS)';
    case 'topk': return `Top-${row.k} path (all ${row.k} per layer)`;
    case 'activation': return 'Activation';
    case 'ig': return 'Per-layer IG';
    case 'ip': return 'Influence pattern';
    case 'random': return `Random (${row.paths} paths)`;
  }
}

/**
 * The top classes to list and the class marked as explained: while a run goes, the new clean pass's
 * as soon as it is done (before the path); otherwise the result's.
 */
export function shownPrediction(s: Pick<ImageState, 'status' | 'progress' | 'result' | 'partial'>): { top: ClassProbability[]; targetClass: number } | undefined {
  const live = s.status === 'running' ? s.progress?.prediction : s.status === 'cancelled' ? s.partial?.prediction : undefined;
  if (live) return { top: live.top, targetClass: live.target.class };
  return s.result ? { top: s.result.prediction.top, targetClass: s.result.target.class } : undefined;
}

/** The baselines the shown result lacks that the settings ask for (offered to compute, reusing its path). */
export function baselinesToAdd(s: Pick<ImageState, 'status' | 'result' | 'wantedBaselines'>): BaselineName[] {
  return s.status === 'done' && s.result ? missingBaselines(s.result, s.wantedBaselines) : [];
}

/** The label of class `c`, from the model's labels or the result's top classes and target. */
export function classLabel(state: Pick<ImageState, 'labels' | 'result'>, c: number): string {
  return knownLabel(c, state.labels, state.result) ?? placeholderName(c);
}

/** How many classes the target picker offers. */
export function classCount(state: Pick<ImageState, 'labels' | 'result'>): number {
  return state.labels?.length ?? state.result?.model.numClasses ?? 0;
}

// The number formats are shared with the folder panel and the CLI (src/format.ts).
export { formatNumber as fmt, formatPercent as pct, formatSigned as fmtSigned } from '../src/format';
