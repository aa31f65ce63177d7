// Two images' paths side by side: the command "Neuron Path: Compare Two Paths..." (also the image
// panel's "Compare with..." button) picks two analysed images, from the open image panels and the
// records of the open folder panels, and opens a panel with the shared neurons, each path neuron's
// rank among the other image's scores and the JAS of each path on the other image (computed in the
// worker with the loaded model).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisResult } from '../engine/result';
import type { PathComparison } from '../engine/pathCompare';
import { isCompareWebviewToHost, type CompareInit, type CompareSide, type HostToCompareWebview } from '../protocol/comparePanel';
import type { AnalysisService } from './analysis';
import { COMMANDS } from './commandIds';
import type { FolderPanelManager } from './folderPanel';
import type { ImagePanelManager } from './imagePanel';
import { findRecord } from './resultFile';
import { PanelManagerBase, panelKey, WebviewPanelHost, webviewOptions } from './webviewPanel';

export const COMPARE_VIEW_TYPE = 'neuronPath.comparePanel';

interface Candidate { image: string; source: string; load(): AnalysisResult | undefined | Promise<AnalysisResult | undefined> }

export class ComparePanelManager extends PanelManagerBase<ComparePanel> {
  constructor(private readonly context: vscode.ExtensionContext, private readonly service: AnalysisService,
              private readonly images: ImagePanelManager, private readonly folders: FolderPanelManager) {
    super();
    this.register(vscode.commands.registerCommand(COMMANDS.comparePaths, (first?: unknown, second?: unknown) =>
      this.compare(typeof first === 'string' ? first : undefined, typeof second === 'string' ? second : undefined)));
  }

  /** Analysed images to compare: the open image panels' results first, then the open folder results' records. */
  private async candidates(): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const p of this.images.openPanels) {
      const r = p.currentResult;
      if (r) out.push({ image: r.image.path, source: 'image panel', load: () => p.currentResult });
    }
    for (const f of this.folders.openPanels) {
      for (const image of await f.analysedImages()) {
        if (!out.some((c) => c.image === image)) out.push({ image, source: path.basename(f.resultFile), load: () => findRecord(f.resultFile, image) });
      }
    }
    return out;
  }

  private async pick(candidates: Candidate[], placeHolder: string): Promise<Candidate | undefined> {
    const picked = await vscode.window.showQuickPick(candidates.map((c) => ({ label: path.basename(c.image), description: c.source, detail: c.image, candidate: c })),
      { placeHolder, matchOnDescription: true, matchOnDetail: true });
    return picked?.candidate;
  }

  /** Compares two analysed images (given by path, else picked). */
  async compare(first?: string, second?: string): Promise<ComparePanel | undefined> {
    const all = await this.candidates();
    const find = (image: string | undefined) => (image ? all.find((c) => c.image === image) : undefined);
    const a = find(first) ?? (all.length >= 2 ? await this.pick(all, 'The first analysed image to compare') : undefined);
    const others = a ? all.filter((c) => c.image !== a.image) : [];
    if (a && !find(second) && others.length === 0) {
      // An empty picker ("0 Results") would not say why.
      void vscode.window.showInformationMessage(`Neuron Path: there is no other analysed image to compare ${path.basename(a.image)} with. Analyse another image (or open a folder's results), then choose Compare with... again.`);
      return undefined;
    }
    const b = a && (find(second) ?? await this.pick(others, `Compare ${path.basename(a.image)} with...`));
    if (!a || !b) {
      if (all.length < 2) void vscode.window.showInformationMessage('Neuron Path: analyse two images first (image panels, or an open folder result), then compare them.');
      return undefined;
    }
    const [ra, rb] = [await a.load(), await b.load()];
    if (!ra || !rb) { void vscode.window.showErrorMessage('Neuron Path: the result of one of the images is no longer there; analyse it again.'); return undefined; }
    const key = `${panelKey(ra.image.path)}|${panelKey(rb.image.path)}`;
    this.panels.get(key)?.dispose();
    const webviewPanel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, `Compare: ${path.basename(ra.image.path)} · ${path.basename(rb.image.path)}`,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      webviewOptions(this.context.extensionUri, [vscode.Uri.file(path.dirname(ra.image.path)), vscode.Uri.file(path.dirname(rb.image.path))]));
    const panel = this.track(key, new ComparePanel(webviewPanel, ra, rb, this.context, this.service));
    await panel.run();
    return panel;
  }
}

export class ComparePanel extends WebviewPanelHost<HostToCompareWebview> {
  private comparison: PathComparison | undefined;
  private error: string | undefined;

  constructor(panel: vscode.WebviewPanel, readonly a: AnalysisResult, readonly b: AnalysisResult, context: vscode.ExtensionContext,
              private readonly service: AnalysisService) {
    super(panel, context, 'compare', `Compare ${path.basename(a.image.path)} and ${path.basename(b.image.path)}`);
  }

  /** For tests: what the panel shows. */
  get currentComparison(): PathComparison | undefined { return this.comparison; }

  async run(): Promise<void> {
    try {
      this.comparison = await this.service.comparePaths(this.a, this.b);
      this.post({ type: 'comparison', comparison: this.comparison });
    } catch (err) {
      this.error = this.service.reportError(err, `Comparing ${this.a.image.path} and ${this.b.image.path}`);
      this.post({ type: 'failed', message: this.error });
    }
  }

  private side(r: AnalysisResult): CompareSide {
    return { image: r.image.path, imageUri: this.panel.webview.asWebviewUri(vscode.Uri.file(r.image.path)).toString(), fileName: path.basename(r.image.path) };
  }

  protected receive(raw: unknown): void {
    if (!isCompareWebviewToHost(raw)) return;
    if (raw.type === 'ready') {
      this.ready = true;
      const init: CompareInit = { a: this.side(this.a), b: this.side(this.b), comparison: this.comparison, error: this.error };
      this.post({ type: 'init', init });
      return;
    }
    const image = (raw.side === 'a' ? this.a : this.b).image.path;
    void vscode.commands.executeCommand(COMMANDS.analyzeImage, vscode.Uri.file(image));
  }
}
