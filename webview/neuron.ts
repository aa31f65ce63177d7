// The neuron view's script (bundled to dist/neuron.js): what one neuron responds to over a folder,
// live while the folder is scanned. The top images as a grid with the neuron's map over each and its
// peak patch outlined (a click opens that image's analysis), a per-class chart of mean activation
// (and of how often the neuron is on the class's paths), and the ablation table. Posts `ready` last.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import './image.css';
import './folder.css';
import './neuron.css';
import type { TopImage } from '../src/engine/neurons/summary';
import type { HostToNeuronWebview, NeuronPersistedState, NeuronWebviewToHost } from '../src/protocol/neuronPanel';
import { ChartSlot, readTheme } from './imageCharts';
import { isMessage, Page } from './boot';
import { fill, h } from './dom';
import { RunHeader } from './runHeader';
import { baseName } from './folderState';
import { classChartConfig, histogramChartConfig } from './neuronCharts';
import { classTable, initialNeuronState, neuronStatusText, persistedNeuron, reduceNeuron, visualizationText, type NeuronState } from './neuronState';
import { drawTokenMap } from './overlay';
import { locationParts } from './location';
import { fmt } from './imageState';

const HOST_MESSAGES = ['init', 'summary', 'batchProgress', 'batchDone', 'visualization'];
const page = new Page<NeuronState, HostToNeuronWebview, NeuronWebviewToHost, NeuronPersistedState>({
  initial: initialNeuronState, reduce: reduceNeuron, persist: (s) => (s.folder ? persistedNeuron(s) : undefined),
  accepts: (m): m is HostToNeuronWebview => isMessage(m, HOST_MESSAGES), build, render, testid: 'neuron-panel',
});
const { app, post } = page;

const run = new RunHeader(post, 'Scan progress', 'idle');
const ui = {
  location: h('p', { class: 'caption location', id: 'neuron-location', 'data-testid': 'neuron-location' }),
  topCaption: h('p', { class: 'caption', id: 'top-caption' }),
  topGrid: h('div', { class: 'top-grid', id: 'top-images', 'data-testid': 'top-images' }),
  visualizeButton: h('vscode-button', { id: 'visualize', 'data-testid': 'visualize', onclick: () => post({ type: 'visualize' }) }, 'Visualize'),
  stopVisualizing: h('vscode-button', { id: 'stop-visualizing', secondary: true, onclick: () => post({ type: 'cancelVisualization' }) }, 'Stop'),
  visualizationBar: h('vscode-progress-bar', { id: 'visualization-progress', 'aria-label': 'Visualization progress' }),
  visualizationImage: h('img', { id: 'visualization-image', 'data-testid': 'visualization-image', alt: '' }),
  visualizationCaption: h('p', { class: 'caption', id: 'visualization-caption', role: 'status', 'aria-live': 'polite' }),
  histogramCanvas: h('canvas', { id: 'histogram-chart', role: 'img', 'data-testid': 'histogram' }),
  histogramCaption: h('p', { class: 'caption', id: 'histogram-caption' }),
  chartCanvas: h('canvas', { id: 'class-chart', role: 'img' }),
  chartCaption: h('p', { class: 'caption', id: 'chart-caption' }),
  tableBody: h('tbody', { id: 'ablation' }),
  tableHead: h('tr'),
  tableNote: h('p', { class: 'caption', id: 'ablation-note' }),
};
const chart = new ChartSlot(ui.chartCanvas);
const histogram = new ChartSlot(ui.histogramCanvas);
let drawnTheme = -1;

function section(id: string, title: string, ...children: Node[]): HTMLElement {
  return h('section', { id: `section-${id}`, class: 'section', 'aria-labelledby': `${id}-heading` }, h('h2', { id: `${id}-heading` }, title), ...children);
}

function build(): void {
  const header = h('header', { class: 'top' },
    h('div', { class: 'titles' }, run.title, run.subtitle, ui.location),
    h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Scan actions' }, run.cancelButton, run.resumeButton));
  fill(app, header, h('div', { class: 'progress-line' }, run.progressBar, run.status),
    h('div', { class: 'top-and-visualization' },
      section('top', 'Images that excite it most', ui.topCaption, ui.topGrid),
      section('visualization', 'Visualization', h('div', { class: 'visualization' }, ui.visualizationImage,
        h('div', { class: 'actions' }, ui.visualizeButton, ui.stopVisualizing), ui.visualizationBar, ui.visualizationCaption))),
    section('histogram', 'Activation over the scanned images', ui.histogramCaption, h('div', { class: 'class-chart' }, ui.histogramCanvas)),
    section('classes', 'Per class', ui.chartCaption, h('div', { class: 'class-chart' }, ui.chartCanvas),
      h('div', { class: 'table-scroll' }, h('table', { class: 'data ablation', 'data-testid': 'ablation-table' }, h('thead', null, ui.tableHead), ui.tableBody)), ui.tableNote));
}

function render(): void {
  const s = page.state, prev = page.previous;
  run.title.textContent = s.title || `Layer ${s.layer}, neuron ${s.neuron}`;
  run.subtitle.textContent = [s.folder ? `Folder ${s.folder}` : '', s.summary ? `${s.summary.images} images` : '',
    s.pathsFile ? `paths from ${baseName(s.pathsFile)}` : ''].filter(Boolean).join(' · ');
  run.render(s, neuronStatusText(s));
  renderVisualization(s);
  if (!prev || prev.location !== s.location || prev.layer !== s.layer || prev.neuron !== s.neuron) {
    // The block and its FFN nodes, as the image panel's path card names them.
    fill(ui.location, ...locationParts(s.layer, s.neuron, s.location?.nodes, s.location?.gated ?? false, (text) => post({ type: 'copy', text })));
  }
  if (!prev || prev.summary !== s.summary || prev.imageUris !== s.imageUris || drawnTheme !== page.themeVersion) {
    renderTop(s);
    renderHistogram(s);
    renderClasses(s);
    drawnTheme = page.themeVersion;
  }
}

function renderTop(s: NeuronState): void {
  const sum = s.summary;
  if (!sum || !sum.top.length) {
    ui.topCaption.textContent = s.status === 'running' ? 'The images appear here as the folder is scanned.' : 'No scanned image yet.';
    fill(ui.topGrid);
    return;
  }
  ui.topCaption.textContent = `The ${sum.top.length} images of ${sum.images} where layer ${sum.layer}, neuron ${sum.neuron} is most active at the readout; `
    + `colour: its activation at each of the ${sum.grid[0]}×${sum.grid[1]} patches (brighter is stronger), box: the patch where it peaks. Select an image to open its analysis.`;
  fill(ui.topGrid, ...sum.top.map((t, i) => tile(t, i, sum.grid)));
}

function tile(t: TopImage, rank: number, grid: [number, number]): HTMLElement {
  const canvas = h('canvas', { class: 'overlay', 'aria-hidden': 'true' });
  if (t.map) drawTokenMap(canvas, { layer: 0, neuron: 0, grid, values: t.map });
  else canvas.hidden = true;
  const peak = h('span', { class: 'peak', 'aria-hidden': 'true', 'data-testid': 'peak' });
  peak.style.setProperty('--top', `${(100 * t.peak.row) / grid[0]}%`);
  peak.style.setProperty('--left', `${(100 * t.peak.col) / grid[1]}%`);
  peak.style.setProperty('--h', `${100 / grid[0]}%`);
  peak.style.setProperty('--w', `${100 / grid[1]}%`);
  const src = page.state.imageUris[t.image];
  const name = baseName(t.image);
  return h('figure', { class: 'top-image', 'data-testid': 'top-image', 'data-image': t.image, 'data-activation': String(t.activation), 'data-rank': String(rank) },
    h('button', {
      class: 'tile', type: 'button', title: `Open the analysis of ${name}`,
      'aria-label': `${rank + 1}: ${name}, ${t.group}, activation ${fmt(t.activation)}, peak at patch row ${t.peak.row + 1}, column ${t.peak.col + 1}. Open its analysis`,
      onclick: () => post({ type: 'openImage', image: t.image }),
    }, src ? h('img', { src, alt: '' }) : h('span', { class: 'caption' }, name), canvas, peak),
    h('figcaption', null, h('span', null, `${rank + 1}. ${name}`), h('br'),
      h('span', { class: 'muted' }, `${t.group} · act ${fmt(t.activation)} · peak ${fmt(t.peak.value)}`)));
}

function renderVisualization(s: NeuronState): void {
  const v = s.visualization;
  ui.visualizeButton.hidden = v.running || !!v.visualization;
  ui.stopVisualizing.hidden = !v.running;
  ui.visualizationBar.hidden = !v.running;
  if (v.running && v.steps) {
    ui.visualizationBar.indeterminate = false;
    ui.visualizationBar.max = v.steps;
    ui.visualizationBar.value = v.step ?? 0;
  }
  const uri = v.visualization?.uri;
  ui.visualizationImage.hidden = !uri;
  if (uri && ui.visualizationImage.getAttribute('src') !== uri) ui.visualizationImage.src = uri;
  ui.visualizationImage.alt = uri ? `Feature visualization of layer ${s.layer}, neuron ${s.neuron}` : '';
  ui.visualizationCaption.textContent = visualizationText(v, s.summary?.top[0]?.activation);
}

function renderHistogram(s: NeuronState): void {
  const sum = s.summary;
  if (!sum) { ui.histogramCaption.textContent = ''; histogram.clear(); return; }
  const { edges, counts, topBins } = sum.histogram;
  ui.histogramCaption.textContent = `How many of the ${sum.images} images reach each activation (${counts.length} bins from ${fmt(edges[0])} to ${fmt(edges[edges.length - 1])}; `
    + `counts on a log scale); red: the ${topBins.length === 1 ? 'bin' : `${topBins.length} bins`} of the ${sum.top.length} images above.`;
  ui.histogramCanvas.setAttribute('aria-label', `Histogram of the activation of layer ${sum.layer} neuron ${sum.neuron} over ${sum.images} images: `
    + counts.map((c, i) => (c ? `${c} from ${fmt(edges[i])}` : '')).filter(Boolean).join(', '));
  histogram.show(histogramChartConfig(readTheme(), sum));
}

function renderClasses(s: NeuronState): void {
  const sum = s.summary;
  const rows = classTable(sum);
  const onPaths = !!sum && [...sum.classes, sum.all].some((c) => c.onPaths !== null);
  const ablation = !!sum?.all.ablated;
  fill(ui.tableHead, ...['class', 'images', 'activation (mean ± std)', ...(onPaths ? ['on paths'] : []),
    ablation ? 'accuracy: clean → zeroed' : 'accuracy', ablation ? 'P(target): clean → zeroed' : 'P(target)']
    .map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)));
  fill(ui.tableBody, ...rows.map((r) => h('tr', { 'data-testid': 'class-row', 'data-class': r.key, class: r.key === 'all' ? 'total' : '' },
    h('th', { scope: 'row' }, r.label), h('td', { class: 'num' }, r.images), h('td', { class: 'num' }, r.activation),
    ...(onPaths ? [h('td', { class: 'num' }, r.onPaths)] : []),
    h('td', { class: 'num' }, r.accuracy), h('td', { class: `num${r.drop !== undefined && r.drop < -0.01 ? ' worse' : ''}` }, r.probability))));
  ui.tableNote.textContent = !sum ? '' : (ablation
    ? 'Zeroed: the neuron set to 0 at the readout token(s) in a live pass of each image. Accuracy: the top-1 is the folder class (else the clean prediction); P(target): that class\u2019s mean probability.'
    : 'This neuron was scanned as part of its whole layer: no ablation (scan it alone for that).')
    + (onPaths ? ' On paths: share of the class\u2019s analysed images whose neuron path goes through it.' : '');
  if (sum && sum.classes.length) {
    ui.chartCaption.textContent = `Mean activation of layer ${sum.layer}, neuron ${sum.neuron} at the readout per class${onPaths ? ', and the share of each class\u2019s paths through it' : ''}.`;
    ui.chartCanvas.setAttribute('aria-label', `Per-class mean activation of layer ${sum.layer} neuron ${sum.neuron}; the values are in the table below.`);
    chart.show(classChartConfig(readTheme(), sum));
  } else {
    ui.chartCaption.textContent = '';
    chart.clear();
  }
}

page.start();
