// The image panel's Intervene section on the host: a live top-5 for each setting the page sends (a
// newer request cancels the older one, which gets no answer), the intervention over a folder the
// user picks (resumable, where neuronPath.resultsLocation puts a folder's results; cancellable), and the edited
// model saved where the user says.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isCancelled } from '../engine/errors';
import type { Intervention } from '../engine/intervene';
import { stableKey } from '../protocol/guards';
import type { BatchProgressInfo } from '../operations/progress';
import type { HostToImageWebview, LiveIntervention } from '../protocol/imagePanel';
import { errorMessage, type AnalysisService } from './analysis';
import type { FolderPanelManager } from './folderPanel';
import { PanelJob } from './panelJob';

/** What an intervention's result file of a folder is named after it: one per model and setting, so each resumes on its own. */
export function interventionSuffix(model: unknown, intervention: Intervention): string {
  const key = createHash('sha256').update(stableKey({ model, rows: intervention.rows, settings: intervention.settings })).digest('hex').slice(0, 12);
  return `.intervention-${key}.jsonl`;
}

export class ImageIntervention {
  private live: AbortController | undefined;
  /** The folder run: one at a time, stopped by Cancel, forgotten when the panel closes. */
  private readonly folderRun: PanelJob<BatchProgressInfo>;

  constructor(
    private readonly service: AnalysisService,
    /** Where a folder's results go (neuronPath.resultsLocation). */
    private readonly folders: Pick<FolderPanelManager, 'resultFileFor'>,
    private readonly imageUri: vscode.Uri,
    private readonly post: (m: HostToImageWebview) => void,
    /** The class the shown analysis explains, followed by the intervention (else the class predicted before). */
    private readonly target: () => number | undefined,
  ) {
    this.folderRun = new PanelJob((err, subject) => this.service.reportError(err, subject));
  }

  async intervene(requestId: number, intervention: Intervention): Promise<void> {
    this.live?.abort();
    const controller = new AbortController();
    this.live = controller;
    try {
      const r = await this.service.intervene(this.imageUri.fsPath, intervention, this.target(), controller.signal);
      if (controller.signal.aborted) return;
      const result: LiveIntervention = { before: r.before, after: r.after, target: r.target, top1After: r.top1After, settings: r.settings, rows: r.rows };
      this.post({ type: 'intervention', requestId, result });
    } catch (err) {
      if (controller.signal.aborted || isCancelled(err)) return;
      this.post({ type: 'intervention', requestId, error: errorMessage(err) });
    } finally {
      if (this.live === controller) this.live = undefined;
    }
  }

  /** Asks for a folder (the image's ImageFolder by default) and runs the intervention over it. */
  async applyToFolder(intervention: Intervention): Promise<void> {
    if (this.folderRun.isRunning) { void vscode.window.showInformationMessage('Neuron Path: an intervention is running over a folder already; cancel it first.'); return; }
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Apply the intervention',
      title: 'Folder of images to run the intervention on (class sub-folders give per-class accuracy)',
      defaultUri: vscode.Uri.joinPath(this.imageUri, '..', '..'),
    });
    if (!picked?.[0]) return;
    const folder = picked[0].fsPath;
    const out = this.folders.resultFileFor(folder, interventionSuffix(this.service.settings().model, intervention));
    this.post({ type: 'folderIntervention', run: { state: 'running', folder } });
    await this.folderRun.run((onProgress, signal) => this.service.interveneFolder(folder, out, intervention, onProgress, signal), {
      subject: `The intervention over ${folder}`,
      progress: (progress) => this.post({ type: 'folderIntervention', run: { state: 'running', folder, progress } }),
      ended: ({ result, cancelled, message }) => this.post({ type: 'folderIntervention', run: result
        ? { state: 'done', folder, intervention, run: result.run, effects: result.effects }
        : { state: 'failed', folder, message: cancelled ? 'Cancelled: run it again to resume.' : message ?? '' } }),
    });
  }

  cancelFolder(): void {
    this.folderRun.cancel();
  }

  /** Asks where to save the edited model (beside the image, by default) and writes it. */
  async exportEdited(intervention: Intervention): Promise<void> {
    const stem = path.parse(this.service.settings().model.modelPath).name || 'model';
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(this.imageUri, '..', `${stem}-edited.onnx`), filters: { 'ONNX model': ['onnx'] }, title: 'Export the edited model',
    });
    if (!target) return;
    try {
      const written = await this.service.exportEdited(intervention, target.fsPath);
      this.post({ type: 'editedModel', out: written.out });
      const copied = written.copied.length ? ` (with ${written.copied.join(', ')} beside it)` : '';
      void vscode.window.showInformationMessage(`Neuron Path: saved the edited model ${vscode.workspace.asRelativePath(target)}${copied}`);
    } catch (err) {
      this.post({ type: 'editedModel', error: this.service.reportError(err, `Writing the edited model ${target.fsPath}`) });
    }
  }

  dispose(): void {
    this.live?.abort();
    this.folderRun.dispose();
  }
}
