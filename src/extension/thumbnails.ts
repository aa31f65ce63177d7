// A panel's feature-visualization thumbnails (the image panel's path cards, the folder panel's
// heatmap): the cached visualizations of the neurons it shows, looked up without computing anything,
// and on the user's request the missing ones computed in the worker one after another, with their
// progress sent to the page and a stop. The host only reads the cache's small files.
import * as vscode from 'vscode';
import { isCancelled } from '../engine/errors';
import { neuronRefKey, type NeuronRef, type ThumbnailStatus } from '../protocol/thumbnails';
import type { AnalysisService } from './analysis';

export class PanelThumbnails {
  private status: ThumbnailStatus = { uris: {} };
  private computing: AbortController | undefined;
  /** Bumped by every `show`: a lookup that a newer one overtook is dropped. */
  private shown = 0;

  constructor(private readonly service: AnalysisService, private readonly webview: vscode.Webview,
              private readonly post: (status: ThumbnailStatus) => void) {}

  get current(): ThumbnailStatus { return this.status; }

  /** Shows the cached visualizations of `neurons` of the model `modelSha` (the others have none). */
  async show(modelSha: string, neurons: readonly NeuronRef[]): Promise<void> {
    const ticket = ++this.shown;
    const found = await this.service.cachedVisualizations(modelSha, neurons);
    if (ticket !== this.shown) return;
    this.update({ uris: Object.fromEntries([...found].map(([key, v]) => [key, this.uri(v.png)])) });
  }

  /** Computes the visualizations `neurons` lack, in order; a second call while one runs does nothing. */
  async compute(modelSha: string, neurons: readonly NeuronRef[], context: string): Promise<void> {
    if (this.computing) return;
    const missing = neurons.filter((n) => !this.status.uris[neuronRefKey(n.layer, n.neuron)]);
    if (missing.length === 0) return;
    const controller = new AbortController();
    this.computing = controller;
    let done = 0;
    const running = (i: number, step?: number, steps?: number) => ({ done, total: missing.length, layer: missing[i].layer, neuron: missing[i].neuron, step, steps });
    this.update({ uris: this.status.uris, running: running(0) });
    try {
      await this.service.visualizeNeurons(missing, {
        onStep: (i, p) => { if (this.computing === controller) this.update({ uris: this.status.uris, running: running(i, p.step, p.steps) }); },
        onDone: (i, v) => {
          done = i + 1;
          const uris = { ...this.status.uris, [neuronRefKey(missing[i].layer, missing[i].neuron)]: this.uri(v.png) };
          this.update({ uris, running: done < missing.length ? running(done) : undefined });
        },
      }, controller.signal, modelSha);
      this.update({ uris: this.status.uris });
    } catch (err) {
      this.update({ uris: this.status.uris, message: isCancelled(err) ? 'Stopped.' : this.service.reportError(err, context) });
    } finally {
      if (this.computing === controller) this.computing = undefined;
    }
  }

  cancel(): void { this.computing?.abort(); }

  private uri(png: string): string {
    return this.webview.asWebviewUri(vscode.Uri.file(png)).toString();
  }

  private update(status: ThumbnailStatus): void {
    this.status = status;
    this.post(status);
  }
}
