// The analysis panel's script (bundled to dist/image.js with the vscode-elements components and
// chart.js). It keeps an ImageState (imageState.ts), applies the host's messages to it and redraws the
// sections. It posts `ready` last; the host then sends `init`.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import './image.css';
import { placeholderName } from '../src/engine/classNames';
import { methodRows, type MethodRow } from '../src/engine/methods';
import type { BaselineName, PathNeuron, TokenMap } from '../src/engine/result';
import type { ExportRequest, HostToImageWebview, ImagePersistedState, TargetChoice, ImageWebviewToHost } from '../src/protocol/imagePanel';
import { analysisProgressText, formatPoints, modelLabel, progressPercent, stepsText } from '../src/format';
import { isTargetChoice } from '../src/protocol/imagePanel';
import { ChartSlot, jasChartConfig, manipulationChartConfig, readTheme, scoreChartConfig, type Marker } from './imageCharts';
import { fill, h } from './dom';
import { drawTokenMap } from './overlay';
import { defaultsBanner, drawModelInput, mapBox } from './modelInput';
import { isMessage, Page } from './boot';
import { interveneSection } from './intervene';
import { INTERVENE_MESSAGES } from './interveneState';
import { locationParts } from './location';
import { FAST, isFast } from '../src/engine/options';
import { missingThumbnails, thumbnail, ThumbnailBar } from './thumbnails';
import {
  baselinesToAdd, classCount, classLabel, fmt, initialImageState, methodName, pct, persistedImage, rankLayer, reduceImage, shownPrediction,
  type ImageAction, type ImageState,
} from './imageState';

// What the host sends; the page's own actions (a layer picked, the overlay) never come from outside.
const HOST_MESSAGES: readonly HostToImageWebview['type'][] = ['init', 'runStarted', 'progress', 'result', 'runFailed', 'labels', 'preview', 'thumbnails', ...INTERVENE_MESSAGES];
const page = new Page<ImageState, ImageAction, ImageWebviewToHost, ImagePersistedState>({
  initial: initialImageState, reduce: reduceImage, persist: (s) => (s.imagePath ? persistedImage(s) : undefined),
  accepts: (m): m is ImageAction => isMessage(m, HOST_MESSAGES), build, render, testid: 'panel',
});
const { app, post, dispatch } = page;
const intervene = interveneSection({ state: () => page.state, dispatch, post });

// ---------------------------------------------------------------------------------------------
// Layout (built once)
// ---------------------------------------------------------------------------------------------

const ui = {
  title: h('h1', { id: 'title' }),
  subtitle: h('p', { class: 'subtitle', id: 'subtitle' }),
  leftOut: h('p', { class: 'subtitle left-out', id: 'left-out', hidden: true }),
  fastBox: h('input', {
    id: 'fast', type: 'checkbox', 'data-testid': 'fast',
    onchange: (e: Event) => post({ type: 'setFast', fast: (e.target as HTMLInputElement).checked }),
  }),
  runButton: h('vscode-button', { id: 'run', onclick: () => post({ type: 'analyze', target: page.state.target }) }, 'Analyze'),
  cancelButton: h('vscode-button', { id: 'cancel', secondary: true, 'data-testid': 'cancel', title: 'Stop now: what was found so far stays on screen', onclick: () => post({ type: 'cancel' }) }, 'Cancel'),
  skipButton: h('vscode-button', {
    id: 'skip-baselines', secondary: true, 'data-testid': 'skip-baselines',
    title: 'Stop once the path is complete: a result without the baselines (most of the time of an analysis), which you can compute later from this panel',
    onclick: () => { post({ type: 'skipBaselines' }); ui.skipButton.disabled = true; ui.skipButton.textContent = 'Skipping the baselines...'; },
  }, 'Skip baselines'),
  baselinesButton: h('vscode-button', { id: 'run-baselines', 'data-testid': 'run-baselines', onclick: () => post({ type: 'runBaselines' }) }, 'Compute baselines'),
  jsonButton: h('vscode-button', { id: 'export-json', secondary: true, onclick: () => exportData({ format: 'json' }) }, 'Export JSON'),
  csvButton: h('vscode-button', { id: 'export-csv', secondary: true, onclick: () => exportData({ format: 'csv' }) }, 'Export CSV'),
  compareButton: h('vscode-button', { id: 'compare', secondary: true, 'data-testid': 'compare', title: 'Compare this path with another analysed image\u2019s', onclick: () => post({ type: 'compare' }) }, 'Compare with...'),
  settingsButton: h('vscode-button', { id: 'settings', secondary: true, onclick: () => post({ type: 'openSettings' }) }, 'Settings'),
  progressBar: h('vscode-progress-bar', { id: 'progress', 'aria-label': 'Analysis progress' }),
  status: h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'status', 'data-state': 'idle' }),
  headline: h('p', { id: 'headline', class: 'headline', 'data-testid': 'headline' }),

  image: h('img', { id: 'image', alt: '' }),
  inputCanvas: h('canvas', { id: 'model-input', class: 'model-input', role: 'img', 'aria-label': 'The model\u2019s input: the image resized and cropped as the model saw it' }),
  showInput: h('vscode-checkbox', { id: 'show-input', 'data-testid': 'show-input', label: 'Show the model\u2019s input (resized and cropped as the model saw it)' }),
  prepBanner: h('div', { id: 'preprocessing-warning', class: 'notice', role: 'alert', 'data-testid': 'preprocessing-warning' }),
  overlay: h('canvas', { id: 'overlay', class: 'overlay', role: 'img' }),
  mapCaption: h('p', { id: 'map-caption', class: 'caption' }),
  legendMin: h('span', { class: 'legend-min' }),
  legendMax: h('span', { class: 'legend-max' }),
  showMap: h('vscode-checkbox', { id: 'show-map', label: 'Show the map of the selected path neuron' }),
  opacity: h('input', { id: 'opacity', type: 'range', min: '0', max: '100', step: '5', 'aria-label': 'Map opacity' }),
  targetSelect: h('vscode-single-select', { id: 'target', combobox: true, filter: 'contains', 'aria-label': 'Class to explain', 'data-testid': 'target-select' }),
  top5: h('ol', { id: 'top5', class: 'top5' }),
  targetNote: h('p', { id: 'target-note', class: 'target-note', 'data-testid': 'target' }),

  pathHint: h('p', { class: 'caption', id: 'path-hint' }),
  pathLegend: h('p', { class: 'caption', id: 'path-legend', 'data-testid': 'path-legend' },
    '#j: the neuron\u2019s index in its block\u2019s FFN (0 to D\u22121, as in the model), not a rank. act: its activation on this image at the token(s) the classifier reads. score: its joint attribution score given the path\u2019s neurons before it.'),
  floorNote: h('p', { class: 'caption note', id: 'floor-note', 'data-testid': 'floor-note' }),
  location: h('p', { class: 'caption location', id: 'neuron-location', 'data-testid': 'neuron-location' }),
  igNote: h('p', { class: 'caption note', id: 'ig-note', 'data-testid': 'ig-note' }),
  pathList: h('ol', { id: 'path', class: 'path-diagram', 'aria-label': 'Neuron path, one neuron per layer' }),
  neuronButton: h('vscode-button', {
    id: 'neuron-view', secondary: true, 'data-testid': 'neuron-view',
    onclick: () => { const n = selectedNeuron(page.state); if (n) post({ type: 'neuronView', layer: n.layer, neuron: n.neuron }); },
  }),
  interveneButton: h('vscode-button', {
    secondary: true, 'data-testid': 'path-intervene',
    onclick: () => { const n = selectedNeuron(page.state); if (n) intervene.add([n]); },
  }),
  thumbnailBar: new ThumbnailBar('Visualize the path neurons',
    () => post({ type: 'visualizeNeurons', neurons: missingThumbnails(page.state.thumbnails, thumbnailNeurons(page.state)) }),
    () => post({ type: 'cancelVisualizeNeurons' })),

  layerTitle: h('h2', { id: 'layer-title' }, 'Influence of every neuron'),
  layerNote: h('p', { class: 'caption', id: 'layer-note' }),
  scoreCanvas: h('canvas', { id: 'score-chart', role: 'img' }),
  top10: h('tbody', { id: 'top10' }),
  scorePng: h('vscode-button', { secondary: true, onclick: () => exportChart(scoreChart, `layer${page.state.selectedLayer}-scores`) }, 'Export PNG'),

  comparisonBody: h('tbody', { id: 'comparison' }),
  comparisonNote: h('p', { class: 'caption', id: 'comparison-note' }),
  jasCanvas: h('canvas', { id: 'jas-chart', role: 'img', 'aria-label': 'Joint attribution score of each method' }),
  manipCanvas: h('canvas', { id: 'manipulation-chart', role: 'img', 'aria-label': 'Change of the target probability when removing or enhancing each path' }),
  jasPng: h('vscode-button', { secondary: true, onclick: () => exportChart(jasChart, 'jas') }, 'Export PNG'),
  manipPng: h('vscode-button', { secondary: true, onclick: () => exportChart(manipChart, 'manipulation') }, 'Export PNG'),
  timing: h('p', { class: 'caption', id: 'timing' }),
  layerBody: h('div', { class: 'layer-body' }),
  comparisonBodyBox: h('div', { class: 'comparison-body' }),
};

const scoreChart = new ChartSlot(ui.scoreCanvas);
const jasChart = new ChartSlot(ui.jasCanvas);
const manipChart = new ChartSlot(ui.manipCanvas);

function section(id: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { id: `section-${id}`, class: 'section', 'aria-labelledby': `${id}-heading` }, ...children);
}

function build(): void {
  ui.image.addEventListener('error', () => {
    if (page.state.imageUri && !page.state.previewUri) post({ type: 'imageError' });
  });
  ui.image.addEventListener('load', () => renderOverlay());
  ui.showMap.addEventListener('change', () => dispatch({ type: 'setOverlay', show: ui.showMap.checked }));
  ui.showInput.addEventListener('change', () => renderOverlay());
  ui.opacity.addEventListener('input', () => dispatch({ type: 'setOverlay', opacity: Number(ui.opacity.value) / 100 }));
  ui.targetSelect.addEventListener('change', () => {
    const v = ui.targetSelect.value;
    const target: TargetChoice | undefined = v === 'predicted' ? 'predicted' : /^\d+$/.test(v) ? Number(v) : undefined;
    if (target === undefined || !isTargetChoice(target) || target === page.state.target) return;
    dispatch({ type: 'setTarget', target });
    post({ type: 'analyze', target });
  });
  ui.pathList.addEventListener('keydown', onPathKey);

  const header = h('header', { class: 'top' },
    h('div', { class: 'titles' }, ui.title, ui.subtitle, ui.leftOut),
    h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Analysis actions' },
      h('label', { class: 'fast', for: 'fast', title: `Fast: ${FAST.steps} Gauss\u2013Legendre steps instead of the set steps and rule. Not the paper\u2019s setting (20 left-Riemann steps); on the bundled model\u2019s test images it finds the converged path as often (README, Quadrature). Sets neuronPath.fast for the next runs.` },
        ui.fastBox, 'Fast (not the paper\u2019s setting)'),
      ui.runButton, ui.cancelButton, ui.skipButton, ui.baselinesButton, ui.jsonButton, ui.csvButton, ui.compareButton, ui.settingsButton));

  const prediction = section('prediction',
    h('h2', { id: 'prediction-heading' }, 'Prediction'),
    h('div', { class: 'prediction-grid' },
      h('figure', { class: 'figure' },
        h('div', { class: 'image-stack' }, ui.image, ui.inputCanvas, ui.overlay),
        h('figcaption', null,
          ui.mapCaption,
          h('div', { class: 'legend', 'aria-hidden': 'true' }, ui.legendMin, h('span', { class: 'legend-bar' }), ui.legendMax))),
      h('div', { class: 'prediction-side' },
        h('vscode-label', { for: 'target' }, 'Class to explain'),
        ui.targetSelect,
        ui.targetNote,
        h('h3', null, 'Top-5 predictions'),
        ui.top5,
        h('h3', null, 'Map'),
        ui.showMap,
        h('label', { class: 'range', for: 'opacity' }, 'Opacity', ui.opacity),
        ui.showInput)));

  const pathSection = section('path',
    h('h2', { id: 'path-heading' }, 'Path'),
    ui.pathHint,
    ui.pathLegend,
    ui.floorNote,
    h('div', { class: 'row-actions' }, ui.location, ui.neuronButton, ui.interveneButton),
    ui.pathList,
    ui.thumbnailBar.element);

  ui.layerTitle.id = 'layer-heading';
  fill(ui.layerBody,
    h('div', { class: 'layer-grid' },
      h('div', { class: 'chart-box' }, ui.scoreCanvas),
      h('div', { class: 'table-box table-scroll' },
        h('table', { class: 'data', 'aria-label': 'The ten most influential neurons of the selected layer' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Rank'), h('th', { scope: 'col' }, 'Neuron'), h('th', { scope: 'col', class: 'num' }, 'Score'), h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, 'Intervene'))),
          ui.top10))),
    h('div', { class: 'row-actions' }, ui.scorePng));
  const layer = section('layer', ui.layerTitle, ui.layerNote, ui.layerBody);

  fill(ui.comparisonBodyBox,
    h('div', { class: 'table-scroll' }, h('table', { class: 'data wide', 'aria-label': 'Joint attribution score and manipulation of each method' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Method'),
        h('th', { scope: 'col', class: 'num' }, 'JAS'),
        h('th', { scope: 'col', class: 'num' }, 'Remove (x0)'),
        h('th', { scope: 'col', class: 'num', title: 'Change of the target probability, in percentage points' }, 'Change (pp)'),
        h('th', { scope: 'col', class: 'num' }, 'Enhance (x2)'),
        h('th', { scope: 'col', class: 'num', title: 'Change of the target probability, in percentage points' }, 'Change (pp)'))),
      ui.comparisonBody)),
    h('div', { class: 'chart-pair' },
      h('div', null, h('div', { class: 'chart-box small' }, ui.jasCanvas), h('div', { class: 'row-actions' }, ui.jasPng)),
      h('div', null, h('div', { class: 'chart-box small' }, ui.manipCanvas), h('div', { class: 'row-actions' }, ui.manipPng))),
    ui.timing);
  const baselines = section('baselines',
    h('h2', { id: 'baselines-heading' }, 'Comparison with baselines'),
    ui.comparisonNote,
    ui.igNote,
    ui.comparisonBodyBox);

  // The path first: while an analysis runs, the visible top of the panel is the prediction line and the growing path.
  fill(app, header, h('div', { class: 'progress-line' }, ui.progressBar, ui.status, ui.headline), ui.prepBanner, pathSection, prediction, intervene.element, layer, baselines);
  new ResizeObserver(() => renderOverlay()).observe(ui.image);
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

function render(): void {
  const s = page.state;
  const prev = page.previous;
  renderHeader(s);
  renderPrediction(s, prev);
  renderPath(s);
  renderLayer(s);
  renderComparison(s);
  intervene.render(s);
  renderOverlay();
}

function renderHeader(s: ImageState): void {
  ui.title.textContent = s.fileName ? `Neuron path: ${s.fileName}` : 'Neuron path';
  if (s.fileName) app.dataset.image = s.fileName;
  const r = s.result;
  const parts = [s.modelName || (r ? modelLabel(r.model.path) : '')];
  if (r) parts.push(`${r.model.layers} layers × ${r.model.neuronsPerLayer} neurons`, `${stepsText(r.settings)}${isFast(r.settings) ? ' (the fast preset: not the paper\u2019s setting)' : ''}`, `${r.settings.formula} formula`, `scope ${r.model.scope}`);
  if (r?.model.precision && r.model.precision.stored !== 'float32') parts.push(`${r.model.precision.stored} model analysed in float32`);
  ui.subtitle.textContent = parts.filter(Boolean).join(' · ');
  // Blocks the path does not run through (class attention, an attention-pool head): which and why.
  ui.leftOut.hidden = !r?.model.ffn?.leftOut;
  ui.leftOut.textContent = r?.model.ffn?.leftOut ? `Left out of the path: ${r.model.ffn.leftOut}` : '';
  const running = s.status === 'running';
  ui.fastBox.checked = s.fast;
  // A finished result offers Run again only when the Fast box no longer matches how it was made.
  ui.runButton.hidden = running || (s.status === 'done' && !(r && isFast(r.settings) !== s.fast));
  ui.runButton.textContent = s.status === 'empty' ? 'Analyze' : 'Run again';
  ui.cancelButton.hidden = !running;
  // Skipping is offered while a run has baselines ahead; once asked, the run stops when its path is complete.
  ui.skipButton.hidden = !running || s.reusesPath || s.runBaselines.length === 0;
  if (!running) { ui.skipButton.disabled = false; ui.skipButton.textContent = 'Skip baselines'; }
  const toAdd = baselinesToAdd(s);
  ui.baselinesButton.hidden = toAdd.length === 0;
  ui.baselinesButton.title = `Compute the ${toAdd.map(baselineName).join(', ')} baseline${toAdd.length === 1 ? '' : 's'} for this path (the path is reused)`;
  ui.jsonButton.disabled = !r;
  ui.csvButton.disabled = !r;
  ui.compareButton.disabled = !r;

  ui.progressBar.hidden = !running;
  if (running) {
    const p = s.progress;
    if (p) { ui.progressBar.indeterminate = false; ui.progressBar.max = 100; ui.progressBar.value = progressPercent(p); }
    else ui.progressBar.indeterminate = true;
  }
  let status = '';
  if (running) status = s.progress ? analysisProgressText(s.progress) : 'Starting the analysis...';
  else if (s.status === 'done' && r) {
    status = `Explaining class ${r.target.class} (${r.target.label}), probability ${pct(r.target.probability)}${s.cached ? ' · from cache' : ''}`;
    if (toAdd.length && r.settings.baselines?.length === 0) status += s.baselinesCancelled ? ' · baselines cancelled: the path result is complete' : ' · without baselines';
  } else if (s.status === 'cancelled' && s.partial) {
    status = `Cancelled after layer ${s.path.length} of ${s.layers ?? '?'}: the path found so far is shown (partial). Analyze again for the whole path.`;
  } else if (s.status === 'cancelled') status = `${s.message ?? 'Cancelled.'}${r ? ' Showing the previous result.' : ''}`;
  else if (s.status === 'error') status = s.message ?? 'The analysis failed.';
  else if (s.status === 'empty' && s.imagePath) status = 'No result for this image with the current settings yet: choose Analyze.';
  ui.status.textContent = status;
  // The prediction, on the line above the path, as soon as the clean pass gives it.
  const shown = shownPrediction(s);
  const top1 = shown?.top[0];
  const explained = shown?.top.find((t) => t.class === shown.targetClass);
  ui.headline.hidden = !top1;
  ui.headline.textContent = top1
    ? `Predicted ${top1.label || classLabel(s, top1.class)} (${pct(top1.probability)})${explained && explained.class !== top1.class ? `; explaining ${explained.label || classLabel(s, explained.class)} (${pct(explained.probability)})` : ''}`
      + (s.status === 'cancelled' && s.partial ? ' · partial path' : '')
    : '';
  ui.status.dataset.state = s.status === 'empty' ? 'idle' : s.status;
  ui.status.classList.toggle('error', s.status === 'error');
}

let optionsKey = '';

function renderPrediction(s: ImageState, prev: ImageState | undefined): void {
  const src = s.previewUri ?? s.imageUri;
  if (src && ui.image.getAttribute('src') !== src) ui.image.src = src;
  ui.image.alt = s.fileName ? `The analyzed image, ${s.fileName}` : '';

  // Target picker: rebuilt only when the class list changes.
  const n = classCount(s);
  const key = `${n}:${s.labels ? 'labels' : s.result?.model.sha256 ?? ''}:${s.result?.prediction.top.map((t) => t.class).join(',') ?? ''}`;
  if (key !== optionsKey) {
    optionsKey = key;
    const opts = [{ label: 'Predicted class (top-1)', value: 'predicted', description: '' }];
    for (let c = 0; c < n; c++) opts.push({ label: `${c}: ${classLabel(s, c)}`, value: String(c), description: '' });
    if (n === 0 && typeof s.target === 'number') opts.push({ label: placeholderName(s.target), value: String(s.target), description: '' });
    ui.targetSelect.options = opts.map((o) => ({ ...o, selected: o.value === String(s.target), disabled: false }));
  }
  if (ui.targetSelect.value !== String(s.target)) ui.targetSelect.value = String(s.target);
  // Names the class the shown path explains (the result's, not the picker's while a new run starts).
  const explained = s.result?.target;
  if (explained) {
    ui.targetNote.dataset.class = String(explained.class);
    ui.targetNote.textContent = `The path shown explains class ${explained.class} (${explained.label || classLabel(s, explained.class)}), probability ${pct(explained.probability)}${s.result?.settings.target === 'predicted' ? ', the top-1 prediction' : ''}.`;
  } else {
    delete ui.targetNote.dataset.class;
    ui.targetNote.textContent = '';
  }

  const shown = shownPrediction(s);
  if (!prev || prev.result !== s.result || prev.labels !== s.labels || prev.status !== s.status || shown?.top !== shownPrediction(prev)?.top) {
    const top = shown?.top.slice(0, 5) ?? [];
    const targetClass = shown?.targetClass;
    fill(ui.top5, ...top.map((t) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.max(0.5, t.probability * 100)}%`;
      const isTarget = t.class === targetClass;
      return h('li', { class: isTarget ? 'is-target' : '', 'data-testid': 'prediction', 'data-class': String(t.class), 'data-probability': String(t.probability) },
        h('button', {
          class: 'prediction', type: 'button',
          title: isTarget ? 'This class is explained' : `Explain class ${t.class}`,
          'aria-label': `${classLabel(s, t.class)}, ${pct(t.probability)}${isTarget ? ', explained' : `. Explain class ${t.class}`}`,
          onclick: () => { if (!isTarget) { dispatch({ type: 'setTarget', target: t.class }); post({ type: 'analyze', target: t.class }); } },
        },
        h('span', { class: 'label' }, t.label || classLabel(s, t.class)),
        h('span', { class: 'value' }, pct(t.probability)),
        h('span', { class: 'track' }, bar)));
    }));
    if (top.length === 0) fill(ui.top5, h('li', { class: 'empty' }, s.status === 'running' ? 'Computing...' : 'No prediction yet.'));
  }
  const banner = defaultsBanner(s.result?.model);
  ui.prepBanner.hidden = !banner;
  if (ui.prepBanner.dataset.text !== banner) {
    ui.prepBanner.dataset.text = banner;
    fill(ui.prepBanner, banner, ' ', h('vscode-button', { secondary: true, onclick: () => post({ type: 'openSettings' }) }, 'Settings'));
  }
  ui.showMap.checked = s.showOverlay;
  ui.opacity.value = String(Math.round(s.overlayOpacity * 100));
  ui.opacity.disabled = !s.showOverlay;
}

function selectedNeuron(s: ImageState): PathNeuron | undefined {
  return s.path.find((p) => p.layer === s.selectedLayer) ?? s.path[s.selectedLayer];
}

function selectedMap(s: ImageState): TokenMap | undefined {
  const n = selectedNeuron(s);
  if (!n || !s.result) return undefined;
  return s.result.tokenMaps.find((m) => m.layer === n.layer && m.neuron === n.neuron);
}

function renderOverlay(): void {
  const s = page.state;
  const n = selectedNeuron(s);
  const map = s.showOverlay ? selectedMap(s) : undefined;
  // The map covers the model's input: the whole canvas when it is shown, else the crop window on the image.
  const input = s.result?.image.input;
  ui.showInput.hidden = !input;
  const showInput = !!input && ui.showInput.checked && drawModelInput(ui.inputCanvas, ui.image, input, s.result?.model.preprocessing?.crop.value?.fill);
  ui.inputCanvas.hidden = !showInput;
  ui.image.classList.toggle('under-input', showInput);
  Object.assign(ui.overlay.style, mapBox(showInput ? undefined : input));
  const summary = drawTokenMap(ui.overlay, map);
  ui.overlay.hidden = !summary;
  ui.overlay.style.opacity = String(s.overlayOpacity);
  ui.overlay.setAttribute('aria-label', summary && n
    ? `Where layer ${n.layer} neuron ${n.neuron} fires: strongest at patch row ${summary.peakRow + 1}, column ${summary.peakCol + 1} of ${map!.grid[0]} by ${map!.grid[1]}`
    : 'No map');
  if (summary && n && map) {
    ui.mapCaption.textContent = `Map of layer ${n.layer}, neuron ${n.neuron}: its activation at each of the ${map.grid[0]}×${map.grid[1]} patches.`;
    ui.legendMin.textContent = fmt(summary.min);
    ui.legendMax.textContent = fmt(summary.max);
  } else {
    ui.mapCaption.textContent = !s.showOverlay ? 'Map hidden.' : n && s.result ? `No map for layer ${n.layer} in this result.` : '';
    ui.legendMin.textContent = '';
    ui.legendMax.textContent = '';
  }
  ui.legendMin.parentElement!.hidden = !summary;
}

function renderPath(s: ImageState): void {
  const layers = s.layers ?? s.path.length;
  const running = s.status === 'running';
  ui.pathHint.textContent = s.path.length === 0
    ? (running ? 'The path grows here layer by layer.' : 'No path yet.')
    : s.status === 'cancelled' && s.partial
      ? `Partial path: the analysis was cancelled after layer ${s.path.length} of ${layers}. Each neuron shown was chosen given the ones before it, as in the whole path.`
    : s.result?.topK
      ? `The ${s.result.topK.k} best neurons of each layer (top-${s.result.topK.k} path: each layer chosen given all ${s.result.topK.k} of the layers before it); the first is shown large, the others beside it. Select a layer (arrow keys move) to see the influence of all its neurons and where its first neuron fires.`
      : `One neuron per layer, chosen by the joint attribution score. Select a layer (arrow keys move) to see the influence of all its neurons and where its path neuron fires.`;
  ui.pathLegend.hidden = s.path.length === 0;
  const floor = geluFloorNote(s);
  ui.floorNote.hidden = !floor;
  ui.floorNote.textContent = floor;
  const maxScore = Math.max(1e-12, ...s.path.map((p) => Math.abs(p.score)));
  const items: HTMLElement[] = [];
  for (let l = 0; l < Math.max(layers, s.path.length); l++) {
    const p = s.path[l];
    if (p) {
      const selected = l === s.selectedLayer;
      const strength = h('span', { class: 'strength' });
      strength.style.width = `${Math.max(4, (Math.abs(p.score) / maxScore) * 100)}%`;
      const others = s.result?.topK?.layers[l]?.slice(1) ?? [];
      items.push(h('li', { class: `node${selected ? ' selected' : ''}${others.length ? ' has-topk' : ''}`, 'data-testid': 'path-neuron', 'data-layer': String(p.layer), 'data-neuron': String(p.neuron) },
        h('button', {
          type: 'button', class: 'node-button', 'data-layer': String(l),
          'aria-pressed': selected ? 'true' : 'false',
          tabIndex: selected ? 0 : -1,
          'aria-label': `Layer ${p.layer}: neuron ${p.neuron}, activation ${fmt(p.activation)}, score ${fmt(p.score)}`,
          title: `Block ${p.layer}, neuron #${p.neuron} (its index in the block\u2019s FFN). act ${fmt(p.activation)}: its activation on this image. score ${fmt(p.score)}: its joint attribution score given the path before it.`,
          onclick: () => dispatch({ type: 'selectLayer', layer: l }),
        },
        h('span', { class: 'layer' }, `L${p.layer}`),
        h('span', { class: 'neuron' }, `#${p.neuron}`),
        h('span', { class: 'metric' }, `act ${fmt(p.activation)}`),
        h('span', { class: 'metric' }, `score ${fmt(p.score)}`),
        thumbnail(s.thumbnails, p.layer, p.neuron),
        h('span', { class: 'strength-track', 'aria-hidden': 'true' }, strength)),
        others.length ? h('ul', { class: 'topk', 'aria-label': `Layer ${p.layer}: also in the top ${others.length + 1}` },
          ...others.map((o) => h('li', {
            class: 'topk-neuron', 'data-testid': 'topk-neuron', 'data-layer': String(o.layer), 'data-neuron': String(o.neuron),
            title: `Layer ${o.layer}, neuron ${o.neuron}: activation ${fmt(o.activation)}, score ${fmt(o.score)}`,
          }, `#${o.neuron}`, topKAddButton(o.layer, o.neuron, selected)))) : null));
    } else {
      const current = running && l === s.path.length;
      items.push(h('li', { class: `node pending${current ? ' current' : ''}`, 'aria-hidden': current ? undefined : 'true' },
        h('span', { class: 'layer' }, `L${l}`),
        current ? h('vscode-progress-ring', { 'aria-label': `Computing layer ${l}` }) : h('span', { class: 'neuron' }, '·')));
    }
  }
  // The selected card's neuron view: what excites it over the image's folder.
  const n = selectedNeuron(s);
  ui.neuronButton.hidden = !n;
  if (n) {
    ui.neuronButton.textContent = `What excites #${n.neuron}?`;
    ui.neuronButton.title = `Layer ${n.layer}, neuron ${n.neuron}: the images of this folder that excite it most, per class, and what zeroing it does`;
  }
  ui.interveneButton.hidden = !n;
  if (n) {
    ui.interveneButton.textContent = `Intervene on #${n.neuron}`;
    ui.interveneButton.disabled = intervene.has(n.layer, n.neuron);
    const label = interveneLabel(n.layer, n.neuron);
    ui.interveneButton.setAttribute('aria-label', label);
    ui.interveneButton.title = label;
  }
  renderLocation(s, n);
  ui.thumbnailBar.render(s.thumbnails, thumbnailNeurons(s), 'the path\u2019s neurons');
  // Keep keyboard focus on the selected node across redraws.
  const hadFocus = ui.pathList.contains(document.activeElement);
  fill(ui.pathList, ...items);
  if (hadFocus) ui.pathList.querySelector<HTMLElement>('button[aria-pressed="true"]')?.focus();
}

/** The neurons whose thumbnails the path cards show: the finished result's path. */
function thumbnailNeurons(s: ImageState): PathNeuron[] {
  return s.status === 'running' ? [] : s.result?.path ?? [];
}

function onPathKey(ev: KeyboardEvent): void {
  const count = page.state.path.length;
  if (count === 0) return;
  let next: number | undefined;
  if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') next = page.state.selectedLayer + 1;
  else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') next = page.state.selectedLayer - 1;
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = count - 1;
  if (next === undefined) return;
  ev.preventDefault();
  dispatch({ type: 'selectLayer', layer: Math.min(count - 1, Math.max(0, next)) });
  ui.pathList.querySelector<HTMLElement>('button[aria-pressed="true"]')?.focus();
}

let layerChartKey = '';

function renderLayer(s: ImageState): void {
  const r = s.result;
  const n = selectedNeuron(s);
  const scores = r?.layerScores[s.selectedLayer];
  if (!r || !scores || scores.length === 0 || (s.status === 'running' && !s.reusesPath)) {
    ui.layerTitle.textContent = 'Influence of every neuron';
    ui.layerNote.textContent = s.status === 'running' ? 'Shown when the analysis has finished.' : 'No result yet.';
    fill(ui.top10);
    scoreChart.clear();
    layerChartKey = '';
    ui.scorePng.disabled = true;
    ui.scoreCanvas.setAttribute('aria-label', 'No chart');
    ui.layerBody.hidden = true;
    return;
  }
  ui.layerBody.hidden = false;
  const layer = s.selectedLayer;
  ui.layerTitle.textContent = `Layer ${layer}: influence of every neuron`;
  const ranked = rankLayer(scores);
  const rankOf = new Map(ranked.map((x) => [x.neuron, x.rank]));
  const markers: Marker[] = [];
  const add = (kind: Marker['kind'], label: string, neuron: number | undefined): void => {
    if (neuron === undefined || !rankOf.has(neuron)) return;
    const rank = rankOf.get(neuron)!;
    markers.push({ kind, label, neuron, rank, score: scores[neuron] });
  };
  add('path', `path neuron #${n?.neuron}`, n?.neuron);
  const others = r.topK?.layers[layer]?.slice(1).map((o) => o.neuron) ?? [];
  for (const o of others) add('topk', `top-${r.topK!.k} neuron #${o}`, o);
  const act = r.baselines.activation?.path.find((p) => p.layer === layer)?.neuron;
  const ig = r.baselines.integratedGradients?.path.find((p) => p.layer === layer)?.neuron;
  const ip = r.baselines.influencePattern?.path.find((p) => p.layer === layer)?.neuron;
  if (act !== n?.neuron) add('activation', `activation baseline #${act}`, act);
  if (ig !== n?.neuron && ig !== act) add('ig', `per-layer IG baseline #${ig}`, ig);
  if (ip !== n?.neuron && ip !== act && ip !== ig) add('ip', `influence pattern baseline #${ip}`, ip);
  const pathRank = n ? rankOf.get(n.neuron) : undefined;
  ui.layerNote.textContent = `${scores.length} neurons sorted by their ${r.settings.formula}-formula score given the path through layer ${layer - 1 < 0 ? '-' : layer - 1}. `
    + (n ? `The path neuron #${n.neuron} ranks ${pathRank !== undefined ? pathRank + 1 : '?'}.` : '')
    + (act !== undefined ? ` Activation baseline: #${act} (rank ${(rankOf.get(act) ?? 0) + 1}).` : '')
    + (ig !== undefined ? ` Per-layer IG baseline: #${ig} (rank ${(rankOf.get(ig) ?? 0) + 1}).` : '')
    + (ip !== undefined ? ` Influence pattern baseline: #${ip} (rank ${(rankOf.get(ip) ?? 0) + 1}).` : '');
  ui.scoreCanvas.setAttribute('aria-label', `Sorted scores of the ${scores.length} neurons of layer ${layer}; the top ten are listed in the table.`);

  const key = `${r.image.sha256}:${r.model.sha256}:${r.settings.target}:${r.settings.formula}:${r.settings.steps}:${r.settings.topK ?? 1}:${layer}:${page.themeVersion}`;
  if (key !== layerChartKey) {
    layerChartKey = key;
    scoreChart.show(scoreChartConfig(readTheme(), layer, ranked, markers));
  }
  ui.scorePng.disabled = false;

  fill(ui.top10, ...ranked.slice(0, 10).map((x) => {
    const tags: string[] = [];
    if (x.neuron === n?.neuron) tags.push('path');
    if (x.neuron === act) tags.push('activation');
    if (others.includes(x.neuron)) tags.push(`top-${r.topK!.k}`);
    if (x.neuron === ig) tags.push('IG');
    if (x.neuron === ip) tags.push('IP');
    return h('tr', { class: x.neuron === n?.neuron ? 'is-path' : '' },
      h('td', null, String(x.rank + 1)),
      h('td', null, `#${x.neuron}`),
      h('td', { class: 'num' }, fmt(x.score)),
      h('td', null, ...tags.map((t) => h('vscode-badge', { variant: 'default' }, t))),
      h('td', null, interveneAddButton(layer, x.neuron)));
  }));
}

const interveneLabel = (layer: number, neuron: number): string => (intervene.has(layer, neuron)
  ? `Layer ${layer}, neuron ${neuron} is in Intervene` : `Add layer ${layer}, neuron ${neuron} to Intervene (factor 0: removed)`);

/** A top-10 row's button: adds its neuron to the Intervene section (factor 0); disabled once it is there. */
function interveneAddButton(layer: number, neuron: number): HTMLElement {
  const label = interveneLabel(layer, neuron);
  return h('vscode-button', {
    secondary: true, 'data-testid': 'top10-intervene', 'data-layer': String(layer), 'data-neuron': String(neuron), 'aria-label': label, title: label,
    disabled: intervene.has(layer, neuron), onclick: () => intervene.add([{ layer, neuron }]),
  }, '+');
}

/**
 * A top-K neuron's button beside its card: adds it to the Intervene section (factor 0), as the
 * top-10 rows' do. Tab reaches only the selected card's (the cards move by arrow keys).
 */
function topKAddButton(layer: number, neuron: number, selected: boolean): HTMLElement {
  const label = interveneLabel(layer, neuron);
  return h('button', {
    type: 'button', class: 'topk-add', 'data-testid': 'topk-intervene', 'data-layer': String(layer), 'data-neuron': String(neuron),
    'aria-label': label, title: label, tabIndex: selected ? 0 : -1, disabled: intervene.has(layer, neuron), onclick: () => intervene.add([{ layer, neuron }]),
  }, '+');
}

let comparisonKey = '';

function renderComparison(s: ImageState): void {
  const r = s.result;
  if (!r || (s.status === 'running' && !s.reusesPath)) {
    fill(ui.comparisonBody);
    ui.comparisonNote.textContent = s.status === 'running' ? 'Shown when the analysis has finished.' : 'No result yet.';
    jasChart.clear();
    manipChart.clear();
    comparisonKey = '';
    ui.jasPng.disabled = true;
    ui.manipPng.disabled = true;
    ui.timing.textContent = '';
    ui.comparisonBodyBox.hidden = true;
    return;
  }
  ui.comparisonBodyBox.hidden = false;
  const rows = methodRows(r);
  const toAdd = baselinesToAdd(s);
  ui.comparisonNote.textContent = `Target class ${r.target.class} (${r.target.label}) has probability ${pct(r.target.probability)} before any change. `
    + 'A path that matters lowers it more when its neurons are removed (x0) and raises it more when they are enhanced (x2) than the baselines do.'
    + (toAdd.length ? ` Not computed for this result: the ${toAdd.map(baselineName).join(', ')} baseline${toAdd.length === 1 ? '' : 's'} (the path's figures are complete without them); Compute baselines adds them, reusing this path.` : '');
  const ig = igBeatsPath(rows);
  ui.igNote.hidden = !ig;
  ui.igNote.textContent = ig;
  fill(ui.comparisonBody, ...rows.map((row) => h('tr', { class: row.key === 'path' ? 'is-path' : '', 'data-testid': 'method-row', 'data-method': row.key },
    h('th', { scope: 'row' }, methodName(row)),
    h('td', { class: 'num' }, row.jasStd !== undefined ? `${fmt(row.jas)} ± ${fmt(row.jasStd)}` : fmt(row.jas)),
    h('td', { class: 'num' }, pct(row.remove)),
    h('td', { class: 'num' }, formatPoints(row.removeDeviation)),
    h('td', { class: 'num' }, pct(row.enhance)),
    h('td', { class: 'num' }, formatPoints(row.enhanceDeviation)))));
  const key = `${r.image.sha256}:${r.model.sha256}:${r.settings.target}:${r.settings.formula}:${r.settings.steps}:${page.themeVersion}:${r.jas}`;
  if (key !== comparisonKey) {
    comparisonKey = key;
    const theme = readTheme();
    jasChart.show(jasChartConfig(theme, rows));
    manipChart.show(manipulationChartConfig(theme, rows));
  }
  ui.jasPng.disabled = false;
  ui.manipPng.disabled = false;
  const t = r.timing;
  ui.timing.textContent = `Computed in ${fmt(t.seconds)} s: ${t.forwardPasses} forward and ${t.backwardPasses} backward passes.`;
}

/** Where the selected neuron lives in the ONNX graph (as Netron names the nodes): selectable, to copy. */
function renderLocation(s: ImageState, n: PathNeuron | undefined): void {
  const nodes = n ? s.result?.model.ffn?.blocks?.[n.layer] : undefined;
  ui.location.hidden = !n;
  if (!n) return;
  fill(ui.location, ...locationParts(n.layer, n.neuron, nodes, s.result?.model.ffn?.kind === 'gated', (text) => post({ type: 'copy', text })));
}

/**
 * A path whose neurons mostly sit near GELU's floor (about -0.17) does not fire there: say why such a
 * neuron can still be influential.
 */
function geluFloorNote(s: ImageState): string {
  const act = s.result?.model.ffn?.activation ?? '';
  if (!act.startsWith('gelu') || s.path.length === 0) return '';
  const low = s.path.filter((p) => p.activation < 0 && p.activation > -0.2).length;
  if (low * 2 < s.path.length) return '';
  return `${low} of the ${s.path.length} path neurons have a small negative activation: GELU\u2019s floor is about \u22120.17, so they barely fire on this image. `
    + 'They can still be influential: the score weighs an activation by how much the target probability depends on it, and removing a neuron at the floor (x0) moves its output from \u22120.17 to 0, which later blocks amplify.';
}

/** Per-layer IG moving the probability more than the path: say what it means rather than leave it unexplained. */
function igBeatsPath(rows: MethodRow[]): string {
  const path = rows.find((r) => r.key === 'path');
  const ig = rows.find((r) => r.key === 'ig');
  if (!path || !ig) return '';
  const remove = ig.removeDeviation < path.removeDeviation, enhance = ig.enhanceDeviation > path.enhanceDeviation;
  if (!remove && !enhance) return '';
  return `Per-layer IG moves the probability more than the path on ${remove && enhance ? 'remove and enhance' : remove ? 'remove' : 'enhance'} for this image. `
    + 'IG picks each layer\u2019s neuron on its own; the path picks each neuron given the ones before it, for their joint attribution (JAS), not for the largest single-image change. '
    + 'One image decides little: the folder analysis compares the methods over many images.';
}

function baselineName(b: BaselineName): string {
  return b === 'activation' ? 'activation' : b === 'ig' ? 'per-layer IG' : b === 'ip' ? 'influence pattern' : 'random';
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

function exportData(request: ExportRequest): void {
  if (page.state.result) post({ type: 'export', request });
}

function exportChart(slot: ChartSlot, name: string): void {
  const dataUrl = slot.pngDataUrl();
  if (dataUrl) post({ type: 'export', request: { format: 'png', name, dataUrl } });
}

// ---------------------------------------------------------------------------------------------
// Boot
// ---------------------------------------------------------------------------------------------

page.start();
