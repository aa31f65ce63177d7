// The `neuron-path/1` record: what one analysis of one image produces. The CLI writes it as JSON,
// the worker sends it to the extension host, the panel draws it, batch runs append it as a line.

export type Formula = 'reference' | 'paper';
export type Scope = 'cls' | 'patches';

export interface ClassProbability { class: number; label: string; probability: number }

export interface PathNeuron {
  layer: number;        // 0-based block index
  neuron: number;       // index into the block's FFN activation (0..D-1)
  activation: number;   // clean activation at the readout token(s) (summed over tokens for `patches`)
  score: number;        // the layer-step candidate score that chose it (ALGORITHM §5)
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

export interface TokenMap { layer: number; neuron: number; grid: [number, number]; values: number[] }

export interface AnalysisResult {
  schema: 'neuron-path/1';
  model: {
    path: string; sha256: string; layers: number; neuronsPerLayer: number; scope: Scope;
    inputSize: [number, number]; numClasses: number;
  };
  image: { path: string; sha256: string; width: number; height: number };
  settings: { steps: number; formula: Formula; target: number | 'predicted' };
  prediction: { top: ClassProbability[] };
  target: ClassProbability;
  path: PathNeuron[];
  jas: number;
  layerScores: number[][];
  tokenMaps: TokenMap[];
  baselines: {
    activation?: BaselineResult;
    integratedGradients?: BaselineResult;
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
  /** The clean pass's prediction and the explained class: on every message after the clean pass. */
  prediction?: { top: ClassProbability[]; target: ClassProbability };
  message: string;
}
