// The engine: open a ViT once, analyse many images. Used by the CLI, the worker and the tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePixels, requireFinite, topClasses } from './analyze';
import type { AnalyzeOptions, ModelInfo, ModelOptions, RunHooks } from './api';
import type { InstrumentedInfo } from './instrument';
import { readLabels, readPreprocessing, type Preprocessing } from './modelFolder';
import { openModel, sha256File } from './modelStore';
import { loadPixels } from './preprocess';
import type { AnalysisResult, ClassProbability, ReadoutInfo } from './result';
import { Runner } from './runner';
import type { Session } from './runtime';

export * from './api';
export * from './result';

/** The bundled model, media/model/model.onnx of the package (found from dist/ or from compiled sources). */
export function defaultModelPath(): string {
  const relative = path.join('media', 'model', 'model.onnx');
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, relative))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', relative);
  }
}

export class Engine {
  private constructor(readonly info: ModelInfo, private readonly session: Session, private readonly internal: InstrumentedInfo,
                      private readonly prep: Preprocessing) {}

  static async open(options: ModelOptions, hooks: RunHooks = {}): Promise<Engine> {
    const prep = readPreprocessing(options.modelPath, options.preprocess);
    const sizeHint = prep.crop ?? prep.size;
    const opened = await openModel(options, sizeHint, (message) => hooks.onProgress?.({ phase: 'load', message }));
    const { info: i } = opened;
    const info: ModelInfo = {
      path: path.resolve(options.modelPath), sha256: opened.sha256, layers: opened.layers, neuronsPerLayer: i.neurons,
      tokens: i.tokens, scope: i.scope, readout: readoutInfo(i), inputSize: [i.input.height, i.input.width], channels: i.input.channels,
      numClasses: i.numClasses, labels: readLabels(options.modelPath, i.numClasses, options.labelsPath),
      fixedBatch: i.input.fixedBatch, batchRewritten: i.batchRewritten, activation: i.activation, ffn: i.ffn, headFfns: i.head, precision: i.precision,
    };
    return new Engine(info, opened.session, i, prep);
  }

  async analyze(imagePath: string, options: AnalyzeOptions = {}, hooks: RunHooks = {}): Promise<AnalysisResult> {
    const file = path.resolve(imagePath);
    const { input } = this.internal;
    const pixels = await loadPixels(file, this.prep, input);
    const core = await analyzePixels({
      session: this.session, info: this.internal, layers: this.info.layers, labels: this.info.labels, pixels: pixels.data,
    }, options, hooks);
    const { path: modelPath, sha256, layers, neuronsPerLayer, scope, inputSize, numClasses, readout, tokens, ffn, activation, headFfns, precision } = this.info;
    return {
      schema: 'neuron-path/1',
      model: {
        path: modelPath, sha256, layers, neuronsPerLayer, scope, inputSize, numClasses, readout, tokens,
        ffn: { kind: ffn, activation, headFfns }, precision: { stored: precision, analysedIn: 'float32' },
      },
      image: { path: file, sha256: sha256File(file, 'image'), width: pixels.width, height: pixels.height },
      ...core,
    };
  }

  /** For callers that preprocess themselves (tests against recorded pixel tensors). */
  analyzeTensor(pixels: Float32Array, options: AnalyzeOptions = {}, hooks: RunHooks = {}) {
    return analyzePixels({ session: this.session, info: this.internal, layers: this.info.layers, labels: this.info.labels, pixels }, options, hooks);
  }

  /** The model's probabilities for an image (one clean pass), most probable first. */
  async predict(imagePath: string, top = 5): Promise<ClassProbability[]> {
    const pixels = await loadPixels(path.resolve(imagePath), this.prep, this.internal.input);
    const { probs } = await new Runner(this.session, this.internal, this.info.layers).clean(pixels.data);
    requireFinite(probs, 'the probabilities');
    return topClasses(probs, this.info.labels, top);
  }

  /**
   * Live passes with the readout neurons of every block multiplied by `scales[l]` (`rows` rows of D
   * each, as Runner.scaled): the probabilities [rows x classes]. Used by the pruning check (issue 5).
   */
  async scaledProbabilities(imagePath: string, scales: Float32Array[], rows: number, signal?: AbortSignal): Promise<Float32Array> {
    const pixels = await loadPixels(path.resolve(imagePath), this.prep, this.internal.input);
    const probs = await new Runner(this.session, this.internal, this.info.layers, signal).scaled(pixels.data, scales, rows);
    requireFinite(probs, 'the probabilities of the scaled passes');
    return probs;
  }

  async dispose(): Promise<void> { await this.session.release(); }
}

function readoutInfo(i: InstrumentedInfo): ReadoutInfo {
  return { rows: i.readoutRows, source: i.readoutSource, graphRows: i.graphRows, grid: i.grid, gridSource: i.gridSource };
}
