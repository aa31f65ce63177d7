// The neuron view: one webview panel per (folder, layer, neuron), fed with the engine's summary of
// the folder's neuron scan (a resumable .jsonl like a folder analysis: reopening shows it at once,
// running again scans only what is new). While the scan runs in the worker the file is re-read and
// re-summarised at most once a second. Opened from a path card of the image panel (over the image's
// folder) or a heatmap cell of the folder panel (over its folder), with the internal command
// `neuronPath.openNeuronView`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { recordsOf } from '../engine/batch/records';
import { isErrorLine } from '../engine/batch/schema';
import { loadReports } from '../engine/batch/report';
import { readResultFile } from '../engine/batch/resultFile';
import { neuronScanSuffix } from '../engine/batch/schema';
import { NEURON_RECORDS } from '../engine/neurons/records';
import { summarizeNeuron, type NeuronSummary } from '../engine/neurons/summary';
import { NEURON_TOP_IMAGES } from '../engine/options';
import type { StepProgress } from '../operations/operation';
import { runningProgress } from '../operations/progress';
import { isNeuronPersistedState, isNeuronWebviewToHost, type HostToNeuronWebview, type NeuronInit, type NeuronLocation, type NeuronWebviewToHost, type VisualizationStatus } from '../protocol/neuronPanel';
import type { AnalysisService } from './analysis';
import { COMMANDS, INTERNAL_COMMANDS } from './commandIds';
import type { FolderPanelManager } from './folderPanel';
import { FolderRun, PanelJob } from './panelJob';
import { imagesLeft } from './resultFile';
import { PanelManagerBase, panelKey, WebviewPanelHost, webviewOptions } from './webviewPanel';

export const NEURON_VIEW_TYPE = 'neuronPath.neuronPanel';
const REFRESH_MS = 1000;

/** Where the neuron view of an image scans: the image's folder, or its parent when the parent has a folder analysis (ImageFolder layout). */
export function scanFolderOfImage(image: string, hasFolderResult: (folder: string) => boolean): string {
  const dir = path.dirname(image), parent = path.dirname(dir);
  return parent !== dir && hasFolderResult(parent) ? parent : dir;
}

const isFolder = (dir: string) => fs.promises.stat(dir).then((st) => st.isDirectory(), () => false);
const isFile = (file: string) => fs.promises.stat(file).then((st) => st.isFile(), () => false);

export interface OpenNeuronViewArgs { folder?: string; image?: string; layer: number; neuron: number }

export class NeuronPanelManager extends PanelManagerBase<NeuronPanel> {
  constructor(private readonly context: vscode.ExtensionContext, private readonly service: AnalysisService, private readonly folders: FolderPanelManager) {
    super();
    // The folder becomes a resource root of the page: it must still be a folder.
    this.registerSerializer(NEURON_VIEW_TYPE, isNeuronPersistedState, (s) => neuronKey(s.folder, s.layer, s.neuron), async (webviewPanel, s) => {
      webviewPanel.webview.options = this.options(s.folder);
      // Read before the page asks: a revived view shows its file at once.
      await this.add(webviewPanel, s.folder, s.layer, s.neuron).refresh();
    }, (s) => isFolder(s.folder));
    this.register(vscode.commands.registerCommand(INTERNAL_COMMANDS.openNeuronView, (args: OpenNeuronViewArgs) => this.open(args)));
  }

  /** Shows the neuron view (creating it) and scans the folder, resuming its scan file. */
  async open(args: OpenNeuronViewArgs): Promise<NeuronPanel | undefined> {
    const folder = args.folder ?? (args.image ? scanFolderOfImage(args.image, (f) => fs.existsSync(this.folders.resultFileFor(f))) : undefined);
    if (!folder || !Number.isInteger(args.layer) || !Number.isInteger(args.neuron)) return undefined;
    const key = neuronKey(folder, args.layer, args.neuron);
    let panel = this.panels.get(key);
    if (panel) panel.reveal();
    else {
      const webviewPanel = vscode.window.createWebviewPanel(NEURON_VIEW_TYPE, neuronTitle(folder, args.layer, args.neuron),
        { viewColumn: vscode.ViewColumn.Active, preserveFocus: false }, this.options(folder));
      panel = this.add(webviewPanel, folder, args.layer, args.neuron);
    }
    await panel.runScan();
    return panel;
  }

  /** The page reads the folder's images and the cached visualizations. */
  private options(folder: string): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return webviewOptions(this.context.extensionUri, [vscode.Uri.file(folder), vscode.Uri.file(this.service.visualizationDir)]);
  }

  private add(webviewPanel: vscode.WebviewPanel, folder: string, layer: number, neuron: number): NeuronPanel {
    const resultFile = this.folders.resultFileFor(folder, neuronScanSuffix([{ layer, neuron }]));
    const pathsFile = this.folders.resultFileFor(folder);
    return this.track(neuronKey(folder, layer, neuron), new NeuronPanel(webviewPanel, { folder, layer, neuron, resultFile, pathsFile }, this.context, this.service));
  }
}

const neuronKey = (folder: string, layer: number, neuron: number) => `${panelKey(folder)}#${layer}:${neuron}`;
const neuronTitle = (folder: string, layer: number, neuron: number) => `Neuron L${layer}:${neuron} · ${path.basename(folder)}/`;

export class NeuronPanel extends WebviewPanelHost<HostToNeuronWebview> {
  private readonly scan: FolderRun;
  private summary: NeuronSummary | undefined;
  private usedPaths: string | undefined;
  /** Images of the folder the scan file lacks, while no scan runs (see read). */
  private left: number | undefined;
  private location: NeuronLocation | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Reads one at a time: a refresh waits for the one before it. */
  private reading: Promise<void> = Promise.resolve();
  private visualization: VisualizationStatus = { running: false };
  private readonly visualizing: PanelJob<StepProgress>;
  readonly folder: string;
  readonly layer: number;
  readonly neuron: number;
  readonly resultFile: string;
  /** The folder analysis whose paths the "on paths" frequencies come from, where it exists. */
  private readonly pathsFile: string;

  constructor(panel: vscode.WebviewPanel, where: { folder: string; layer: number; neuron: number; resultFile: string; pathsFile: string },
              context: vscode.ExtensionContext, private readonly service: AnalysisService) {
    super(panel, context, 'neuron', neuronTitle(where.folder, where.layer, where.neuron));
    ({ folder: this.folder, layer: this.layer, neuron: this.neuron, resultFile: this.resultFile, pathsFile: this.pathsFile } = where);
    const reportError = (err: unknown, subject: string) => service.reportError(err, subject);
    this.scan = new FolderRun(reportError, { post: (m) => this.post(m), refresh: () => this.refresh() });
    this.visualizing = new PanelJob(reportError);
    this.register({ dispose: () => clearTimeout(this.timer) });
  }

  get isRunning(): boolean { return this.scan.isRunning; }
  /** For tests and the e2e harness: what the view shows. */
  get currentSummary(): NeuronSummary | undefined { return this.summary; }

  /** Scans (or resumes scanning) the folder; a second call while one runs only shows the panel. */
  async runScan(): Promise<void> {
    if (this.scan.isRunning) { this.reveal(); return; }
    const units = [{ layer: this.layer, neuron: this.neuron }];
    await this.scan.start((onProgress, signal) => {
      void this.refresh();
      return this.service.neuronScan(this.folder, this.resultFile, units, onProgress, signal);
    }, `Scanning ${this.folder} for layer ${this.layer}, neuron ${this.neuron}`, (p) => {
      if (p.latest && this.timer === undefined) this.timer = setTimeout(() => { this.timer = undefined; void this.refresh(); }, REFRESH_MS);
    });
  }

  cancel(): void { this.scan.cancel(); }

  /** The neuron's feature visualization: the cached one at once, else computed in the worker with its steps shown. */
  async visualize(): Promise<void> {
    if (this.visualizing.isRunning) return;
    this.showVisualization({ running: true });
    await this.visualizing.run((onStep, signal) => this.service.visualizeNeuron(this.layer, this.neuron, onStep, signal), {
      subject: `Visualizing layer ${this.layer}, neuron ${this.neuron}`,
      progress: (p) => this.showVisualization({ running: true, step: p.step, steps: p.steps }),
      ended: ({ result, cancelled, message }) => this.showVisualization(result ? { running: false, visualization: {
        uri: this.panel.webview.asWebviewUri(vscode.Uri.file(result.png)).toString(), activation: result.record.finalActivation,
        steps: result.record.settings.steps, seed: result.record.settings.seed, seconds: result.record.timing.seconds,
      } } : { running: false, error: cancelled ? 'Stopped.' : message }),
    });
  }

  /** For tests: what the view's visualization shows. */
  get currentVisualization(): VisualizationStatus { return this.visualization; }

  private showVisualization(status: VisualizationStatus): void {
    this.visualization = status;
    this.post({ type: 'visualization', status });
  }

  /** Re-reads the scan file (and the folder analysis, if any) and sends the new summary. */
  refresh(): Promise<void> {
    const next = this.reading.then(() => this.read());
    this.reading = next;
    return next;
  }

  /** Streamed, like every result file the host reads: the host's thread stays free. */
  private async read(): Promise<void> {
    try {
      const { lines } = await readResultFile(this.resultFile, { kind: NEURON_RECORDS });
      const records = recordsOf(lines);
      if (!records.length) return;
      // Resume only where there is something to scan: the last scan's count, else (a view revived
      // after a reload, with no run of its own) the folder's images the file holds no line of.
      this.left = this.scan.isRunning ? undefined : this.scan.left ?? imagesLeft(this.folder, lines.map((l) => (isErrorLine(l) ? l.image : l.image.path)));
      let patterns;
      try { patterns = (await isFile(this.pathsFile)) ? (await loadReports([this.pathsFile])).report.patterns : undefined; } catch { patterns = undefined; }
      this.usedPaths = patterns ? this.pathsFile : undefined;
      this.summary = summarizeNeuron(records, this.layer, this.neuron, { top: NEURON_TOP_IMAGES.view, patterns });
      // The FFN's node names come from the model that made the records, once the worker has it loaded.
      const info = this.service.loadedModel(records[0].model.sha256);
      const nodes = info?.blocks[this.layer];
      if (nodes) this.location = { nodes, gated: info.ffn === 'gated' };
      this.post({ type: 'summary', summary: this.summary, imageUris: this.imageUris(this.summary), pathsFile: this.usedPaths, location: this.location, left: this.left });
    } catch (err) {
      this.scan.error = `Could not read ${this.resultFile}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private imageUris(s: NeuronSummary): Record<string, string> {
    return Object.fromEntries(s.top.map((t) => [t.image, this.panel.webview.asWebviewUri(vscode.Uri.file(t.image)).toString()]));
  }

  protected receive(raw: unknown): void {
    if (!isNeuronWebviewToHost(raw)) return;
    const message: NeuronWebviewToHost = raw;
    switch (message.type) {
      case 'ready': this.ready = true; this.sendInit(); return;
      case 'cancel': this.cancel(); return;
      case 'resume': void this.runScan(); return;
      case 'visualize': void this.visualize(); return;
      case 'cancelVisualization': this.visualizing.cancel(); return;
      case 'openImage': {
        // Only images the view shows (the page's content is not trusted).
        if (!this.summary?.top.some((t) => t.image === message.image)) return;
        if (!fs.existsSync(message.image)) {
          void vscode.window.showErrorMessage(`Neuron Path: the image ${message.image} does not exist any more (was it moved or deleted?).`);
          return;
        }
        void vscode.commands.executeCommand(COMMANDS.analyzeImage, vscode.Uri.file(message.image));
      }
    }
  }

  private sendInit(): void {
    if (!this.ready) return;
    const init: NeuronInit = {
      folder: this.folder, resultFile: this.resultFile, layer: this.layer, neuron: this.neuron,
      title: `Layer ${this.layer}, neuron ${this.neuron}: what excites it`,
      summary: this.summary, imageUris: this.summary ? this.imageUris(this.summary) : undefined, pathsFile: this.usedPaths, location: this.location,
      running: runningProgress(this.scan.running),
      left: this.scan.isRunning ? undefined : this.scan.left ?? this.left,
      error: this.scan.error,
      visualization: this.visualization,
    };
    this.post({ type: 'init', init });
  }

  override dispose(): void {
    if (this.isDisposed) return;
    // Closing the view stops its scan; the file keeps what is done and the next run resumes it.
    this.scan.dispose();
    this.visualizing.dispose();
    super.dispose();
  }
}
