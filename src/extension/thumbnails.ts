// A panel's feature-visualization thumbnails (the image panel's path cards, the folder panel's
// heatmap): the cached visualizations of the neurons it shows, looked up without computing anything,
// and on the user's request the missing ones computed in the worker one after another, as a panel job
// (one at a time, Stop, nothing said once the panel closes), with their progress sent to the page.
// The host only reads the cache's small files.
import * as vscode from 'vscode';
import { neuronRefKey, type NeuronRef, type ThumbnailStatus } from '../protocol/thumbnails';
import type { AnalysisService } from './analysis';
import { PanelJob } from './panelJob';

export class PanelThumbnails {
  private status: ThumbnailStatus = { uris: {} };
  /** Computing the missing ones: its progress is the status itself (each step, each new thumbnail). */
  private readonly computing: PanelJob<ThumbnailStatus>;
  /** Bumped by every `show`: a lookup that a newer one overtook is dropped. */
  private shown = 0;

  constructor(private readonly service: AnalysisService, private readonly webview: vscode.Webview,
              private readonly post: (status: ThumbnailStatus) => void) {
    this.computing = new PanelJob((err, subject) => service.reportError(err, subject));
  }

  get current(): ThumbnailStatus { return this.status; }

  /** Shows the cached visualizations of `neurons` of the model `modelSha` (the others have none). */
  async show(modelSha: string, neurons: readonly NeuronRef[]): Promise<void> {
    const ticket = ++this.shown;
    const found = await this.service.cachedVisualizations(modelSha, neurons);
    if (ticket !== this.shown) return;
    this.update({ uris: Object.fromEntries([...found].map(([key, v]) => [key, this.uri(v.png)])) });
  }

  /** Computes the visualizations `neurons` lack, in order; a second call while one runs does nothing. */
  async compute(modelSha: string, neurons: readonly NeuronRef[], subject: string): Promise<void> {
    if (this.computing.isRunning) return;
    const missing = neurons.filter((n) => !this.status.uris[neuronRefKey(n.layer, n.neuron)]);
    if (missing.length === 0) return;
    let done = 0;
    const running = (i: number, step?: number, steps?: number) => ({ done, total: missing.length, layer: missing[i].layer, neuron: missing[i].neuron, step, steps });
    this.update({ uris: this.status.uris, running: running(0) });
    await this.computing.run((onProgress, signal) => this.service.visualizeNeurons(missing, {
      onStep: (i, p) => onProgress({ uris: this.status.uris, running: running(i, p.step, p.steps) }),
      onDone: (i, v) => {
        done = i + 1;
        const uris = { ...this.status.uris, [neuronRefKey(missing[i].layer, missing[i].neuron)]: this.uri(v.png) };
        onProgress({ uris, running: done < missing.length ? running(done) : undefined });
      },
    }, signal, modelSha), {
      subject,
      progress: (status) => this.update(status),
      ended: (end) => {
        const message = end.cancelled ? 'Stopped.' : end.message;
        this.update({ uris: this.status.uris, ...(message ? { message } : {}) });
      },
    });
  }

  /** Stops the computation; what it finished stays. */
  cancel(): void { this.computing.cancel(); }

  /** Stops the computation and says nothing more (the panel is closing). */
  dispose(): void { this.computing.dispose(); }

  private uri(png: string): string {
    return this.webview.asWebviewUri(vscode.Uri.file(png)).toString();
  }

  private update(status: ThumbnailStatus): void {
    this.status = status;
    this.post(status);
  }
}
