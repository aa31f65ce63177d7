// The folder panel's script (bundled to dist/folder.js): a batch result file summarised by the
// engine's report, live while its batch runs. Method comparison (table + chart), per class a heatmap
// of the most frequent path neurons per layer (a cell lists the images whose path uses the neuron;
// an image opens the single-image panel), the class-by-class similarity and the pruning check.
// Posts `ready` last.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import './image.css';
import './folder.css';
import type { FolderPersistedState, FolderWebviewToHost } from '../src/protocol/folderPanel';
import { ChartSlot, readTheme } from './imageCharts';
import { isMessage, Page } from './boot';
import { fill, h } from './dom';
import { RunHeader } from './runHeader';
import { modelLabel, ordinal, stepsText } from '../src/format';
import { folderComparisonChart } from './folderCharts';
import { PruningSection } from './folderPruning';
import { missingThumbnails, thumbnail, ThumbnailBar } from './thumbnails';
import {
  baseName, cellImages, comparisonRows, fmt, heatmapNeurons, heatmapOf, initialFolderState, pct, persistedFolder, reduceFolder, similarityMatrix, similarityView, similarTo, statusText,
  type FolderAction, type FolderState,
} from './folderState';

const HOST_MESSAGES = ['init', 'report', 'batchProgress', 'batchDone', 'pruneProgress', 'pruneDone', 'thumbnails'];
const page = new Page<FolderState, FolderAction, FolderWebviewToHost, FolderPersistedState>({
  initial: initialFolderState, reduce: reduceFolder, persist: (s) => (s.resultFile ? persistedFolder(s) : undefined),
  accepts: (m): m is FolderAction => isMessage(m, HOST_MESSAGES), build, render, testid: 'folder-panel',
});
const { app, post, dispatch } = page;

const run = new RunHeader(post, 'Batch progress', 'empty');
const ui = {
  latest: h('p', { class: 'caption', id: 'latest', 'data-testid': 'latest' }),
  comparisonBody: h('tbody', { id: 'comparison', 'data-testid': 'comparison-table' }),
  comparisonNote: h('p', { class: 'caption', id: 'comparison-note' }),
  chartCanvas: h('canvas', { id: 'comparison-chart', role: 'img', 'aria-label': 'Mean and spread of the change of the target probability when the path is removed or enhanced, in percentage points, per method' }),
  jasCanvas: h('canvas', { id: 'jas-chart', role: 'img', 'aria-label': 'Mean and spread of the JAS, per method' }),
  accuracyCanvas: h('canvas', { id: 'accuracy-chart', role: 'img', 'aria-label': 'Accuracy after removal, per method' }),
  classSelect: h('vscode-single-select', { id: 'class-select', 'aria-label': 'Class', 'data-testid': 'class-select' }),
  heatmapCaption: h('p', { class: 'caption', id: 'heatmap-caption' }),
  heatmap: h('table', { class: 'heatmap', id: 'heatmap', 'data-testid': 'heatmap' }),
  cellTitle: h('h3', { id: 'cell-title' }),
  cellImages: h('ul', { class: 'image-list', id: 'cell-images', 'data-testid': 'cell-images', 'aria-labelledby': 'cell-title' }),
  similarity: h('table', { class: 'heatmap similarity', id: 'similarity', 'data-testid': 'similarity' }),
  similarityNote: h('p', { class: 'caption', id: 'similarity-note' }),
  similarTo: h('p', { class: 'caption', id: 'similar-to', 'data-testid': 'similar-to' }),
  errors: h('ul', { class: 'image-list errors', id: 'errors', 'data-testid': 'errors' }),
  errorsSection: h('section', { id: 'section-errors', class: 'section', 'aria-labelledby': 'errors-heading' }),
  thumbnailBar: new ThumbnailBar('Visualize these neurons',
    () => post({ type: 'visualizeNeurons', neurons: missingThumbnails(page.state.thumbnails, heatmapNeurons(page.state)) }),
    () => post({ type: 'cancelVisualizeNeurons' })),
};
/** The heatmap neurons last named to the host (it answers with their thumbnails). */
let namedNeurons = '';
const pruning = new PruningSection(post);
const chart = new ChartSlot(ui.chartCanvas);
const accuracyChart = new ChartSlot(ui.accuracyCanvas);
const jasChart = new ChartSlot(ui.jasCanvas);
let drawnTheme = -1;

function section(id: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { id: `section-${id}`, class: 'section', 'aria-labelledby': `${id}-heading` }, ...children);
}

function build(): void {
  ui.classSelect.addEventListener('change', () => dispatch({ type: 'selectClass', key: ui.classSelect.value }));
  ui.heatmap.addEventListener('keydown', onHeatmapKey);
  const header = h('header', { class: 'top' },
    h('div', { class: 'titles' }, run.title, run.subtitle),
    h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Batch actions' }, run.resumeButton, run.cancelButton));
  const comparison = section('comparison',
    h('h2', { id: 'comparison-heading' }, 'Method comparison'),
    ui.comparisonNote,
    h('div', { class: 'table-scroll' }, h('table', { class: 'data wide comparison', 'aria-label': 'Mean and spread of each method over the images' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Method'), h('th', { scope: 'col', class: 'num' }, 'Images'),
        h('th', { scope: 'col', class: 'num' }, 'JAS'), h('th', { scope: 'col', class: 'num', title: 'Change of the target probability, in percentage points, when the path\u2019s neurons are zeroed' }, 'Remove (pp)'),
        h('th', { scope: 'col', class: 'num', title: 'Change of the target probability, in percentage points, when the path\u2019s neurons are doubled' }, 'Enhance (pp)'), h('th', { scope: 'col', class: 'num' }, 'Accuracy after removal'),
        h('th', { scope: 'col', class: 'num' }, 'Path better (JAS / remove / enhance)'))),
      ui.comparisonBody)),
    h('div', { class: 'chart-row' }, h('div', { class: 'chart-box' }, ui.chartCanvas), h('div', { class: 'chart-box' }, ui.jasCanvas), h('div', { class: 'chart-box' }, ui.accuracyCanvas)));
  const patterns = section('patterns',
    h('h2', { id: 'patterns-heading' }, 'Neurons per class'),
    h('div', { class: 'class-row' }, h('vscode-label', { for: 'class-select' }, 'Class'), ui.classSelect),
    ui.heatmapCaption,
    h('div', { class: 'heatmap-box' }, ui.heatmap),
    ui.thumbnailBar.element,
    h('div', { class: 'cell-box' }, ui.cellTitle, ui.cellImages));
  const similarity = section('similarity',
    h('h2', { id: 'similarity-heading' }, 'Class similarity'),
    h('p', { class: 'caption' }, 'Cosine similarity of the classes\u2019 neuron frequencies (all layers). Classes whose paths share neurons are similar for the model.'),
    ui.similarTo,
    ui.similarityNote,
    h('div', { class: 'heatmap-box' }, ui.similarity));
  fill(ui.errorsSection, h('h2', { id: 'errors-heading' }, 'Images that failed'), ui.errors);
  fill(app, header, h('div', { class: 'progress-line' }, run.progressBar, run.status, ui.latest), comparison, patterns, similarity, pruning.element, ui.errorsSection);
}

function render(): void {
  const s = page.state, prev = page.previous;
  run.title.textContent = s.title || baseName(s.resultFile) || 'Neuron Path';
  const r = s.report;
  run.subtitle.textContent = [
    s.folder ? `Folder ${s.folder}` : '',
    r ? modelLabel(r.model.path, s.bundledModelPath) : '',
    r ? `${r.images} images` : '',
    r?.accuracy ? `clean accuracy ${pct(r.accuracy.accuracy)} of ${r.accuracy.images}` : '',
    r ? `${stepsText(r.settings)}, ${r.settings.formula} formula` : '',
  ].filter(Boolean).join(' · ');
  const running = s.status === 'running';
  // Primary only after a stop; on a finished (or re-opened) result it is a secondary offer, not the next step.
  run.resumeButton.secondary = s.status !== 'cancelled' && s.status !== 'error';
  run.resumeButton.title = s.status === 'cancelled' ? 'Continue where the run stopped' : 'Look for images of the folder that are not in this result yet and analyse them';
  run.render(s, statusText(s).replace(/([^.])$/, '$1.') + (s.skipped.length ? ` ${s.skipped.length} unreadable line${s.skipped.length > 1 ? 's' : ''} skipped (line ${s.skipped.slice(0, 3).map((x) => x.line).join(', ')}${s.skipped.length > 3 ? ', ...' : ''}).` : ''));
  const latest = running ? s.progress?.latest : undefined;
  ui.latest.textContent = latest ? `Last: ${baseName(latest.image)} ${latest.error ? `failed: ${latest.error}` : `→ ${latest.label ?? '?'} (${pct(latest.probability)}), JAS ${fmt(latest.jas)}`}` : '';

  if (!prev || prev.report !== s.report || drawnTheme !== page.themeVersion) {
    renderComparison(s);
    renderSimilarity(s);
    renderErrors(s);
    renderClassSelect(s);
  }
  if (!prev || prev.report !== s.report || prev.selectedClass !== s.selectedClass || prev.topK !== s.topK || prev.selectedCell !== s.selectedCell || prev.thumbnails !== s.thumbnails) {
    renderHeatmap(s, prev);
    renderCell(s);
    renderSimilarTo(s);
  }
  renderThumbnails(s);
  pruning.render(s, drawnTheme !== page.themeVersion, prev);
  drawnTheme = page.themeVersion;
}

function renderComparison(s: FolderState): void {
  const rows = comparisonRows(s.report);
  fill(ui.comparisonBody, ...rows.map((r) => h('tr', { class: r.method === 'path' ? 'is-path' : '', 'data-testid': 'method-row', 'data-method': r.method },
    h('th', { scope: 'row' }, r.name), h('td', { class: 'num' }, r.images), h('td', { class: 'num' }, r.jas),
    h('td', { class: 'num' }, r.remove), h('td', { class: 'num' }, r.enhance), h('td', { class: 'num' }, r.kept), h('td', { class: 'num' }, r.beats))));
  ui.comparisonNote.textContent = rows.length
    ? 'Mean ± standard deviation over the images. Remove / enhance: change of the target probability, in percentage points (pp), when the path\u2019s neurons are zeroed / doubled (the neuron path should lower it most on removal and raise it most on enhancement). Random: mean of its random paths.'
    : 'No analysed images yet.';
  if (rows.length) {
    const theme = readTheme();
    chart.show(folderComparisonChart(theme, rows, 'deviation'));
    jasChart.show(folderComparisonChart(theme, rows, 'jas'));
    if (rows.some((r) => r.stats.removeKept !== null)) accuracyChart.show(folderComparisonChart(theme, rows, 'accuracy')); else accuracyChart.clear();
  } else {
    chart.clear();
    jasChart.clear();
    accuracyChart.clear();
  }
}

function renderClassSelect(s: FolderState): void {
  const classes = s.report?.patterns.classes ?? [];
  fill(ui.classSelect, ...classes.map((c) => h('vscode-option', { value: c.key, selected: c.key === s.selectedClass }, `${c.label} (${c.count} image${c.count === 1 ? '' : 's'})`)));
  if (s.selectedClass) ui.classSelect.value = s.selectedClass;
  ui.classSelect.disabled = classes.length === 0;
}

/** Frequency as colour: a custom property the stylesheet mixes into the theme's chart colour (no inline style attribute). */
function shade(el: HTMLElement, f: number): void {
  el.style.setProperty('--f', `${Math.round(Math.max(0, Math.min(1, f)) * 100)}%`);
  if (f >= 0.55) el.classList.add('strong');
}

function renderHeatmap(s: FolderState, prev: FolderState | undefined): void {
  const map = heatmapOf(s);
  if (!map) { fill(ui.heatmap); ui.heatmapCaption.textContent = ''; return; }
  ui.heatmap.setAttribute('aria-label', `Most frequent path neurons per layer for ${map.label}`);
  ui.heatmapCaption.textContent = `${map.label}: the ${map.k} most frequent path neurons of each layer over ${map.images} image${map.images === 1 ? '' : 's'}; colour: share of the class\u2019s paths through the neuron. Select a cell to list its images (arrow keys move).`;
  const sel = s.selectedCell;
  fill(ui.heatmap,
    // Columns are ranks (most frequent first), cells neuron indices: "#" would read as either.
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Layer'), ...Array.from({ length: map.k }, (_, i) => h('th', {
      scope: 'col', class: 'num', title: `The layer\u2019s ${ordinal(i + 1)} most frequent path neuron of the class; a cell shows the neuron\u2019s index`,
    }, ordinal(i + 1))))),
    h('tbody', null, ...map.rows.map((row, l) => h('tr', null,
      h('th', { scope: 'row' }, `L${l}`),
      ...Array.from({ length: map.k }, (_, rank) => {
        const c = row[rank];
        if (!c) return h('td', { class: 'empty' });
        const selected = sel?.layer === c.layer && sel?.neuron === c.neuron;
        const button = h('button', {
          class: `cell${selected ? ' selected' : ''}`, type: 'button', tabIndex: selected || (!sel && l === 0 && rank === 0) ? 0 : -1,
          'data-testid': 'heat-cell', 'data-layer': c.layer, 'data-neuron': c.neuron, 'data-count': c.count, 'data-rank': rank,
          'aria-pressed': selected ? 'true' : 'false',
          'aria-label': `Layer ${c.layer}, neuron ${c.neuron}: ${c.count} of ${map.images} images (${pct(c.frequency)})`,
          title: `Layer ${c.layer}, neuron ${c.neuron}: ${c.count}/${map.images} images (${pct(c.frequency)})`,
          onclick: () => dispatch({ type: 'selectCell', cell: { layer: c.layer, neuron: c.neuron } }),
        }, thumbnail(s.thumbnails, c.layer, c.neuron), String(c.neuron));
        shade(button, c.frequency);
        return h('td', null, button);
      })))));
  // Keep the keyboard focus on the selected cell after a redraw caused by the keyboard.
  if (sel && prev?.selectedCell !== sel && ui.heatmap.contains(document.activeElement) === false && focusAfterRender) {
    ui.heatmap.querySelector<HTMLElement>('button.cell.selected')?.focus();
  }
  focusAfterRender = false;
}

let focusAfterRender = false;

/** Names the heatmap's neurons to the host when they change (it sends their thumbnails) and draws the bar. */
function renderThumbnails(s: FolderState): void {
  const neurons = heatmapNeurons(s);
  const named = JSON.stringify(neurons);
  if (named !== namedNeurons && neurons.length) post({ type: 'showNeurons', neurons });
  namedNeurons = named;
  ui.thumbnailBar.render(s.thumbnails, neurons, 'the heatmap\u2019s neurons');
}

function onHeatmapKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement;
  if (!target.matches('button.cell')) return;
  const map = heatmapOf(page.state);
  if (!map) return;
  const layer = Number(target.dataset.layer), rank = Number(target.dataset.rank);
  const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const d = moves[e.key];
  if (!d) return;
  e.preventDefault();
  const l = Math.max(0, Math.min(map.layers - 1, layer + d[0]));
  const row = map.rows[l];
  const r = Math.max(0, Math.min(row.length - 1, rank + d[1]));
  const c = row[r];
  if (!c) return;
  focusAfterRender = true;
  dispatch({ type: 'selectCell', cell: { layer: c.layer, neuron: c.neuron } });
  ui.heatmap.querySelector<HTMLElement>(`button.cell[data-layer="${c.layer}"][data-neuron="${c.neuron}"]`)?.focus();
}

function renderCell(s: FolderState): void {
  const cell = s.selectedCell;
  if (!cell) {
    ui.cellTitle.textContent = 'Images';
    fill(ui.cellImages, h('li', { class: 'empty' }, 'Select a heatmap cell to list the images whose path uses its neuron.'));
    return;
  }
  const images = cellImages(s);
  fill(ui.cellTitle, `Layer ${cell.layer}, neuron ${cell.neuron}: ${images.length} image${images.length === 1 ? '' : 's'} `,
    h('vscode-button', { secondary: true, 'data-testid': 'neuron-view', title: 'The images of this folder that excite it most, per class, and what zeroing it does',
      onclick: () => post({ type: 'neuronView', layer: cell.layer, neuron: cell.neuron }) }, `What excites #${cell.neuron}?`));
  fill(ui.cellImages, ...images.map((image) => h('li', null,
    h('button', { class: 'link', type: 'button', 'data-testid': 'image-link', 'data-image': image, title: `Open ${image} in the image panel`, onclick: () => post({ type: 'openImage', image }) }, baseName(image)))));
}

function renderSimilarity(s: FolderState): void {
  const p = s.report?.patterns;
  if (!p || !p.classes.length) { fill(ui.similarity); ui.similarityNote.textContent = ''; return; }
  const { indices, hidden } = similarityView(s.report);
  ui.similarityNote.textContent = hidden ? `The ${indices.length} classes with most images (${hidden} more not shown).` : '';
  const shown = indices.map((i) => p.classes[i]);
  const matrix = similarityMatrix(s.report!, indices);
  ui.similarity.setAttribute('aria-label', 'Cosine similarity between classes');
  fill(ui.similarity,
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), ...shown.map((c) => h('th', { scope: 'col', class: 'rot' }, c.label)))),
    h('tbody', null, ...shown.map((a, i) => h('tr', null,
      h('th', { scope: 'row' }, a.label),
      ...shown.map((b, j) => {
        const v = matrix[i][j];
        const td = h('td', { class: 'sim num', 'data-testid': 'sim-cell', title: `${a.label} / ${b.label}: ${fmt(v, 2)}` }, fmt(v, 2));
        shade(td, v);
        return td;
      })))));
}

function renderSimilarTo(s: FolderState): void {
  const cls = s.report?.patterns.classes.find((c) => c.key === s.selectedClass);
  const similar = similarTo(s);
  ui.similarTo.textContent = !cls ? '' : similar.length
    ? `Most similar to ${cls.label}: ${similar.map((x) => `${x.label} ${fmt(x.similarity, 2)}`).join(', ')}.`
    : `No other class shares a path neuron with ${cls.label}.`;
}

function renderErrors(s: FolderState): void {
  const errors = s.report?.errors ?? [];
  ui.errorsSection.hidden = errors.length === 0;
  fill(ui.errors, ...errors.map((e) => h('li', null, h('span', { class: 'path' }, baseName(e.image)), ': ', e.error)));
}

page.start();
