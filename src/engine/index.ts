// The engine: open a ViT once, analyse many images. Used by the CLI, the worker and the tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzePixels, readoutActivations, requireFinite, TargetError, topClasses } from './analyze';
import { EngineError } from './errors';
import type { AnalyzeGiven, AnalyzeOptions, ModelInfo, ModelOptions, RunHooks } from './api';
import type { InstrumentedInfo } from './instrument';
import { fitToModel, readLabels, readPreprocessing } from './modelFolder';
import { locateModel } from './modelLocation';
import { outputSize, type Preprocessing } from './preprocessing';
import { pathRecord, pathText, readStamped, type FsPath } from './files';
import { sha256OfRead, type FileHash } from './hash';
import { editModel, type EditedModel } from './editModel';
import { intervene, INTERVENTION_SCHEMA, type Intervention, type InterventionRecord, type InterventionResult } from './intervene';
import { pathJas, sumTokens } from './locator';
import { openModel, releaseSessions } from './modelStore';
import { checkUnit } from './neurons/records';
import { NEURON_SCHEMA, type NeuronScanRecord, type NeuronUnit } from './batch/schema';
import { scanImages } from './neurons/scan';
import { decodePixels, loadPixels, type Pixels } from './preprocess';
import { readoutValues } from './readout';
import { DEFAULTS } from './options';
import { quadrature } from './quadrature';
import type { AnalysisResult, ClassProbability, Formula, ReadoutInfo, Rule } from './result';
import { Runner, type ModelSessions } from './runner';
import type { SessionSettings } from './runtime';
import { visualize, type VisualizationRecord, type VisualizeRequest } from './visualize';

export * from './api';
export * from './result';
export { VISUALIZATION_SCHEMA, type VisualizationRecord, type VisualizeRequest } from './visualize';

/** The bundled model, media/model/model.onnx of the package (found from dist/ or from compiled sources). */
export function defaultModelPath(): string {
  const relative = path.join('media', 'model', 'model.onnx');
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, relative))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', relative);
  }
}

export class Engine {
  private constructor(readonly info: ModelInfo, private readonly sessions: ModelSessions, private readonly internal: InstrumentedInfo,
                      private readonly prep: Preprocessing, private readonly settings: SessionSettings) {}

  static async open(options: ModelOptions, hooks: RunHooks = {}): Promise<Engine> {
    const loc = locateModel(options.modelPath);
    const configured = readPreprocessing(loc, options.preprocess);
    const opened = await openModel({ ...options, modelPath: loc.file }, outputSize(configured), (message) => hooks.onProgress?.({ phase: 'load', message }));
    const { info: i } = opened;
    const prep = fitToModel(configured, i.input);
    const labels = readLabels(loc, i.numClasses, options.labelsPath);
    const info: ModelInfo = {
      path: loc.file, sha256: opened.sha256, preprocessing: prep, layers: opened.layers, neuronsPerLayer: i.neurons,
      tokens: i.tokens, scope: i.scope, readout: readoutInfo(i), inputSize: [i.input.height, i.input.width], channels: i.input.channels,
      numClasses: i.numClasses, labels: labels.names, classNames: labels.source,
      fixedBatch: i.input.fixedBatch, batchRewritten: i.batchRewritten, activation: i.activation, ffn: i.ffn, headFfns: i.head, blocks: i.blocks, leftOut: i.leftOut, precision: i.precision,
    };
    return new Engine(info, opened.sessions, i, prep, { threads: options.threads, executionProvider: options.executionProvider });
  }

  /**
   * `imagePath`: a path, or its bytes (a folder scan's name that is not UTF-8; absolute).
   * `given`: what the caller has already (an earlier result whose path is reused, the image's hash).
   * Progress carries the complete result without baselines (`pathResult`) once the path is known.
   */
  async analyze(imagePath: FsPath, options: AnalyzeOptions = {}, hooks: RunHooks = {}, given: AnalyzeGiven = {}): Promise<AnalysisResult> {
    const file = absolute(imagePath);
    const { prior } = given;
    const { pixels, sha256 } = await this.readImage(file, given.imageHash);
    const head: Pick<AnalysisResult, 'schema' | 'model' | 'image'> = {
      schema: 'neuron-path/1', model: this.modelRecord(), image: imageOf(file, sha256, pixels),
    };
    if (prior && (prior.model.sha256 !== this.info.sha256 || prior.image.sha256 !== head.image.sha256)) {
      throw new EngineError('invalid-option', 'the earlier result was made with another model or image, so its path cannot be reused: analyse the image again', { field: 'prior' });
    }
    const core = await analyzePixels({
      sessions: this.sessions, info: this.internal, layers: this.info.layers, labels: this.info.labels, pixels: pixels.data,
    }, options, hooks, prior, (c) => ({ ...head, ...c }));
    return { ...head, ...core };
  }

  /** An image's pixels and sha256 from one read of it; `known`: the caller's hash, taken while the file has the stamp it was made with. */
  private async readImage(file: FsPath, known?: FileHash): Promise<{ pixels: Pixels; sha256: string }> {
    const { bytes, stamp } = readStamped(file, 'image');
    return { pixels: await decodePixels(bytes, file, this.prep, this.internal.input), sha256: sha256OfRead(bytes, stamp, known) };
  }

  /** The record's `model`: what was analysed and how it was read. */
  private modelRecord(): AnalysisResult['model'] {
    const { path: modelPath, sha256, layers, neuronsPerLayer, scope, inputSize, numClasses, readout, tokens, ffn, activation, headFfns, blocks, leftOut, precision, preprocessing, classNames } = this.info;
    return {
      path: modelPath, sha256, layers, neuronsPerLayer, scope, inputSize, numClasses, readout, tokens,
      ffn: { kind: ffn, activation, headFfns, blocks, ...(leftOut ? { leftOut } : {}) }, precision: { stored: precision, analysedIn: 'float32' }, preprocessing, classNames,
    };
  }

  /**
   * Any neurons multiplied by factors, everything else live (one forward pass of two rows): the
   * top-5 before and after, and the target's probability (`target`, else the class predicted before).
   */
  async intervene(imagePath: FsPath, intervention: Intervention, target?: number, signal?: AbortSignal): Promise<InterventionRecord> {
    const file = absolute(imagePath);
    const { pixels, sha256 } = await this.readImage(file);
    const result = await this.interveneTensor(pixels.data, intervention, target, signal);
    return { schema: INTERVENTION_SCHEMA, model: this.modelRecord(), image: imageOf(file, sha256, pixels), ...result };
  }

  /** For callers that preprocess themselves (tests against recorded pixel tensors). */
  interveneTensor(pixels: Float32Array, intervention: Intervention, target?: number, signal?: AbortSignal): Promise<InterventionResult> {
    return intervene(new Runner(this.sessions, this.internal, this.info.layers, signal), pixels, intervention, this.info.labels, target);
  }

  /** The open model with an intervention built in, as a plain ONNX model (see editModel.ts). */
  editedModel(intervention: Intervention): Promise<EditedModel> {
    const { path: modelPath, sha256, layers, neuronsPerLayer, tokens } = this.info;
    return editModel({ modelPath, sha256, layers, neurons: neuronsPerLayer, tokens, readoutRows: this.internal.readoutRows, sizeHint: outputSize(this.prep) }, intervention);
  }

  /** For callers that preprocess themselves (tests against recorded pixel tensors). */
  analyzeTensor(pixels: Float32Array, options: AnalyzeOptions = {}, hooks: RunHooks = {}) {
    return analyzePixels({ sessions: this.sessions, info: this.internal, layers: this.info.layers, labels: this.info.labels, pixels }, options, hooks);
  }

  /**
   * The neuron scan of several images at once (forward only, batched): per image its record, or
   * the error it gave (an unreadable image does not stop the others). `target`: the class the
   * ablation is measured on, null for the predicted class.
   */
  async scanNeurons(images: { path: FsPath; target: number | null }[], units: NeuronUnit[], signal?: AbortSignal): Promise<(NeuronScanRecord | Error)[]> {
    const { layers, neuronsPerLayer, labels, numClasses } = this.info;
    for (const u of units) checkUnit(u, layers, neuronsPerLayer);
    const bad = images.find((i) => i.target !== null && !(Number.isInteger(i.target) && i.target >= 0 && i.target < numClasses));
    if (bad) throw new TargetError(`target class ${bad.target} of ${pathText(bad.path)} is out of range: the model has ${numClasses} classes`);
    const loaded = await Promise.all(images.map(async (i) => {
      const file = absolute(i.path);
      try { return { file, ...await this.readImage(file) }; } catch (e) { return e as Error; }
    }));
    const ok = loaded.flatMap((l, i) => (l instanceof Error ? [] : [{ ...l, target: images[i].target }]));
    const runner = new Runner(this.sessions, this.internal, layers, signal);
    const scanned = ok.length ? await scanImages(runner, this.internal, ok.map((l) => l.pixels.data), ok.map((l) => l.target), units) : [];
    const { path: modelPath, sha256, scope, inputSize } = this.info;
    let k = 0;
    return loaded.map((l): NeuronScanRecord | Error => {
      if (l instanceof Error) return l;
      const s = scanned[k++];
      return {
        schema: NEURON_SCHEMA,
        model: { path: modelPath, sha256, layers, neuronsPerLayer, scope, inputSize, numClasses },
        image: imageOf(l.file, l.sha256, l.pixels),
        grid: s.grid, prediction: { top: topClasses(s.probs, labels, 5) },
        target: { class: s.target, label: labels[s.target], probability: s.probs[s.target] },
        units: s.units,
      };
    });
  }

  /**
   * The JAS of a given path on an image, explaining `target`: what the comparison of
   * two images asks of each path on the other image.
   */
  async pathJas(imagePath: FsPath, path_: number[], options: { target: number; steps?: number; rule?: Rule; formula?: Formula }, signal?: AbortSignal): Promise<number> {
    const { layers, neuronsPerLayer, numClasses } = this.info;
    if (path_.length !== layers || path_.some((j) => !Number.isInteger(j) || j < 0 || j >= neuronsPerLayer)) {
      throw new EngineError('not-comparable', `a path of this model has one neuron (0..${neuronsPerLayer - 1}) for each of its ${layers} blocks`);
    }
    if (!Number.isInteger(options.target) || options.target < 0 || options.target >= numClasses) throw new TargetError(`target class ${options.target} is out of range (0..${numClasses - 1})`);
    const pixels = await loadPixels(absolute(imagePath), this.prep, this.internal.input);
    const runner = new Runner(this.sessions, this.internal, layers, signal);
    const w = readoutActivations((await runner.clean(pixels.data)).acts, this.internal);
    return pathJas(runner, pixels.data, options.target, w, path_, quadrature(options.steps ?? DEFAULTS.steps, options.rule ?? DEFAULTS.rule), options.formula ?? DEFAULTS.formula);
  }

  /** The model's probabilities for an image (one clean pass), most probable first. */
  async predict(imagePath: FsPath, top = 5): Promise<ClassProbability[]> {
    const pixels = await loadPixels(absolute(imagePath), this.prep, this.internal.input);
    const { probs } = await new Runner(this.sessions, this.internal, this.info.layers).clean(pixels.data);
    requireFinite(probs, 'the probabilities');
    return topClasses(probs, this.info.labels, top);
  }

  /**
   * Live passes with the readout neurons of every block multiplied by `scales[l]` (`rows` rows of D
   * each, as Runner.scaled): the probabilities [rows x classes]. Used by the pruning check.
   */
  async scaledProbabilities(imagePath: FsPath, scales: Float32Array[], rows: number, signal?: AbortSignal): Promise<Float32Array> {
    const pixels = await loadPixels(absolute(imagePath), this.prep, this.internal.input);
    const probs = await new Runner(this.sessions, this.internal, this.info.layers, signal).scaled(pixels.data, scales, rows);
    requireFinite(probs, 'the probabilities of the scaled passes');
    return probs;
  }

  /** Every block's clean activation summed over the readout tokens (L rows of D): the activation baseline's view. */
  async readoutActivations(imagePath: FsPath, signal?: AbortSignal): Promise<Float64Array[]> {
    const pixels = await loadPixels(absolute(imagePath), this.prep, this.internal.input);
    const { acts } = await new Runner(this.sessions, this.internal, this.info.layers, signal).clean(pixels.data);
    const D = this.info.neuronsPerLayer;
    return acts.map((a) => sumTokens(readoutValues(a, this.internal.readoutRows, D), D));
  }

  /**
   * Feature visualization of a neuron or a class (src/engine/visualize/): the image that maximises
   * it, written as a PNG to `out`, and its record. `onStep` after every optimisation step.
   */
  visualize(request: VisualizeRequest, out: string, onStep: (step: number, steps: number, value: number) => void = () => undefined,
            signal?: AbortSignal): Promise<VisualizationRecord> {
    const { path: modelPath, sha256, labels } = this.info;
    const activation = async (pixels: Float32Array, layer: number, neuron: number, rows: number[]) => {
      const { acts } = await new Runner(this.sessions, this.internal, this.info.layers, signal).clean(pixels);
      return sumTokens(readoutValues(acts[layer], rows, this.info.neuronsPerLayer), this.info.neuronsPerLayer)[neuron];
    };
    return visualize({ model: { path: modelPath, sha256, labels }, internal: this.internal, prep: this.prep, settings: this.settings, activation },
      request, out, onStep, signal);
  }

  async dispose(): Promise<void> { await releaseSessions(this.sessions); }
}

/** A folder scan's byte paths are absolute already; a text path is resolved against the working folder. */
const absolute = (file: FsPath): FsPath => (typeof file === 'string' ? path.resolve(file) : file);

/** The record's `image`: its path (and the path's bytes where they are not UTF-8), content hash and upright size. */
function imageOf(file: FsPath, sha256: string, pixels: Pixels): AnalysisResult['image'] {
  return { ...pathRecord(file), sha256, width: pixels.width, height: pixels.height, orientation: pixels.orientation, input: pixels.window };
}

function readoutInfo(i: InstrumentedInfo): ReadoutInfo {
  return { rows: i.readoutRows, source: i.readoutSource, graphRows: i.graphRows, grid: i.grid, gridSource: i.gridSource };
}
