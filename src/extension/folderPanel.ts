// The folder panel: one webview panel per batch result file (keyed by its path), fed with the
// engine's report of the file. While the panel's batch runs in the worker the file is re-read and
// re-summarised every `neuronPath.batch.refreshEvery` images (and at most every few seconds), and
// the progress goes to the page. Otherwise the panel follows its files every few seconds (a CLI or
// a cluster run may be writing them). A panel's result is a file, a folder of result files or one
// run's shard files (see resultFile.ts). The page posts `ready` last; the host answers with `init`.
// The page's pruning form runs the pruning protocol on the result in the worker.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runningProgress } from '../operations/progress';
import { isFolderPersistedState, isFolderWebviewToHost, type FolderInit, type FolderWebviewToHost, type HostToFolderWebview, type PruneRequest } from '../protocol/folderPanel';
import type { NeuronRef } from '../protocol/thumbnails';
import type { AnalysisService } from './analysis';
import { checkAppendable, readResultFile } from '../engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../engine/batch/records';
import { isRegularFile } from '../engine/files';
import { COMMANDS, INTERNAL_COMMANDS } from './commandIds';
import { filesOf, findRecord, folderOfResultFile, imagesLeft, reportImages, resultReader, type ResultReader } from './resultFile';
import { ANALYSIS_SCHEMA, RESULT_SUFFIX } from '../engine/batch/schema';
import { folderOfAwayFile, isResultsLocation, resultFileOf, type ResultsPlaces } from './resultsLocation';
import { SECTION } from './settings';
import { FolderRun, PanelJob } from './panelJob';
import { PanelThumbnails } from './thumbnails';
import { PanelManagerBase, panelKey, WebviewPanelHost, webviewOptions } from './webviewPanel';

export const FOLDER_VIEW_TYPE = 'neuronPath.folderPanel';
/** At most one re-summary per this many ms while a batch runs (besides every N images); how often files are followed. */
const REFRESH_MS = 5000;

/**
 * A revived panel reads only regular files that are neuron-path result files (state from the page is
 * not trusted): the file itself, or every file of a shard set (`x.shard-*-of-N.jsonl`).
 */
async function isResultSource(source: string): Promise<boolean> {
  const files = await filesOf(source);
  return files.length > 0 && files.every((file) => {
    try { checkAppendable(file, ANALYSIS_SCHEMA); return isRegularFile(file); } catch { return false; }
  });
}

const isFolder = (dir: string) => fs.promises.stat(dir).then((st) => st.isDirectory(), () => false);

export class FolderPanelManager extends PanelManagerBase<FolderPanel> {
  constructor(private readonly context: vscode.ExtensionContext, private readonly service: AnalysisService) {
    super();
    this.registerSerializer(FOLDER_VIEW_TYPE, isFolderPersistedState, (s) => panelKey(s.resultFile), async (webviewPanel, s) => {
      webviewPanel.webview.options = this.options();
      // The folder a batch would analyse: only one that exists, else the one beside the file.
      const folder = s.folder && await isFolder(s.folder) ? s.folder : await folderOfResultFile(s.resultFile);
      this.add(webviewPanel, s.resultFile, folder);
    }, (s) => isResultSource(s.resultFile));
  }

  /** Where results go now, per `neuronPath.resultsLocation` (for `folder`'s workspace folder). */
  resultsPlaces(folder?: string): ResultsPlaces {
    const value = vscode.workspace.getConfiguration(SECTION).get<string>('resultsLocation', 'nextToData');
    const workspace = (folder ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(folder)) : undefined) ?? vscode.workspace.workspaceFolders?.[0];
    return {
      location: isResultsLocation(value) ? value : 'nextToData',
      workspaceRoot: workspace?.uri.fsPath,
      storage: (this.context.storageUri ?? this.context.globalStorageUri).fsPath,
    };
  }

  /** Where the batch of `folder` writes (and resumes) its results; `suffix` names another kind of result file of the folder (a neuron scan's). */
  resultFileFor(folder: string, suffix = RESULT_SUFFIX): string {
    return resultFileOf(folder, this.resultsPlaces(folder), suffix);
  }

  /** Analyzes a folder (resuming its result file) with its panel showing the results live. */
  async analyzeFolder(folder: string): Promise<FolderPanel> {
    const panel = this.show(this.resultFileFor(folder), folder);
    await panel.runBatch();
    return panel;
  }

  /** Shows a result file without computing anything. */
  async openResults(file: string): Promise<FolderPanel> {
    return this.show(file, await folderOfResultFile(file) ?? await this.folderOfAwayFile(file));
  }

  /** The folder of a result file in the workspace's or the extension's results folder, found from its first image. */
  private async folderOfAwayFile(file: string): Promise<string | undefined> {
    let first: string | undefined;
    try {
      await readResultFile(file, { kind: ANALYSIS_RECORDS, filter: (l) => { first ??= typeof l.image === 'string' ? l.image : l.image.path; return false; } });
    } catch { return undefined; }
    const folder = folderOfAwayFile(file, first, this.resultsPlaces(first));
    return folder && await isFolder(folder) ? folder : undefined;
  }

  private show(resultFile: string, folder: string | undefined): FolderPanel {
    const existing = this.panels.get(panelKey(resultFile));
    if (existing) { existing.reveal(); void existing.refresh(true); return existing; }
    const webviewPanel = vscode.window.createWebviewPanel(
      FOLDER_VIEW_TYPE, folderTitle(resultFile, folder), { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      this.options(),
    );
    return this.add(webviewPanel, resultFile, folder);
  }

  /** The page reads the feature visualizations of its heatmap cells. */
  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return webviewOptions(this.context.extensionUri, [vscode.Uri.file(this.service.visualizationDir)]);
  }

  private add(webviewPanel: vscode.WebviewPanel, resultFile: string, folder: string | undefined): FolderPanel {
    return this.track(panelKey(resultFile), new FolderPanel(webviewPanel, resultFile, folder, this.context, this.service));
  }
}

function folderTitle(resultFile: string, folder: string | undefined): string {
  return `Neuron Path: ${folder ? `${path.basename(folder)}/` : path.basename(resultFile)}`;
}

export class FolderPanel extends WebviewPanelHost<HostToFolderWebview> {
  private readonly reader: ResultReader;
  private readonly batch: FolderRun;
  private readonly pruning: PanelJob<{ done: number; total: number }>;
  private timer: NodeJS.Timeout | undefined;
  private readonly thumbnails: PanelThumbnails;
  /** The heatmap cells the page shows (their thumbnails are looked up again when the report changes). */
  private shownNeurons: NeuronRef[] = [];

  constructor(
    panel: vscode.WebviewPanel,
    readonly resultFile: string,
    readonly folder: string | undefined,
    context: vscode.ExtensionContext,
    private readonly service: AnalysisService,
  ) {
    super(panel, context, 'folder', folderTitle(resultFile, folder));
    this.thumbnails = new PanelThumbnails(service, panel.webview, (status) => this.post({ type: 'thumbnails', status }));
    const reportError = (err: unknown, subject: string) => service.reportError(err, subject);
    this.batch = new FolderRun(reportError, { post: (m) => this.post(m), refresh: () => this.refresh(false) });
    this.pruning = new PanelJob(reportError);
    this.reader = resultReader(resultFile);
    // Follow the files while no batch of this panel writes them (that one refreshes as it goes).
    const follow = setInterval(() => { if (!this.batch.isRunning && this.ready) void this.refresh(false); }, REFRESH_MS);
    follow.unref();
    this.register({ dispose: () => { clearTimeout(this.timer); clearInterval(follow); } });
  }

  get isRunning(): boolean { return this.batch.isRunning; }

  /** The images the result file holds records of (read up to now). */
  async analysedImages(): Promise<string[]> {
    await this.reader.read();
    return this.reader.summary().report?.patterns.images ?? [];
  }

  /** Runs (or resumes) the folder's batch; a second call while one runs only shows the panel. */
  async runBatch(): Promise<void> {
    if (!this.folder) {
      void vscode.window.showErrorMessage(`Neuron Path: the folder that ${path.basename(this.resultFile)} was made from is not known (it is found next to the file, or from the file's images). Run "Neuron Path: Analyze Folder" on the folder instead.`);
      return;
    }
    if (this.batch.isRunning) { this.reveal(); return; }
    const folder = this.folder;
    const every = Math.max(1, Number(vscode.workspace.getConfiguration(SECTION).get<number>('batch.refreshEvery')) || 10);
    // Re-read every `every` images, and at most every REFRESH_MS while images come.
    let sinceRefresh = 0, lastRefresh = Date.now();
    const result = await this.batch.start((onProgress, signal) => this.service.batch(folder, this.resultFile, onProgress, signal), `Analyzing the folder ${folder}`, (p) => {
      if (p.latest) sinceRefresh++;
      if (sinceRefresh >= every || (sinceRefresh > 0 && Date.now() - lastRefresh >= REFRESH_MS)) {
        sinceRefresh = 0;
        lastRefresh = Date.now();
        this.refreshSoon();
      }
    });
    const failed = result?.failed ? `, ${result.failed} could not be analysed (see the panel)` : '';
    if (result && !result.cancelled) void vscode.window.setStatusBarMessage(`Neuron Path: ${path.basename(folder)}: ${result.total} images${failed}.`, 8000);
  }

  cancel(): void { this.batch.cancel(); }

  /** Runs the pruning protocol on this panel's file in the worker; the page gets the progress and the curve. */
  async prune(request: PruneRequest): Promise<void> {
    if (this.pruning.isRunning) return;
    if (this.batch.isRunning) { this.post({ type: 'pruneDone', cancelled: false, message: 'The folder\'s batch is still running; run the pruning check when it has finished.' }); return; }
    this.post({ type: 'pruneProgress', done: 0, total: 0 });
    await this.pruning.run((onProgress, signal) => this.service.prune(this.resultFile, request, onProgress, signal), {
      subject: `The pruning check of ${this.resultFile}`,
      progress: (p) => this.post({ type: 'pruneProgress', done: p.done, total: p.total }),
      ended: (end) => this.post(end.result ? { type: 'pruneDone', curve: end.result, cancelled: false } : { type: 'pruneDone', cancelled: end.cancelled, message: end.message }),
    });
  }

  /** Re-reads the file and sends the new summary (when there is something new, or `force`). */
  async refresh(force: boolean): Promise<void> {
    let changed: boolean;
    try {
      changed = await this.reader.read();
    } catch (err) {
      this.batch.error = `Could not read ${this.resultFile}: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    if (!changed && !force) return;
    const { report, skipped } = this.reader.summary();
    if (report) this.post({ type: 'report', report, skipped });
    this.showThumbnails();
  }

  private refreshSoon(): void {
    clearTimeout(this.timer);
    // Off the progress callback, so a large file never delays the worker's messages.
    this.timer = setTimeout(() => void this.refresh(false), 50);
  }

  protected receive(raw: unknown): void {
    if (!isFolderWebviewToHost(raw)) return;
    const message: FolderWebviewToHost = raw;
    switch (message.type) {
      case 'ready': this.ready = true; void this.sendInit(); return;
      case 'cancel': this.cancel(); return;
      case 'resume': void this.runBatch(); return;
      case 'prune': void this.prune(message.request); return;
      case 'cancelPrune': this.pruning.cancel(); return;
      case 'openImage': void this.openImage(message.image); return;
      case 'showNeurons': this.shownNeurons = message.neurons; this.showThumbnails(); return;
      case 'visualizeNeurons': {
        const report = this.reader.summary().report;
        if (report) void this.thumbnails.compute(report.model.sha256, this.ofReport(message.neurons), `Visualizing the heatmap neurons of ${this.resultFile}`);
        return;
      }
      case 'cancelVisualizeNeurons': this.thumbnails.cancel(); return;
      case 'neuronView':
        if (this.folder) void vscode.commands.executeCommand(INTERNAL_COMMANDS.openNeuronView, { folder: this.folder, layer: message.layer, neuron: message.neuron });
        return;
    }
  }

  /** The thumbnails of the heatmap cells shown: the cached visualizations of their neurons. */
  private showThumbnails(): void {
    const report = this.reader.summary().report;
    if (report) void this.thumbnails.show(report.model.sha256, this.ofReport(this.shownNeurons));
  }

  /** The neurons that are on some path of the report (the page is not trusted). */
  private ofReport(neurons: readonly NeuronRef[]): NeuronRef[] {
    const classes = this.reader.summary().report?.patterns.classes ?? [];
    return neurons.filter((n) => classes.some((c) => c.layers[n.layer]?.some((f) => f.neuron === n.neuron)));
  }

  private async openImage(image: string): Promise<void> {
    // Only images of this result file (the page's content is not trusted).
    const { report } = this.reader.summary();
    if (!report?.patterns.images.includes(image)) return;
    if (!(await fs.promises.stat(image).then(() => true, () => false))) {
      void vscode.window.showErrorMessage(`Neuron Path: the image ${image} does not exist any more (was it moved or deleted?).`);
      return;
    }
    // The batch's own result, when it was made with the current settings: the panel opens at once
    // (and does not wait behind a running batch in the worker).
    const record = await findRecord(this.resultFile, image);
    if (record) await this.service.adoptBatchRecord(record);
    await vscode.commands.executeCommand(COMMANDS.analyzeImage, vscode.Uri.file(image));
  }

  private async sendInit(): Promise<void> {
    if (!this.ready) return;
    let readError: string | undefined;
    try { await this.reader.read(); } catch (err) { readError = `Could not read ${this.resultFile}: ${err instanceof Error ? err.message : String(err)}`; }
    const { report, skipped, error } = this.reader.summary();
    const missing = !(await this.reader.exists());
    const init: FolderInit = {
      resultFile: this.resultFile,
      folder: this.folder,
      title: this.folder ? path.basename(this.folder) : path.basename(this.resultFile),
      report, skipped,
      running: runningProgress(this.batch.running),
      left: this.folder && !this.batch.isRunning ? imagesLeft(this.folder, reportImages(report)) : undefined,
      error: this.batch.error ?? readError ?? (this.batch.isRunning || missing ? undefined : error),
      bundledModelPath: this.service.bundledModelPath,
    };
    this.post({ type: 'init', init });
    this.post({ type: 'thumbnails', status: this.thumbnails.current });
  }

  override dispose(): void {
    if (this.isDisposed) return;
    // Closing the panel stops its batch; the file keeps what is done and the next run resumes it.
    this.batch.dispose();
    this.pruning.dispose();
    this.thumbnails.dispose();
    super.dispose();
  }
}
