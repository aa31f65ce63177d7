// The folder panel's pruning section: a small form (neurons kept per block, held-out share, blocks,
// zeroed fractions), run and stop, then the accuracy curves (chart and table) of the pruning
// protocol the host runs in the worker on the panel's result file.
import type { FolderWebviewToHost } from '../src/protocol/folderPanel';
import { ChartSlot, readTheme } from './imageCharts';
import { fill, h } from './dom';
import { pruningChart } from './folderCharts';
import { PRUNING_DEFAULTS } from '../src/engine/options';
import { DEFAULT_FRACTIONS, PRUNE_NAMES, pruneRequestOf, pruningRows, pruningText, type FolderState } from './folderState';

export class PruningSection {
  readonly element: HTMLElement;
  private readonly inputs = {
    keep: h('input', { id: 'prune-keep', type: 'number', min: '0', value: String(PRUNING_DEFAULTS.keep), 'data-testid': 'prune-keep' }),
    holdout: h('input', { id: 'prune-holdout', type: 'number', min: '0', max: '99', value: String(PRUNING_DEFAULTS.holdout * 100), 'data-testid': 'prune-holdout' }),
    layers: h('input', { id: 'prune-layers', type: 'number', min: '1', placeholder: 'all', 'data-testid': 'prune-layers' }),
    fractions: h('input', { id: 'prune-fractions', type: 'text', value: DEFAULT_FRACTIONS, 'data-testid': 'prune-fractions' }),
  };
  private readonly runButton = h('vscode-button', { id: 'prune-run', 'data-testid': 'prune-run' }, 'Run pruning check');
  private readonly stopButton = h('vscode-button', { id: 'prune-stop', secondary: true, 'data-testid': 'prune-stop' }, 'Stop');
  private readonly status = h('p', { class: 'caption', id: 'prune-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'prune-status' });
  private readonly canvas = h('canvas', { id: 'pruning-chart', role: 'img', 'aria-label': 'Accuracy against the share of neurons zeroed, per variant' });
  private readonly body = h('tbody', { id: 'pruning-table', 'data-testid': 'pruning-table' });
  private readonly result = h('div', { class: 'pruning-result' });
  private readonly chart = new ChartSlot(this.canvas);

  constructor(private readonly post: (m: FolderWebviewToHost) => void) {
    this.runButton.addEventListener('click', () => this.submit());
    this.stopButton.addEventListener('click', () => this.post({ type: 'cancelPrune' }));
    const field = (label: string, input: HTMLInputElement, hint: string) =>
      h('label', { class: 'prune-field', title: hint }, h('span', null, label), input);
    fill(this.result,
      h('div', { class: 'chart-box' }, this.canvas),
      h('div', { class: 'table-scroll' }, h('table', { class: 'data', 'aria-label': 'Accuracy per share of neurons zeroed' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Zeroed'),
          ...Object.values(PRUNE_NAMES).map((n) => h('th', { scope: 'col', class: 'num' }, n)))),
        this.body)));
    this.element = h('section', { id: 'section-pruning', class: 'section', 'aria-labelledby': 'pruning-heading' },
      h('h2', { id: 'pruning-heading' }, 'Pruning'),
      h('p', { class: 'caption' }, 'Per class, the kept neurons are the most frequent path neurons of part of its images; the accuracy is measured on the others. '
        + 'Controls: as many of the activation baseline\u2019s neurons, or random ones. Needs the model that made the file and the images.'),
      h('form', { class: 'prune-form', onsubmit: (e: Event) => { e.preventDefault(); this.submit(); } },
        field('Neurons kept per block', this.inputs.keep, 'the most frequent path neurons of the class (every neuron of top-K paths counts)'),
        field('Held out (%)', this.inputs.holdout, 'share of each class\u2019s images the accuracy is measured on; 0: the same images'),
        field('Blocks', this.inputs.layers, 'prune only the first N blocks (empty: all)'),
        field('Zeroed (%)', this.inputs.fractions, 'shares of each block\u2019s neurons zeroed at random, comma-separated'),
        this.runButton, this.stopButton),
      this.status, this.result);
  }

  private submit(): void {
    const v = this.inputs;
    const request = pruneRequestOf({ keep: v.keep.value, holdout: v.holdout.value, layers: v.layers.value, fractions: v.fractions.value });
    if (typeof request === 'string') { this.status.textContent = request; this.status.classList.add('error'); return; }
    this.post({ type: 'prune', request });
  }

  render(s: FolderState, themeChanged: boolean, previous?: FolderState): void {
    const p = s.pruning;
    const running = p.status === 'running';
    this.runButton.toggleAttribute('disabled', running || !s.report || s.status === 'running');
    this.stopButton.hidden = !running;
    this.status.dataset.state = p.status;
    this.status.classList.toggle('error', p.status === 'error');
    this.status.textContent = pruningText(s);
    this.result.hidden = !p.curve;
    if (!p.curve) { this.chart.clear(); return; }
    if (themeChanged || previous?.pruning.curve !== p.curve) {
      this.chart.show(pruningChart(readTheme(), p.curve));
      fill(this.body, ...pruningRows(p.curve).map((row) => h('tr', { 'data-testid': 'pruning-row' },
        h('th', { scope: 'row' }, row.zeroed), ...row.cells.map((c) => h('td', { class: 'num' }, c)))));
    }
  }
}
