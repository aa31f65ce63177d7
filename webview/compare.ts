// The comparison page's script (bundled to dist/compare.js): two images' paths side by side. Per
// layer each path's neuron and its rank among the other image's scores (shared neurons marked), and
// the JAS of each path on each image. Posts `ready` last.
import './image.css';
import './folder.css';
import './compare.css';
import { placeholderName } from '../src/engine/classNames';
import type { PathComparison } from '../src/engine/pathCompare';
import type { CompareInit, CompareWebviewToHost, HostToCompareWebview } from '../src/protocol/comparePanel';
import { isMessage, Page } from './boot';
import { fill, h } from './dom';
import { fmt } from './imageState';

interface CompareState { init?: CompareInit; comparison?: PathComparison; error?: string }

function reduce(s: CompareState, m: HostToCompareWebview): CompareState {
  switch (m.type) {
    case 'init': return { init: m.init, comparison: m.init.comparison, error: m.init.error };
    case 'comparison': return { ...s, comparison: m.comparison, error: undefined };
    case 'failed': return { ...s, error: m.message };
    default: return s;
  }
}

// Nothing to keep across a reload: the host sends `init` again.
const page = new Page<CompareState, HostToCompareWebview, CompareWebviewToHost, never>({
  initial: () => ({}), reduce, persist: () => undefined,
  accepts: (m): m is HostToCompareWebview => isMessage(m, ['init', 'comparison', 'failed']), build, render, testid: 'compare-panel',
});
const { app, post } = page;
const ui = {
  title: h('h1', { id: 'title' }),
  status: h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'status', 'data-state': 'running' }),
  images: h('div', { class: 'compare-images' }),
  layersHead: h('tr'),
  layers: h('tbody', { id: 'layers' }),
  jasHead: h('tr'),
  jas: h('tbody', { id: 'jas' }),
};

function render(): void {
  const { init, comparison, error } = page.state;
  if (!init) return;
  const { a, b } = init;
  ui.title.textContent = `Paths of ${a.fileName} and ${b.fileName}`;
  fill(ui.images, ...(['a', 'b'] as const).map((side) => {
    const s = init[side];
    const r = comparison?.[side];
    return h('figure', { 'data-testid': 'compare-image', 'data-image': s.image },
      h('button', { class: 'tile', type: 'button', title: `Open the analysis of ${s.fileName}`, 'aria-label': `${side.toUpperCase()}: ${s.fileName}. Open its analysis`, onclick: () => post({ type: 'openImage', side }) },
        h('img', { src: s.imageUri, alt: '' })),
      h('figcaption', null, `${side.toUpperCase()}: ${s.fileName}`, r ? h('span', { class: 'caption' }, ` explains ${r.target.label || placeholderName(r.target.class)} (p ${fmt(r.target.probability)})`) : null));
  }));
  const c = comparison;
  ui.status.dataset.state = error ? 'error' : c ? 'done' : 'running';
  ui.status.className = `status${error ? ' error' : ''}`;
  ui.status.textContent = error ?? (c ? `Shared neurons: ${c.shared} of ${c.layers.length} layers. Rank: among the other image\u2019s ${c.neurons} candidate scores of the layer (1: the other path chose it too).`
    : 'Computing the JAS of each path on the other image...');
  fill(ui.layersHead, ...['layer', `A: ${a.fileName}`, 'rank in B\u2019s scores', `B: ${b.fileName}`, 'rank in A\u2019s scores'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)));
  fill(ui.layers, ...(c?.layers ?? []).map((l) => h('tr', { class: l.same ? 'same' : '', 'data-testid': 'compare-layer', 'data-layer': String(l.layer), 'data-same': String(l.same) },
    h('th', { scope: 'row' }, `L${l.layer}${l.same ? ' (shared)' : ''}`), h('td', { class: 'num' }, `#${l.a}`), h('td', { class: 'num' }, String(l.aRankInB)),
    h('td', { class: 'num' }, `#${l.b}`), h('td', { class: 'num' }, String(l.bRankInA)))));
  fill(ui.jasHead, ...['path', `on A (${a.fileName})`, `on B (${b.fileName})`].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)));
  fill(ui.jas, ...(c ? [['A', c.a.jas, c.a.jasOnOther], ['B', c.b.jasOnOther, c.b.jas]] as const : []).map(([p, onA, onB]) =>
    h('tr', { 'data-testid': 'jas-row', 'data-path': p }, h('th', { scope: 'row' }, `${p}\u2019s path`), h('td', { class: 'num' }, fmt(onA)), h('td', { class: 'num' }, fmt(onB)))));
}

function build(): void {
  fill(app,
    h('header', { class: 'top' }, h('div', { class: 'titles' }, ui.title)),
    h('div', { class: 'progress-line' }, ui.status),
    h('section', { class: 'section', 'aria-labelledby': 'images-heading' }, h('h2', { id: 'images-heading' }, 'Images'), ui.images),
    h('section', { class: 'section', 'aria-labelledby': 'layers-heading' }, h('h2', { id: 'layers-heading' }, 'Path neurons per layer'),
      h('table', { class: 'data layers', 'data-testid': 'compare-layers' }, h('thead', null, ui.layersHead), ui.layers)),
    h('section', { class: 'section', 'aria-labelledby': 'jas-heading' }, h('h2', { id: 'jas-heading' }, 'Joint attribution score of each path on each image'),
      h('p', { class: 'caption' }, 'Each image\u2019s own target class is explained; the diagonal is each path on its own image.'),
      h('table', { class: 'data jas', 'data-testid': 'compare-jas' }, h('thead', null, ui.jasHead), ui.jas)));
}

page.start();
