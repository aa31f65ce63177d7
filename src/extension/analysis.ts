// Runs analyses for the panels: reads the settings, looks in the result cache, otherwise makes sure
// the worker has the model and runs the analysis under a cancellable progress notification.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo, ModelOptions } from '../engine/api';
import type { PruningCurve } from '../engine/batch/prune';
import type { BatchRecord } from '../engine/batch/schema';
import { isCompact } from '../engine/batch/compact';
import type { NeuronUnit } from '../engine/batch/schema';
import type { Intervention, InterventionRecord } from '../engine/intervene';
import type { PathComparison } from '../engine/pathCompare';
import type { FileHash } from '../engine/hash';
import type { AnalysisResult, LayerProgress } from '../engine/result';
import { EngineError, isCancelled } from '../engine/errors';
import { locateModel } from '../engine/modelLocation';
import { VISUALIZE_DEFAULTS } from '../engine/options';
import { analysisProgressText, batchProgressText, modelLabel, progressPercent } from '../format';
import type { ExportEditedResult } from '../operations/exportEdited';
import { interveneParams } from '../operations/intervene';
import type { FolderInterventionResult } from '../operations/interveneFolder';
import type { StepProgress } from '../operations/operation';
import type { BatchProgressInfo, BatchRunResult } from '../operations/progress';
import type { PruneRequest } from '../protocol/folderPanel';
import type { TargetChoice } from '../protocol/imagePanel';
import { neuronRefKey, type NeuronRef } from '../protocol/thumbnails';
import { WorkerExitedError } from '../protocol/workerErrors';
import { COMMANDS } from './commandIds';
import { Disposable } from './dispose';
import { ModelLabels } from './modelLabels';
import { FileHasher, ResultCache, resultKey } from './resultCache';
import { prepareResultsDir } from './resultsLocation';
import { MODEL_KEYS, readSettings, SECTION, type ResolvedSettings } from './settings';
import { VisualizationCache, type CachedVisualization } from './visualizationCache';
import { forkTransport, WorkerClient } from '../worker/client';

export interface RunListener {
  onProgress?(progress: LayerProgress): void;
}

/**
 * One image's analysis under the settings read once: its cache key and the facts it was made of
 * (the model with its hash, the image's hash), passed along to the run and to the cache.
 */
export interface ImageAnalysis {
  imagePath: string;
  target: TargetChoice;
  settings: ResolvedSettings;
  model: ModelOptions;              // the settings' model with its sha256 (what the worker loads)
  imageHash: FileHash;
  key: string;                      // the result cache's
  settingsKey: string;              // the engine's settings key, as batch records carry it
}

/** A failure the user should read as it is (no stack): its message says what to do. */
export class UserError extends Error {
  override name = 'UserError';
}

export class AnalysisService extends Disposable {
  readonly client: WorkerClient;
  private readonly cache: ResultCache;
  private readonly visualizations: VisualizationCache;
  private readonly hasher = new FileHasher();
  private readonly inFlight = new Map<string, Promise<AnalysisResult>>();
  /** The class names of the models loaded: the engine's, kept for panels that show cached results. */
  readonly labels: ModelLabels;
  private lastLoaded: ModelInfo | undefined;
  private readonly _onDidLoadModel = this.register(new vscode.EventEmitter<ModelInfo>());
  /** Fired when the worker has loaded a model (its labels are then known). */
  readonly onDidLoadModel = this._onDidLoadModel.event;
  private readonly _onDidChangeSettings = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeSettings = this._onDidChangeSettings.event;
  private lastWarnings = '';

  constructor(private readonly context: vscode.ExtensionContext, private readonly output: vscode.LogOutputChannel) {
    super();
    const workerScript = context.asAbsolutePath(path.join('dist', 'worker.js'));
    this.client = new WorkerClient({
      spawn: () => forkTransport(workerScript),
      log: (line) => output.info(line),
    });
    this.cache = new ResultCache(vscode.Uri.joinPath(context.globalStorageUri, 'results').fsPath);
    this.labels = new ModelLabels(context.globalState);
    this.visualizations = new VisualizationCache(vscode.Uri.joinPath(context.globalStorageUri, 'visualizations').fsPath);

    this.register(this.client.onDidCrash((info) => {
      output.error(info.message);
      void vscode.window.showErrorMessage(info.message, 'Show Output').then((choice) => { if (choice) output.show(true); });
    }));
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      this.warnAboutSettings(this.settings());
      this._onDidChangeSettings.fire();
      if (MODEL_KEYS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) this.reloadModel();
    }));
    this.register(vscode.workspace.onDidGrantWorkspaceTrust(() => { this._onDidChangeSettings.fire(); this.reloadModel(); }));
    this.register({ dispose: () => { void this.client.dispose(); } });
  }

  /** The current settings, read fresh; no side effects (runs and setting changes report their warnings). */
  settings(): ResolvedSettings {
    return readSettings(vscode.workspace.getConfiguration(SECTION), {
      trusted: vscode.workspace.isTrusted,
      bundledModelPath: this.bundledModelPath,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      cacheDir: vscode.Uri.joinPath(this.context.globalStorageUri, 'models').fsPath,
    });
  }

  /** Settings that were ignored, to the output and once as a warning (until they change). */
  private warnAboutSettings(s: ResolvedSettings): void {
    const warnings = s.warnings.join('\n');
    if (warnings && warnings !== this.lastWarnings) {
      for (const w of s.warnings) this.output.warn(w);
      void vscode.window.showWarningMessage(`Neuron Path: ${s.warnings[0]}${s.warnings.length > 1 ? ` (and ${s.warnings.length - 1} more, see the output)` : ''}`);
    }
    this.lastWarnings = warnings;
  }

  /** The bundled model's file. */
  get bundledModelPath(): string { return this.context.asAbsolutePath(path.join('media', 'model', 'model.onnx')); }

  /** The name panels give a model file (a result's), or the one the settings name (its ONNX file where it is found). */
  modelName(file?: string): string {
    if (file === undefined) {
      const { modelPath } = this.settings().model;
      try { file = locateModel(modelPath).file; } catch { file = modelPath; }
    }
    return modelLabel(file, this.bundledModelPath);
  }

  /** The analysis of this image under the current settings: its key and hashes. Rejects with a UserError when the image or the model cannot be read. */
  prepare(imagePath: string, target: TargetChoice): Promise<ImageAnalysis> {
    return this.keyed(imagePath, target, this.settings());
  }

  /** The cached result of the analysis, without running anything. */
  async cached(analysis: ImageAnalysis): Promise<AnalysisResult | undefined> {
    try {
      return await this.cache.get(analysis.key);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs the analysis under a progress notification (the cache is not asked: see `cached`) and caches
   * its result. Rejects with a CancelledError when cancelled. `prior`: a shown result whose path is
   * reused; only the baselines it lacks are computed.
   */
  async run(analysis: ImageAnalysis, listener: RunListener = {}, signal?: AbortSignal, prior?: AnalysisResult): Promise<AnalysisResult> {
    this.warnAboutSettings(analysis.settings);
    const running = this.inFlight.get(analysis.key);
    if (running) return running;
    const promise = this.analyze(analysis, listener, signal, prior).then(async (result) => {
      await this.keep(analysis, result);
      return result;
    });
    this.inFlight.set(analysis.key, promise);
    try {
      return await promise;
    } finally {
      this.inFlight.delete(analysis.key);
    }
  }

  /**
   * Keeps a result of the analysis as its cached result (also one without some baselines: a cancelled
   * run's complete path). Not one of another version of the image: the file changed while it was analysed.
   */
  async keep(analysis: ImageAnalysis, result: AnalysisResult): Promise<void> {
    if (result.image.sha256 !== analysis.imageHash.sha256) return;
    try {
      await this.cache.set(analysis.key, result);
    } catch (err) {
      this.output.warn(`could not cache the result: ${String(err)}`);
    }
  }

  private async keyed(imagePath: string, target: TargetChoice, settings: ResolvedSettings): Promise<ImageAnalysis> {
    const model = await this.modelToLoad(settings);
    let imageHash: FileHash;
    try {
      imageHash = await this.hasher.hash(imagePath, 'image');
    } catch {
      throw new UserError(`The image ${imagePath} cannot be read (was it moved or deleted?).`);
    }
    return { imagePath, target, settings, model, imageHash, ...resultKey(settings.model, { ...settings.analyze, target }, model.sha256, imageHash.sha256) };
  }

  /**
   * The model the worker loads: the settings' options with the ONNX file's sha256, which the host
   * computes anyway for its result cache (remembered by size and times), so the worker does not read
   * a large model a second time; a changed file is a new model to load.
   */
  private async modelToLoad(settings: ResolvedSettings): Promise<ModelOptions & { sha256: string }> {
    return { ...settings.model, sha256: await this.modelSha(settings) };
  }

  private async modelSha(settings: ResolvedSettings): Promise<string> {
    const modelPath = settings.model.modelPath;
    try {
      return (await this.hasher.hash(locateModel(modelPath).file, 'model')).sha256;
    } catch (e) {
      // A folder without one clear ONNX file says which files it has.
      if (e instanceof EngineError && e.code === 'model-choice') throw new UserError(`The ${e.message.slice(4)}. Set "neuronPath.modelPath" to the one to analyse, or run "Neuron Path: Select Model...".`);
      throw new UserError(settings.bundledModel
        ? `The bundled model is missing (${modelPath}). Reinstall the extension, or run "Neuron Path: Select Model..." to choose an ONNX model.`
        : `The model ${modelPath} does not exist or has no ONNX file. Run "Neuron Path: Select Model..." or clear "neuronPath.modelPath" to use the bundled model.`);
    }
  }

  private analyze(analysis: ImageAnalysis, listener: RunListener, signal?: AbortSignal, prior?: AnalysisResult): Promise<AnalysisResult> {
    const { imagePath, target, settings, model, imageHash } = analysis;
    return cancellableProgress(`Neuron Path: ${path.basename(imagePath)}`, signal, async (progress, abortSignal) => {
      let done = 0;
      const advance = (pct: number, message: string): void => {
        const next = Math.max(done, Math.min(100, pct));
        progress.report({ increment: next - done, message });
        done = next;
      };
      advance(0, this.client.isLoaded(model) ? 'starting' : 'loading the model');
      const info = await this.client.ensureModel(model, { signal: abortSignal });
      this.modelLoaded(info);
      advance(5, 'running');
      return this.client.request('analyze', { imagePath, options: { ...settings.analyze, target }, imageHash, ...(prior ? { prior } : {}) }, {
        signal: abortSignal,
        onProgress: (p) => {
          advance(progressPercent(p), analysisProgressText(p));
          listener.onProgress?.(p);
        },
      });
    });
  }

  /**
   * Keeps a batch record as the cached result of its image when the batch was made with the current
   * settings (model, preprocessing, steps, formula, target, baselines) and the image is unchanged, so
   * the image panel opened from the folder panel shows it at once. Returns whether it was kept.
   */
  async adoptBatchRecord(record: BatchRecord): Promise<boolean> {
    try {
      const settings = this.settings();
      // A compact record lacks most layer scores, which the panel's influence chart shows: recompute.
      if (!record.batch || isCompact(record) || (record.batch.model.labelsPath ?? null) !== (settings.model.labelsPath ?? null)) return false;
      const { key, settingsKey, imageHash } = await this.keyed(record.image.path, settings.analyze.target, settings);
      if (settingsKey !== record.batch.key || imageHash.sha256 !== record.image.sha256) return false;
      if (await this.cache.get(key)) return true;
      const { trueClass: _c, folderLabel: _f, batch: _b, ...result } = record;
      await this.cache.set(key, result);
      return true;
    } catch (err) {
      this.output.warn(`could not reuse the batch result of ${record.image.path}: ${String(err)}`);
      return false;
    }
  }

  /**
   * Analyzes a folder into the resumable result file `out` in the worker, under a cancellable progress
   * notification ("123/1000 images, 4.2 img/s, 3 min left"). Cancelling resolves with `cancelled: true`;
   * what is in `out` stays and the next run resumes it.
   */
  batch(folder: string, out: string, onProgress: (p: BatchProgressInfo) => void, signal?: AbortSignal): Promise<BatchRunResult> {
    const settings = this.settings();
    prepareResultsDir(out);
    // Every score kept: an image of the folder panel then opens from its record at once (the
    // image panel charts all of a layer's scores). The CLI's batch, for cluster-sized folders, is compact.
    return this.folderRun(folder, settings, onProgress, signal, (options) => this.client.request('batch', { folder, out, options: settings.analyze, scores: 'all' }, options));
  }

  /** The neuron scan of a folder for `units` into the resumable result file `out` (as `batch`). */
  neuronScan(folder: string, out: string, units: NeuronUnit[], onProgress: (p: BatchProgressInfo) => void, signal?: AbortSignal): Promise<BatchRunResult> {
    prepareResultsDir(out);
    return this.folderRun(folder, this.settings(), onProgress, signal, (options) => this.client.request('neuronScan', { folder, out, units }, options));
  }

  /**
   * The feature visualization of a neuron with the current model (read at the readout rows, the
   * default steps and seed), from the cache or computed in the worker under a cancellable notification.
   */
  async visualizeNeuron(layer: number, neuron: number, onStep: (p: StepProgress) => void, signal?: AbortSignal): Promise<CachedVisualization> {
    let shown: CachedVisualization | undefined;
    await this.visualizeNeurons([{ layer, neuron }], { onStep: (_i, p) => onStep(p), onDone: (_i, v) => { shown = v; } }, signal);
    return shown!;
  }

  /**
   * The feature visualizations of `neurons`, one after another, each from the cache or computed in
   * the worker, under one cancellable notification. `modelSha`: the model the neurons were found in
   * (a result's); refused when the current settings name another.
   */
  visualizeNeurons(neurons: readonly NeuronRef[], listener: VisualizationListener, signal?: AbortSignal, modelSha?: string): Promise<void> {
    const settings = this.settings();
    this.warnAboutSettings(settings);
    const title = neurons.length === 1 ? `layer ${neurons[0].layer}, neuron ${neurons[0].neuron}` : `${neurons.length} neurons`;
    return cancellableProgress(`Neuron Path: visualizing ${title}`, signal, async (progress, abortSignal) => {
      const info = await this.client.ensureModel(await this.modelToLoad(settings), { signal: abortSignal });
      this.modelLoaded(info);
      if (modelSha !== undefined && modelSha !== info.sha256) {
        throw new UserError('These neurons were found with another model than the one set now; analyse again with the current model to visualize them.');
      }
      for (const [index, { layer, neuron }] of neurons.entries()) {
        const request = { layer, neuron, steps: VISUALIZE_DEFAULTS.steps, seed: VISUALIZE_DEFAULTS.seed };
        const shown = await this.visualizations.get(visualizationKey(settings, info.sha256, layer, neuron), (out) => this.client.request('visualize', { ...request, out }, {
          signal: abortSignal,
          onProgress: (p) => {
            const which = neurons.length === 1 ? '' : `layer ${layer}, neuron ${neuron} (${index + 1} of ${neurons.length}): `;
            progress.report({ increment: 100 / p.steps / neurons.length, message: `${which}step ${p.step}/${p.steps}` });
            listener.onStep?.(index, p);
          },
        }));
        listener.onDone(index, shown);
      }
    });
  }

  /** The visualizations of `neurons` of the model `modelSha` already in the cache (nothing is computed), by neuronRefKey. */
  async cachedVisualizations(modelSha: string, neurons: readonly NeuronRef[]): Promise<Map<string, CachedVisualization>> {
    const settings = this.settings();
    const found = new Map<string, CachedVisualization>();
    for (const { layer, neuron } of neurons) {
      const hit = await this.visualizations.lookup(visualizationKey(settings, modelSha, layer, neuron));
      if (hit) found.set(neuronRefKey(layer, neuron), hit);
    }
    return found;
  }

  /** Where visualizations are kept (a resource root of the neuron view). */
  get visualizationDir(): string { return this.visualizations.dir; }

  /** Two analyses compared in the worker (the JAS of each path on the other image), with the current model loaded. */
  async comparePaths(a: AnalysisResult, b: AnalysisResult): Promise<PathComparison> {
    const settings = this.settings();
    this.warnAboutSettings(settings);
    const info = await this.client.ensureModel(await this.modelToLoad(settings));
    this.modelLoaded(info);
    if (a.model.sha256 !== info.sha256 || b.model.sha256 !== info.sha256) {
      throw new UserError('The two results were made with another model than the one set now; analyse them again to compare them.');
    }
    return this.client.request('comparePaths', { a, b });
  }

  /**
   * An intervention on one image with the current model: the top-5 before and after (`target`: the
   * class followed, else the one predicted before). No notification: the panel asks on every change.
   */
  async intervene(imagePath: string, intervention: Intervention, target: number | undefined, signal: AbortSignal): Promise<InterventionRecord> {
    await this.currentModel(this.settings(), signal);
    return this.client.request('intervene', interveneParams(imagePath, intervention, target), { signal });
  }

  /** An intervention on every image of `folder` into the resumable result file `out` (as `batch`), with its per-class effects. */
  interveneFolder(folder: string, out: string, intervention: Intervention, onProgress: (p: BatchProgressInfo) => void, signal?: AbortSignal): Promise<FolderInterventionResult> {
    prepareResultsDir(out);
    return this.folderRun(folder, this.settings(), onProgress, signal, (options) => this.client.request('interveneFolder', { folder, out, intervention }, options));
  }

  /** The current model with the intervention built in, written to `out` (configs copied beside it). */
  exportEdited(intervention: Intervention, out: string): Promise<ExportEditedResult> {
    const settings = this.settings();
    this.warnAboutSettings(settings);
    return Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Neuron Path: writing ${path.basename(out)}`, cancellable: false }, async () => {
      await this.currentModel(settings);
      return this.client.request('exportEdited', { intervention, out });
    }));
  }

  /** The model the settings name, loaded in the worker; its labels are announced when it was not loaded yet. */
  private async currentModel(settings: ResolvedSettings, signal?: AbortSignal): Promise<ModelInfo> {
    const model = await this.modelToLoad(settings);
    const fresh = !this.client.isLoaded(model);
    const info = await this.client.ensureModel(model, { signal });
    if (fresh) this.modelLoaded(info);
    return info;
  }

  private folderRun<T>(folder: string, settings: ResolvedSettings, onProgress: (p: BatchProgressInfo) => void, signal: AbortSignal | undefined,
                       request: (options: { signal: AbortSignal; onProgress: (p: BatchProgressInfo) => void }) => Promise<T>): Promise<T> {
    this.warnAboutSettings(settings);
    return cancellableProgress(`Neuron Path: ${path.basename(folder)}`, signal, async (progress, abortSignal) => {
      let done = 0;
      const model = await this.modelToLoad(settings);
      progress.report({ message: this.client.isLoaded(model) ? 'scanning the folder' : 'loading the model' });
      const info = await this.client.ensureModel(model, { signal: abortSignal });
      this.modelLoaded(info);
      return request({
        signal: abortSignal,
        onProgress: (p) => {
          const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
          progress.report({ increment: Math.max(0, pct - done), message: batchProgressText(p) });
          done = Math.max(done, pct);
          onProgress(p);
        },
      });
    });
  }

  /**
   * The pruning protocol on a batch result file, in the worker with the current model settings (it
   * must be the model that made the file), under a cancellable progress notification.
   */
  prune(resultFile: string, request: PruneRequest, onProgress: (p: BatchProgressInfo) => void, signal?: AbortSignal): Promise<PruningCurve> {
    const settings = this.settings();
    return cancellableProgress(`Neuron Path: pruning check of ${path.basename(resultFile)}`, signal, async (progress, abortSignal) => {
      const info = await this.client.ensureModel(await this.modelToLoad(settings), { signal: abortSignal });
      this.modelLoaded(info);
      return this.client.request('prune', { resultFile, ...request }, {
        signal: abortSignal,
        onProgress: (p) => { progress.report({ message: `${p.done}/${p.total} images` }); onProgress(p); },
      });
    });
  }

  /** The model the worker loaded last, if it is the one with this hash. */
  loadedModel(sha256: string): ModelInfo | undefined {
    return this.lastLoaded?.sha256 === sha256 ? this.lastLoaded : undefined;
  }

  private modelLoaded(info: ModelInfo): void {
    this.lastLoaded = info;
    this.labels.remember(info);
    this._onDidLoadModel.fire(info);
  }

  /** Settings that change the model changed: load it again now if the worker is up (else on next use). */
  private reloadModel(): void {
    if (!this.client.isRunning || !this.client.hasModel) return;
    const settings = this.settings();
    this.modelToLoad(settings).then((model) => {
      if (this.client.isLoaded(model)) return undefined;
      this.output.info(`model settings changed: loading ${settings.model.modelPath}`);
      return this.client.ensureModel(model).then((info) => this.modelLoaded(info));
    }).catch((err: unknown) => { if (!isCancelled(err)) this.reportError(err, 'Loading the model failed'); });
  }

  /** Shows an error to the user (and its details in the output channel). */
  reportError(err: unknown, context: string): string {
    const message = errorMessage(err);
    this.output.error(`${context}: ${err instanceof Error && err.stack && !(err instanceof UserError) ? err.stack : message}`);
    // A crash has been announced once already (onDidCrash), however many requests it ended.
    if (err instanceof WorkerExitedError && err.crashed) return message;
    void vscode.window.showErrorMessage(message, 'Show Output', 'Open Settings').then((choice) => {
      if (choice === 'Show Output') this.output.show(true);
      else if (choice === 'Open Settings') void vscode.commands.executeCommand(COMMANDS.openSettings);
    });
    return message;
  }
}

/** What `visualizeNeurons` reports: the steps of the neuron at `index` and each visualization once it exists. */
export interface VisualizationListener {
  onStep?(index: number, progress: StepProgress): void;
  onDone(index: number, visualization: CachedVisualization): void;
}

/** A visualization's cache key: the model (options and hash), the neuron and the default settings the panels use. */
function visualizationKey(settings: ResolvedSettings, modelSha: string, layer: number, neuron: number): unknown {
  return { model: settings.model, sha256: modelSha, layer, neuron, steps: VISUALIZE_DEFAULTS.steps, seed: VISUALIZE_DEFAULTS.seed };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

/**
 * Runs work under a cancellable notification; the work's signal aborts when the user presses Cancel
 * or when the caller's own signal aborts (a panel closed, a newer run).
 */
function cancellableProgress<T>(title: string, signal: AbortSignal | undefined, work: (progress: Progress, signal: AbortSignal) => Promise<T>): Promise<T> {
  return Promise.resolve(vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      const sub = token.onCancellationRequested(abort);
      signal?.addEventListener('abort', abort, { once: true });
      if (signal?.aborted) controller.abort();
      try {
        return await work(progress, controller.signal);
      } finally {
        sub.dispose();
        signal?.removeEventListener('abort', abort);
      }
    },
  ));
}
