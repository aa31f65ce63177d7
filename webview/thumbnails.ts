// The feature-visualization thumbnails of the image panel's path cards and the folder panel's heatmap
// cells, and the bar that computes the missing ones (in the worker, one neuron after another: a button,
// a progress bar, Stop and a line of text). The host sends a ThumbnailStatus; both pages keep it in
// their state and draw from it. The pages register the button and progress bar elements; the text
// is pure (unit tested).
import type { VscodeButton, VscodeProgressBar } from '@vscode-elements/elements';
import { neuronRefKey, type NeuronRef, type ThumbnailStatus } from '../src/protocol/thumbnails';
import { h } from './dom';

/** The neuron's thumbnail, where its visualization exists. */
export function thumbnail(status: ThumbnailStatus, layer: number, neuron: number): HTMLImageElement | null {
  const uri = status.uris[neuronRefKey(layer, neuron)];
  return uri ? h('img', {
    class: 'thumbnail', src: uri, alt: '', 'data-testid': 'thumbnail', draggable: false,
    'data-layer': String(layer), 'data-neuron': String(neuron),
  }) : null;
}

/** The neurons of `shown` without a visualization yet. */
export function missingThumbnails(status: ThumbnailStatus, shown: readonly NeuronRef[]): NeuronRef[] {
  return shown.filter((n) => !status.uris[neuronRefKey(n.layer, n.neuron)]).map((n) => ({ layer: n.layer, neuron: n.neuron }));
}

/** The bar's line: what runs, why it stopped, or what the button would do. `what`: the neurons, as the page names them. */
export function thumbnailText(status: ThumbnailStatus, shown: readonly NeuronRef[], what: string): string {
  const r = status.running;
  if (r) {
    const step = r.step !== undefined && r.steps ? `, step ${r.step} of ${r.steps}` : '';
    return `Visualizing layer ${r.layer}, neuron ${r.neuron} (${r.done + 1} of ${r.total}${step})...`;
  }
  const missing = missingThumbnails(status, shown).length;
  const stopped = status.message ? `${status.message} ` : '';
  if (shown.length === 0) return stopped;
  if (missing === 0) return `${stopped}Each of ${what} shows its feature visualization: the image that excites the neuron most.`;
  return `${stopped}${missing} of ${shown.length} ${what} have no feature visualization yet (about ${missing} x 256 gradient steps in the worker; the panel stays usable).`;
}

/** The button, progress bar, Stop and line of text that compute a page's missing thumbnails. */
export class ThumbnailBar {
  readonly element: HTMLElement;
  private readonly button: VscodeButton;
  private readonly stop: VscodeButton;
  private readonly bar: VscodeProgressBar;
  private readonly text: HTMLElement;

  constructor(label: string, onVisualize: () => void, onStop: () => void) {
    this.button = h('vscode-button', { secondary: true, 'data-testid': 'visualize-thumbnails', onclick: onVisualize }, label);
    this.stop = h('vscode-button', { secondary: true, 'data-testid': 'stop-thumbnails', onclick: onStop }, 'Stop');
    this.bar = h('vscode-progress-bar', { 'aria-label': 'Feature visualization progress' });
    this.text = h('p', { class: 'caption', role: 'status', 'aria-live': 'polite', 'data-testid': 'thumbnails-status' });
    this.element = h('div', { class: 'thumbnail-bar', 'data-testid': 'thumbnail-bar' }, h('div', { class: 'row-actions' }, this.button, this.stop, this.bar), this.text);
  }

  render(status: ThumbnailStatus, shown: readonly NeuronRef[], what: string): void {
    const r = status.running;
    this.element.hidden = shown.length === 0;
    this.button.hidden = !!r || missingThumbnails(status, shown).length === 0;
    this.stop.hidden = !r;
    this.bar.hidden = !r;
    if (r) {
      this.bar.indeterminate = false;
      this.bar.max = 100;
      this.bar.value = (100 * (r.done + (r.step !== undefined && r.steps ? r.step / r.steps : 0))) / Math.max(1, r.total);
    }
    this.text.textContent = thumbnailText(status, shown, what);
  }
}
