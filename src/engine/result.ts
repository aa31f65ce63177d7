// The `neuron-path/1` record: what one analysis of one image produces. The CLI writes it as JSON,
// the worker sends it to the extension host, the panel draws it, batch runs append it as a line.

import type { ClassNameSource } from './classNames';
import type { Preprocessing } from './preprocessing';
export type Formula = 'reference' | 'paper';
/** The integration rule of the m steps (docs/method.md#the-integration-rule); left is the paper's. */
export type Rule = 'left' | 'midpoint' | 'gauss';
export type BaselineName = 'activation' | 'ig' | 'ip' | 'random';

/** Where a block's neurons live in the ONNX graph: node names (an unnamed node by its output), as Netron shows them. */
export interface FfnNodes {
  fc2: string;                     // the output projection: the neurons are its input
  linears: string[];               // fc1, or gate and up (one fused linear for both)
  activation: string;              // the nonlinearity between them
}

/** Where the model's input comes from in an image (preprocessing's resize and crop). */
export interface InputWindow { resized: [number, number]; top: number; left: number; size: [number, number] }
/** The readout rows asked for: auto (found from the graph), cls (token 0), patches (the patch grid), all, or rows a:b (end excluded). */
export type ScopeSetting = 'auto' | 'cls' | 'patches' | 'all' | `${number}:${number}` | `${number}:`;

/** The token rows the neurons are read at (docs/method.md) and how they were chosen. */
export interface ReadoutInfo {
  rows: number[];                  // ascending; per-token vectors are [rows.length * D] in this order
  source: 'graph' | 'setting';     // graph: the rows the logits depend on (scope auto); setting: the user's scope
  graphRows: number[];             // the rows the graph gives, whatever the setting
  grid: [number, number];          // the patch grid [gh, gw]: the last gh*gw tokens
  gridSource: 'graph' | 'image size'; // the patch embedding's output shape, or (no Conv found) the image size
}

export interface ClassProbability { class: number; label: string; probability: number }

export interface PathNeuron {
  layer: number;        // 0-based block index
  neuron: number;       // index into the block's FFN activation (0..D-1)
  activation: number;   // clean activation at the readout token(s) (summed over them when there are several)
  score: number;        // the layer-step candidate score that chose it (docs/schema.md)
}

export interface Manipulation {
  probability: number; deviation: number;
  top1?: number;        // the predicted class after the manipulation (absent in records made before it was added)
}

export interface BaselineResult {
  path: PathNeuron[];
  jas: number;
  remove: number;       // target probability after removing (x0) the path neurons
  enhance: number;      // target probability after enhancing (x2) the path neurons
  removeTop1?: number;  // the predicted class after removing / enhancing (absent in older records)
  enhanceTop1?: number;
}

export interface RandomBaseline {
  count: number; seed: number;
  jasMean: number; jasStd: number;
  removeMean: number; enhanceMean: number;
  removeKept?: number;  // fraction of the random paths after whose removal the top-1 is still the target
}

/** A top-K path (docs/method.md, the layer-by-layer search): K neurons per layer, best first; JAS and manipulation of the whole set. */
export interface TopKPath {
  k: number;
  layers: PathNeuron[][];           // per layer, its K neurons; layers[l][0] is path[l]
  jas: number;
  remove: Manipulation;             // every block's K neurons multiplied by 0
  enhance: Manipulation;            // ... by 2
}

export interface TokenMap { layer: number; neuron: number; grid: [number, number]; values: number[] }

export interface AnalysisResult {
  schema: 'neuron-path/1';
  model: {
    path: string; sha256: string; layers: number; neuronsPerLayer: number;
    scope: string;                 // a name for the readout rows: cls, patches, all, or ranges such as 0,5:21
    inputSize: [number, number]; numClasses: number;
    // Absent in records made before model families were read from the graph:
    readout?: ReadoutInfo;
    tokens?: number;
    ffn?: {
      kind: 'plain' | 'gated'; activation: string;
      headFfns: string[];          // fc2 nodes of FFNs after the blocks over a learned query's rows (class attention, attention pool): not blocks
      blocks?: FfnNodes[];         // per block, where its neurons live in the ONNX graph (absent in records made before)
      leftOut?: string;            // why those FFNs are not on the path, in words (present when headFfns is not empty)
    };
    precision?: { stored: 'float32' | 'float16' | 'bfloat16'; analysedIn: 'float32' };
    /** What was done to the image and where each value came from (absent in records made before it was recorded). */
    preprocessing?: Preprocessing;
    /** Which file named the classes and how many are "class N" (absent in records made before it was recorded). */
    classNames?: ClassNameSource;
  };
  image: {
    path: string;                    // absolute; bytes of the name that are not UTF-8 shown as \xHH
    pathBase64?: string;             // only for such a name: the path's bytes, base64 (the file is opened by them)
    sha256: string;
    width: number; height: number;   // upright: after the EXIF orientation
    orientation?: number;            // the EXIF orientation applied, 1..8 (absent in records made before it was applied)
    /** The model's input within the (upright) image: resized to `resized` [h, w], then the window at `top`, `left` of `size` (negative: padding). */
    input?: InputWindow;
  };
  settings: {
    steps: number; formula: Formula; target: number | 'predicted';
    rule?: Rule;                    // only when not left (the paper's)
    topK?: number;                  // only when > 1
    // The baselines computed (absent in records made before they could be skipped: all present ones ran).
    // [] is a complete result without baselines (skipped, or cancelled after the path); they can be added later.
    baselines?: BaselineName[];
  };
  prediction: { top: ClassProbability[] };
  target: ClassProbability;
  path: PathNeuron[];               // with topK > 1: the first (best) neuron of every layer's K
  jas: number;                      // of `path`
  topK?: TopKPath;                  // only when settings.topK > 1 (older records and K = 1 have none)
  layerScores: number[][];
  tokenMaps: TokenMap[];
  baselines: {
    activation?: BaselineResult;
    integratedGradients?: BaselineResult;
    influencePattern?: BaselineResult;  // absent in records made before it was added
    random?: RandomBaseline;
  };
  manipulation: { remove: Manipulation; enhance: Manipulation };
  timing: {
    seconds: number;
    forwardPasses: number;             // images (batch rows) passed forward
    backwardPasses: number;            // backward runs; each gives the gradients of every block at once
    rowsPerRun?: number;               // batch rows per run (large models run the m steps in chunks)
    phases?: Record<string, number>;   // seconds spent in clean, layers, jas, baselines, manipulation
  };
}

/** Sent while an analysis runs: one per finished layer step, with the path found so far. */
export interface LayerProgress {
  phase: 'load' | 'clean' | 'layer' | 'jas' | 'baselines' | 'manipulation';
  layer?: number;
  layers?: number;
  partialPath?: PathNeuron[];
  /** During the baselines phase: which one runs. */
  baseline?: BaselineName;
  /** Model rows run so far and planned in all (each gradient pass is m rows), and the seconds since the clean pass: the remaining-time estimate. */
  work?: { done: number; total: number; seconds: number };
  /** Once, when the path, its JAS and its remove/enhance are known: the complete result without baselines (kept if the run is cancelled later). */
  pathResult?: AnalysisResult;
  /** The clean pass's prediction and the explained class: on every message after the clean pass. */
  prediction?: { top: ClassProbability[]; target: ClassProbability };
  message: string;
}
