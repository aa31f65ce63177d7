// The analysis panel: one webview panel per image (keyed by its file path). The host keeps the
// panel's model (last result, the run in progress and its progress) and sends it whole as `init`
// whenever the webview (re)loads and says `ready`; live updates follow as small messages.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisResult, LayerProgress } from '../engine/result';
import { isCancelled } from '../engine/errors';
import { missingBaselines } from '../engine/options';
import { stableKey } from '../protocol/guards';
import type { NeuronRef } from '../protocol/thumbnails';
import { isImagePersistedState, isImageWebviewToHost, type ExportRequest, type HostToImageWebview, type ImageInit, type TargetChoice, type ImageWebviewToHost } from '../protocol/imagePanel';
import { AnalysisService, errorMessage, type ImageAnalysis } from './analysis';
import { COMMANDS, INTERNAL_COMMANDS } from './commandIds';
import { exportStem, pathCsv, pngFromDataUrl, resultJson } from './export';
import { isRegularFile } from '../engine/files';
import type { FolderPanelManager } from './folderPanel';
import { ImageIntervention } from './imageIntervention';
import { PanelThumbnails } from './thumbnails';
import { PanelManagerBase, panelKey, WebviewPanelHost, webviewOptions } from './webviewPanel';
import { SECTION } from './settings';

// The id VS Code saves open panels under (and package.json's activation event names): kept from
// before the image panel had its prefix, so panels open before an update are revived after it.
export const IMAGE_VIEW_TYPE = 'neuronPath.panel';

/** The image panel also reads the image's folder and the feature visualizations of its path cards. */
const imagePanelOptions = (extensionUri: vscode.Uri, imageUri: vscode.Uri, service: AnalysisService) =>
  webviewOptions(extensionUri, [vscode.Uri.joinPath(imageUri, '..'), vscode.Uri.file(service.visualizationDir)]);

export class ImagePanelManager extends PanelManagerBase<ImagePanel> {
  constructor(private readonly context: vscode.ExtensionContext, private readonly service: AnalysisService, private readonly folders: Pick<FolderPanelManager, 'resultFileFor'>) {
    super();
    // The image must still be a regular file: its folder becomes the panel's resource root.
    this.registerSerializer(IMAGE_VIEW_TYPE, isImagePersistedState, (s) => panelKey(s.imagePath), (webviewPanel, s) => this.revive(webviewPanel, s.imagePath, s.target),
      (s) => isRegularFile(s.imagePath));
    this.register(service.onDidLoadModel((info) => {
      for (const p of this.panels.values()) p.setLabels(info.labels, info.sha256);
    }));
  }

  /** Shows the image's panel (creating it) and runs the analysis unless a result is there already. */
  open(imageUri: vscode.Uri, target?: TargetChoice): ImagePanel {
    const key = panelKey(imageUri.fsPath);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      if (target !== undefined && target !== existing.currentTarget) void existing.run(target);
      else void existing.refresh();
      return existing;
    }
    const webviewPanel = vscode.window.createWebviewPanel(
      IMAGE_VIEW_TYPE, panelTitle(imageUri.fsPath), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      imagePanelOptions(this.context.extensionUri, imageUri, this.service),
    );
    const panel = this.add(webviewPanel, imageUri, target ?? this.service.settings().analyze.target);
    void panel.start(true);
    return panel;
  }

  private revive(webviewPanel: vscode.WebviewPanel, imagePath: string, target: TargetChoice | undefined): void {
    const imageUri = vscode.Uri.file(imagePath);
    webviewPanel.webview.options = imagePanelOptions(this.context.extensionUri, imageUri, this.service);
    const panel = this.add(webviewPanel, imageUri, target ?? this.service.settings().analyze.target);
    void panel.start(false);
  }

  private add(webviewPanel: vscode.WebviewPanel, imageUri: vscode.Uri, target: TargetChoice): ImagePanel {
    return this.track(panelKey(imageUri.fsPath), new ImagePanel(webviewPanel, imageUri, target, this.context, this.service, this.folders));
  }
}

function panelTitle(fsPath: string): string {
  return `Neuron Path: ${path.basename(fsPath)}`;
}

function sameAnalysis(a: AnalysisResult, b: AnalysisResult): boolean {
  return a === b || (a.model.sha256 === b.model.sha256 && a.image.sha256 === b.image.sha256
    && stableKey(a.settings) === stableKey(b.settings) && a.jas === b.jas && a.target.probability === b.target.probability
    && a.path.length === b.path.length
    && a.path.every((p, i) => p.neuron === b.path[i].neuron));
}

/**
 * A run in progress. `analysis`: what it analyses (settings, hashes, cache key), once known;
 * `pathResult`: its complete result without baselines, once the path is known (a cancel then keeps
 * it under the run's analysis); `skip`: the user asked to skip the baselines (the run stops once the path is known).
 */
interface Run { runId: number; controller: AbortController; target: TargetChoice; analysis?: ImageAnalysis; progress?: LayerProgress; pathResult?: AnalysisResult; skip?: boolean }

let runCounter = 0;

export class ImagePanel extends WebviewPanelHost<HostToImageWebview> {
  private result: AnalysisResult | undefined;
  private cached = false;
  private running: Run | undefined;
  private error: string | undefined;
  /** The last progress of a run cancelled before its path was complete (shown as a partial path). */
  private cancelled: LayerProgress | undefined;
  private baselinesCancelled = false;
  private labels: string[] | undefined;
  private preview: string | undefined;
  private readonly intervention: ImageIntervention;
  private readonly thumbnails: PanelThumbnails;

  constructor(
    panel: vscode.WebviewPanel,
    readonly imageUri: vscode.Uri,
    private target: TargetChoice,
    context: vscode.ExtensionContext,
    private readonly service: AnalysisService,
    folders: Pick<FolderPanelManager, 'resultFileFor'>,
  ) {
    super(panel, context, 'image', panelTitle(imageUri.fsPath));
    this.intervention = new ImageIntervention(service, folders, imageUri, (m) => this.post(m), () => this.result?.target.class);
    this.thumbnails = new PanelThumbnails(service, panel.webview, (status) => this.post({ type: 'thumbnails', status }));
  }

  get imagePath(): string { return this.imageUri.fsPath; }
  get currentTarget(): TargetChoice { return this.target; }
  get hasResult(): boolean { return this.result !== undefined; }
  get isRunning(): boolean { return this.running !== undefined; }
  /** For tests and the e2e harness: what the panel shows. */
  get currentResult(): AnalysisResult | undefined { return this.result; }

  /** Shows a cached result at once; otherwise runs the analysis (`runIfMissing`) or waits for the user. */
  async start(runIfMissing: boolean): Promise<void> {
    const { analysis, cached } = await this.lookup();
    if (this.isDisposed) return;
    if (cached) {
      this.result = cached;
      this.cached = true;
      this.labels ??= this.service.labels.of(cached.model.sha256);
      this.sendInit();
    } else if (runIfMissing) {
      await this.run(this.target, undefined, analysis);
    }
  }

  /** The analysis under the current settings and its cached result; none when the image or model cannot be read (a run then says why). */
  private async lookup(): Promise<{ analysis?: ImageAnalysis; cached?: AnalysisResult }> {
    try {
      const analysis = await this.service.prepare(this.imagePath, this.target);
      return { analysis, cached: await this.service.cached(analysis) };
    } catch {
      return {};
    }
  }

  /**
   * Asked for again: keep the shown result if it is still what the current settings give, show the
   * cached one if the settings changed to something analysed before, else run the analysis.
   */
  async refresh(): Promise<void> {
    if (this.running) return;
    const { analysis, cached } = await this.lookup();
    if (this.isDisposed || this.running) return;
    if (!cached) { await this.run(this.target, undefined, analysis); return; }
    if (this.result && sameAnalysis(cached, this.result)) return;
    this.result = cached;
    this.cached = true;
    this.error = undefined;
    this.post({ type: 'result', runId: ++runCounter, result: cached, cached: true });
    this.showThumbnails();
  }

  /** The path cards' thumbnails: the cached visualizations of the shown result's path neurons. */
  private showThumbnails(): void {
    if (this.result) void this.thumbnails.show(this.result.model.sha256, this.result.path);
  }

  /** Computes the visualizations the shown path's neurons lack (only neurons of that path: the page is not trusted). */
  private visualizeNeurons(neurons: NeuronRef[]): void {
    const result = this.result;
    if (!result) return;
    const onPath = result.path.filter((p) => neurons.some((n) => n.layer === p.layer && n.neuron === p.neuron));
    void this.thumbnails.compute(result.model.sha256, onPath, `Visualizing the path neurons of ${this.imagePath}`);
  }

  setLabels(labels: string[], modelSha: string): void {
    if (this.result && this.result.model.sha256 !== modelSha) return;
    this.labels = labels;
    this.post({ type: 'labels', labels });
  }

  /**
   * Runs the analysis explaining `target` (its cached result where there is one); with `prior` (the
   * shown result), only its missing baselines. `missed`: the analysis of `target` just looked up in
   * the cache and not found there.
   */
  async run(target: TargetChoice, prior?: AnalysisResult, missed?: ImageAnalysis): Promise<void> {
    if (this.running) {
      if (this.running.target === target && !prior) return;
      this.running.controller.abort();
    }
    const run: Run = { runId: ++runCounter, controller: new AbortController(), target };
    this.running = run;
    this.target = target;
    this.error = undefined;
    this.cancelled = undefined;
    const wanted = this.service.settings().analyze.baselines;
    this.post({ type: 'runStarted', runId: run.runId, target, baselines: prior ? missingBaselines(prior, wanted) : wanted, ...(prior ? { reusesPath: true } : {}) });
    try {
      const analysis = missed ?? await this.service.prepare(this.imagePath, target);
      run.analysis = analysis;
      const hit = missed || prior ? undefined : await this.service.cached(analysis);
      const result = hit ?? await this.service.run(analysis, {
        onProgress: (progress) => {
          if (this.running !== run) return;
          const { pathResult, ...rest } = progress;
          if (pathResult) {
            run.pathResult = pathResult;
            if (run.skip) run.controller.abort();
          }
          run.progress = rest;
          this.post({ type: 'progress', runId: run.runId, progress: rest });
        },
      }, run.controller.signal, prior);
      if (this.running !== run || this.isDisposed) return;
      this.show(run, result, hit !== undefined, false);
    } catch (err) {
      if (this.running !== run || this.isDisposed) return;
      const cancelled = isCancelled(err);
      // Cancelled (or skipped) after the path: a complete result without baselines, kept like any result.
      if (cancelled && run.pathResult && run.analysis) {
        void this.service.keep(run.analysis, run.pathResult);
        this.show(run, run.pathResult, false, true);
        return;
      }
      this.running = undefined;
      // Cancelled while the path grew: the path so far stays on screen, marked partial.
      if (cancelled && !prior && run.progress?.partialPath?.length) this.cancelled = run.progress;
      // Otherwise the panel goes back to the last result, and so does the target the next run explains.
      else if (this.result) this.target = this.result.settings.target;
      const message = cancelled ? 'The analysis was cancelled.' : this.service.reportError(err, `Analyzing ${this.imagePath}`);
      if (!cancelled) this.error = message;
      this.post({ type: 'runFailed', runId: run.runId, message, cancelled });
    }
  }

  private show(run: Run, result: AnalysisResult, cached: boolean, baselinesCancelled: boolean): void {
    this.result = result;
    this.cached = cached;
    this.baselinesCancelled = baselinesCancelled;
    this.labels ??= this.service.labels.of(result.model.sha256);
    this.running = undefined;
    this.post({ type: 'result', runId: run.runId, result, cached, ...(baselinesCancelled ? { baselinesCancelled } : {}) });
    this.showThumbnails();
  }

  cancel(): void {
    this.running?.controller.abort();
  }

  /** Stops the run once its path is known: at once when it is, else when the path arrives. */
  skipBaselines(): void {
    const run = this.running;
    if (!run) return;
    run.skip = true;
    if (run.pathResult) run.controller.abort();
  }

  protected receive(raw: unknown): void {
    if (!isImageWebviewToHost(raw)) return;
    const message: ImageWebviewToHost = raw;
    switch (message.type) {
      case 'ready': this.ready = true; this.sendInit(); return;
      case 'analyze': void this.run(message.target); return;
      case 'cancel': this.cancel(); return;
      case 'skipBaselines': this.skipBaselines(); return;
      case 'runBaselines': if (this.result && !this.running) void this.run(this.result.settings.target, this.result); return;
      case 'openSettings': void vscode.commands.executeCommand(COMMANDS.openSettings); return;
      case 'export': void this.export(message.request); return;
      case 'imageError': void this.sendPreview(); return;
      case 'neuronView': void vscode.commands.executeCommand(INTERNAL_COMMANDS.openNeuronView, { image: this.imagePath, layer: message.layer, neuron: message.neuron }); return;
      case 'compare': void vscode.commands.executeCommand(COMMANDS.comparePaths, this.imagePath); return;
      case 'intervene': void this.intervention.intervene(message.requestId, message.intervention); return;
      case 'interveneFolder': void this.intervention.applyToFolder(message.intervention); return;
      case 'cancelInterveneFolder': this.intervention.cancelFolder(); return;
      case 'exportEdited': void this.intervention.exportEdited(message.intervention); return;
      case 'visualizeNeurons': this.visualizeNeurons(message.neurons); return;
      case 'cancelVisualizeNeurons': this.thumbnails.cancel(); return;
      case 'setFast': void this.setFast(message.fast); return;
    }
  }

  /** The panel's Fast box sets `neuronPath.fast` where it is set now (the workspace's, else the user's); the next run uses it. */
  private async setFast(fast: boolean): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const target = config.inspect<boolean>('fast')?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await config.update('fast', fast, target);
    this.sendInit();
  }

  private sendInit(): void {
    if (!this.ready) return;
    const settings = this.service.settings();
    const init: ImageInit = {
      imagePath: this.imagePath,
      imageUri: this.panel.webview.asWebviewUri(this.imageUri).toString(),
      fileName: path.basename(this.imagePath),
      modelName: this.service.modelName(this.result?.model.path),
      labels: this.labels,
      target: this.target,
      result: this.result,
      cached: this.cached,
      running: this.running ? { runId: this.running.runId, progress: this.running.progress } : undefined,
      cancelled: this.cancelled,
      wantedBaselines: settings.analyze.baselines,
      fast: settings.fast,
      error: this.error,
    };
    this.post({ type: 'init', init });
    if (this.preview) this.post({ type: 'preview', dataUri: this.preview });
    this.post({ type: 'thumbnails', status: this.thumbnails.current });
    this.showThumbnails();
  }

  private async sendPreview(): Promise<void> {
    if (this.preview) { this.post({ type: 'preview', dataUri: this.preview }); return; }
    try {
      const { dataUri } = await this.service.client.request('preview', { imagePath: this.imagePath, maxSize: 1024 });
      this.preview = dataUri;
      this.post({ type: 'preview', dataUri });
    } catch (err) {
      this.service.reportError(err, `Previewing ${this.imagePath}`);
    }
  }

  private async export(request: ExportRequest): Promise<void> {
    let bytes: Uint8Array;
    let stem: string;
    let filters: Record<string, string[]>;
    if (request.format === 'png') {
      const png = pngFromDataUrl(request.dataUrl);
      if (!png) return;
      bytes = png;
      stem = exportStem(this.imagePath, request.name);
      filters = { 'PNG image': ['png'] };
    } else {
      if (!this.result) { void vscode.window.showInformationMessage('Neuron Path: there is no result to export yet.'); return; }
      const text = request.format === 'json' ? resultJson(this.result) : pathCsv(this.result);
      bytes = Buffer.from(text, 'utf8');
      stem = exportStem(this.imagePath, request.format === 'csv' ? 'path' : '');
      filters = request.format === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] };
    }
    const ext = request.format;
    const defaultUri = vscode.Uri.joinPath(this.imageUri, '..', `${stem}.${ext}`);
    const target = await vscode.window.showSaveDialog({ defaultUri, filters, title: `Export ${ext.toUpperCase()}` });
    if (!target) return;
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      void vscode.window.showInformationMessage(`Neuron Path: saved ${vscode.workspace.asRelativePath(target)}`);
    } catch (err) {
      void vscode.window.showErrorMessage(`Neuron Path: could not save ${target.fsPath}: ${errorMessage(err)}`);
    }
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.running?.controller.abort();
    this.running = undefined;
    this.intervention.dispose();
    this.thumbnails.dispose();
    super.dispose();
  }
}
