// The engine's public surface: what the CLI, the worker and the tests call. No VS Code here.
import type { ClassNameSource } from './classNames';
import type { FileHash } from './hash';
import type { Preprocessing } from './preprocessing';
import type { AnalysisResult, BaselineName, FfnNodes, Formula, LayerProgress, ReadoutInfo, Rule, ScopeSetting } from './result';

export type { BaselineName } from './result';
export type ExecutionProvider = 'cpu' | 'cuda';
export type ResizeMode = 'bilinear' | 'bicubic' | 'nearest';

/** User overrides of the model folder's preprocessor_config.json. */
export interface PreprocessOverrides {
  size?: [number, number];          // [height, width]
  mean?: number[];
  std?: number[];
  resize?: ResizeMode;
}

export interface ModelOptions {
  modelPath: string;                // an ONNX file, or a model folder (modelLocation.ts)
  labelsPath?: string;              // labels.txt (one per line) or a config.json with id2label
  scope?: ScopeSetting;             // which token rows the neurons are read at; default auto (from the graph)
  threads?: number;                 // 0 or undefined: onnxruntime's default
  executionProvider?: ExecutionProvider;
  preprocess?: PreprocessOverrides;
  cacheDir?: string;                // where instrumented models are cached (by content hash)
  /** The ONNX file's sha256 where the caller has just computed it (the extension host, for its result cache; the CLI, for its --jobs workers): it is not read a second time. */
  sha256?: string;
}

export interface AnalyzeOptions {
  target?: number | 'predicted';
  steps?: number;                   // m, default 20
  rule?: Rule;                      // where the m steps are taken, default 'left' (the paper's)
  formula?: Formula;                // default 'reference'
  baselines?: BaselineName[];       // default all of options.ts BASELINES
  topK?: number;                    // neurons per layer of the located path (default 1)
  randomCount?: number;             // default 10
  randomSeed?: number;              // default 0
}

/** What a caller already has of one image's analysis, so that the engine does not work it out again. */
export interface AnalyzeGiven {
  /** An earlier result of this image and model with the same settings: its path is reused and only the wanted baselines it lacks are computed (analyze.ts). */
  prior?: AnalysisResult;
  /** The image's sha256 as the caller computed it (the extension host, for its result cache): taken while the file keeps the stamp it was made with, else the image is hashed. */
  imageHash?: FileHash;
}

export interface ModelInfo {
  path: string;                     // the ONNX file (modelPath may name its folder)
  preprocessing: Preprocessing;     // what is done to each image, each value with its source
  sha256: string;
  layers: number;
  neuronsPerLayer: number;
  tokens: number;
  scope: string;                    // a name for the readout rows (cls, patches, all, or ranges such as 0,5:21)
  readout: ReadoutInfo;
  inputSize: [number, number];
  channels: number;
  numClasses: number;
  labels: string[];
  classNames: ClassNameSource;      // which file named the classes, and how many are "class N"
  fixedBatch: boolean;              // the export only accepts batch 1: steps run one at a time
  batchRewritten: boolean;          // a batch-1 export whose batch axis was made dynamic (checked row by row)
  activation: string;               // what the FFN activation was recognised as (gelu-erf, relu, swiglu, ...)
  ffn: 'plain' | 'gated';           // fc1 -> act -> fc2, or act(gate) * up -> fc2
  headFfns: string[];               // fc2 nodes of FFNs after the blocks over a learned query's rows (class attention, attention pool): not blocks
  blocks: FfnNodes[];               // per block, the ONNX nodes of its FFN (fc2 first)
  leftOut?: string;                 // why those FFNs are not on the path, in words (when there are any)
  precision: 'float32' | 'float16' | 'bfloat16'; // as stored; the analysis always runs in float32
}

export interface RunHooks {
  onProgress?: (p: LayerProgress) => void;
  signal?: AbortSignal;             // aborting rejects with a CancelledError between passes
}
