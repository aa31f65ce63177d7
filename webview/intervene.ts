// The image panel's Intervene section: neurons added from the path or typed as L:J, a factor per
// neuron (slider and number field, and one for all of them), the top-5 before and after, updated
// after each change (debounced; the host cancels the request it is still answering), the same
// setting over a folder, and the edited model saved. Rows are rebuilt only when the neurons change,
// so a slider being dragged keeps its focus.
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeTextfield } from '@vscode-elements/elements';
import './intervene.css';
import type { ClassEffect } from '../src/engine/interveneFolder';
import type { InterventionRows, NeuronSetting } from '../src/engine/intervene';
import type { ClassProbability } from '../src/engine/result';
import { batchProgressText, formatPoints } from '../src/format';
import type { ImageWebviewToHost, LiveIntervention } from '../src/protocol/imagePanel';
import { fill, h } from './dom';
import { changesSetting, parseNeurons, type InterveneAction } from './interveneState';
import { classLabel, fmt, pct, type ImageAction, type ImageState } from './imageState';

/** The path's neurons: of a top-K path, all K of each layer (the path the method's remove/enhance acts on). */
const pathNeurons = (s: ImageState): { layer: number; neuron: number }[] => s.result?.topK?.layers.flat() ?? s.path;

/** Wait this long after a change before asking (a slider sends many). */
export const INTERVENE_DEBOUNCE_MS = 150;
/** The slider's span; the number field takes any finite factor. */
const SLIDER = { min: -1, max: 3, step: 0.05 };

interface Deps { state: () => ImageState; dispatch: (a: ImageAction) => void; post: (m: ImageWebviewToHost) => void }

export function interveneSection({ state, dispatch, post }: Deps): {
  element: HTMLElement; render(s: ImageState): void; add(neurons: { layer: number; neuron: number }[]): void; has(layer: number, neuron: number): boolean;
} {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const request = (): void => {
    const { settings, rows, requestId } = state().intervene;
    if (!settings.length) return;
    dispatch({ type: 'interveneRequested', requestId: requestId + 1 });
    post({ type: 'intervene', requestId: requestId + 1, intervention: { settings, rows } });
  };
  const schedule = (): void => { clearTimeout(timer); timer = setTimeout(request, INTERVENE_DEBOUNCE_MS); };
  const change = (a: InterveneAction): void => { dispatch(a); if (changesSetting(a)) schedule(); };
  const intervention = () => ({ settings: state().intervene.settings, rows: state().intervene.rows });
  const size = () => { const m = state().result?.model; return m ? { layers: m.layers, neurons: m.neuronsPerLayer } : undefined; };

  const ui = {
    addPath: h('vscode-button', { secondary: true, 'data-testid': 'intervene-add-path', title: 'Add every neuron of the path (of a top-K path, all K of each layer), each removed (factor 0)',
      onclick: () => change({ type: 'interveneAdd', settings: pathNeurons(state()).map((p) => ({ layer: p.layer, neuron: p.neuron, factor: 0 })) }) }, 'Add the path'),
    typed: h('vscode-textfield', { id: 'intervene-neuron', placeholder: 'L:J, e.g. 3:29', 'aria-label': 'Neurons to add, as LAYER:NEURON or LAYER:NEURON=FACTOR', 'data-testid': 'intervene-typed' }),
    add: h('vscode-button', { secondary: true, 'data-testid': 'intervene-add', onclick: () => addTyped() }, 'Add'),
    rows: h('vscode-single-select', { id: 'intervene-rows', 'aria-label': 'Where the factors act', 'data-testid': 'intervene-rows',
      title: 'At the readout rows (the tokens the classifier reads), as the path\u2019s remove/enhance; or at every token row, as if the neurons were edited in the model' },
      h('vscode-option', { value: 'readout' }, 'At the readout rows'),
      h('vscode-option', { value: 'all' }, 'At every token row')),
    clear: h('vscode-button', { secondary: true, 'data-testid': 'intervene-clear', onclick: () => change({ type: 'interveneClear' }) }, 'Clear'),
    typedError: h('p', { class: 'status error', role: 'alert', 'data-testid': 'intervene-typed-error', hidden: true }),
    neurons: h('tbody', { 'data-testid': 'intervene-neurons' }),
    table: h('div', { class: 'table-scroll' }),
    live: h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'intervene-status' }),
    before: h('ol', { class: 'top5 compare', 'data-testid': 'intervene-before', 'aria-label': 'Top-5 before' }),
    after: h('ol', { class: 'top5 compare', 'data-testid': 'intervene-after', 'aria-label': 'Top-5 after' }),
    target: h('p', { class: 'headline', 'data-testid': 'intervene-target' }),
    folder: h('vscode-button', { 'data-testid': 'intervene-folder', title: 'Run this setting on every image of a folder you pick (resumable): per class the accuracy and the target probability before and after',
      onclick: () => post({ type: 'interveneFolder', intervention: intervention() }) }, 'Apply to folder...'),
    cancelFolder: h('vscode-button', { secondary: true, 'data-testid': 'intervene-folder-cancel', onclick: () => post({ type: 'cancelInterveneFolder' }) }, 'Cancel'),
    exportModel: h('vscode-button', { secondary: true, 'data-testid': 'intervene-export', title: 'Save the model with this setting built in: a plain ONNX model any onnxruntime runs',
      onclick: () => post({ type: 'exportEdited', intervention: intervention() }) }, 'Export edited model...'),
    folderProgress: h('vscode-progress-bar', { 'aria-label': 'Intervention over the folder' }),
    folderStatus: h('p', { class: 'status', role: 'status', 'data-testid': 'intervene-folder-status' }),
    effects: h('div', { class: 'table-scroll', 'data-testid': 'intervene-effects' }),
    exported: h('p', { class: 'caption', 'data-testid': 'intervene-exported' }),
  };
  ui.rows.value = 'readout';

  function addTyped(): void {
    try {
      const settings = parseNeurons(ui.typed.value, size());
      ui.typedError.hidden = true;
      ui.typed.value = '';
      change({ type: 'interveneAdd', settings });
    } catch (e) {
      ui.typedError.hidden = false;
      ui.typedError.textContent = (e as Error).message;
    }
  }
  ui.typed.addEventListener('keydown', (ev: KeyboardEvent) => { if (ev.key === 'Enter') addTyped(); });
  ui.rows.addEventListener('change', () => change({ type: 'interveneRows', rows: ui.rows.value as InterventionRows }));

  /** A slider and a number field bound to one factor (of one neuron, or of all of them). */
  function factorControls(name: string, key: string, set: (f: number) => void): HTMLElement[] {
    const slider = h('input', { type: 'range', min: String(SLIDER.min), max: String(SLIDER.max), step: String(SLIDER.step), 'aria-label': `Factor of ${name}`, 'data-factor': key });
    const field = h('vscode-textfield', { type: 'number', step: '0.1', 'aria-label': `Factor of ${name} (any number)`, 'data-factor-field': key, class: 'factor-field' });
    slider.addEventListener('input', () => { field.value = slider.value; set(Number(slider.value)); });
    field.addEventListener('input', () => {
      const f = field.value.trim() === '' ? NaN : Number(field.value);
      field.invalid = !Number.isFinite(f);
      if (!field.invalid) { slider.value = String(f); set(f); }
    });
    return [h('td', { class: 'slider' }, slider), h('td', null, field)];
  }

  let rowsKey = '';
  function renderNeurons(settings: NeuronSetting[]): void {
    const key = settings.map((n) => `${n.layer}:${n.neuron}`).join(',');
    if (key !== rowsKey) {
      rowsKey = key;
      const all = settings.length > 1 ? [h('tr', { class: 'all', 'data-testid': 'intervene-all' },
        h('th', { scope: 'row' }, 'All'), ...factorControls('every neuron', 'all', (factor) => change({ type: 'interveneFactor', factor })), h('td'))] : [];
      fill(ui.neurons, ...all, ...settings.map((n) => h('tr', { 'data-testid': 'intervene-neuron', 'data-layer': String(n.layer), 'data-neuron': String(n.neuron) },
        h('th', { scope: 'row' }, `L${n.layer} #${n.neuron}`),
        ...factorControls(`layer ${n.layer}, neuron ${n.neuron}`, `${n.layer}:${n.neuron}`, (factor) => change({ type: 'interveneFactor', layer: n.layer, neuron: n.neuron, factor })),
        h('td', null, h('vscode-button', { secondary: true, 'aria-label': `Remove layer ${n.layer}, neuron ${n.neuron}`, onclick: () => change({ type: 'interveneRemove', layer: n.layer, neuron: n.neuron }) }, 'Remove')))));
    }
    // The values follow the state, except in the control being edited; "All" shows the factor they share, if they do.
    const shared = settings.every((n) => n.factor === settings[0]?.factor) ? settings[0]?.factor : undefined;
    for (const [k, factor] of [...settings.map((n) => [`${n.layer}:${n.neuron}`, n.factor] as const), ['all', shared] as const]) {
      const slider = ui.neurons.querySelector<HTMLInputElement>(`input[data-factor="${k}"]`);
      const field = ui.neurons.querySelector<VscodeTextfield>(`[data-factor-field="${k}"]`);
      const text = factor === undefined ? '' : String(factor);
      if (slider && document.activeElement !== slider && factor !== undefined) slider.value = text;
      if (field && document.activeElement !== field && field.value !== text) field.value = text;
    }
    ui.table.hidden = settings.length === 0;
  }

  function topList(list: ClassProbability[], s: ImageState, target: number, other?: ClassProbability[]): HTMLElement[] {
    return list.map((c) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.max(0.5, c.probability * 100)}%`;
      const was = other?.find((o) => o.class === c.class);
      return h('li', { class: c.class === target ? 'is-target' : '', 'data-testid': 'intervene-class', 'data-class': String(c.class), 'data-probability': String(c.probability) },
        h('span', { class: 'prediction static' },
          h('span', { class: 'label' }, c.label || classLabel(s, c.class)),
          h('span', { class: 'value' }, pct(c.probability), was ? ` (${formatPoints(c.probability - was.probability)})` : ''),
          h('span', { class: 'track' }, bar)));
    });
  }

  function renderLive(s: ImageState, live: LiveIntervention | undefined): void {
    const st = s.intervene;
    ui.live.classList.toggle('error', !st.pending && Boolean(st.error));
    ui.live.dataset.state = st.pending ? 'pending' : st.error ? 'error' : live ? 'done' : 'idle';
    ui.live.textContent = st.pending ? 'Updating...' : st.error ?? (live || st.settings.length ? '' : 'Add neurons to see what setting them does to the prediction.');
    fill(ui.before, ...(live ? topList(live.before, s, live.target.class) : []));
    fill(ui.after, ...(live ? topList(live.after, s, live.target.class, live.before) : []));
    // Which setting the shown answer is of (the e2e test waits for its own).
    ui.after.dataset.settings = live ? live.settings.map((n) => `${n.layer}:${n.neuron}=${n.factor}`).join(',') : '';
    ui.after.dataset.rows = live?.rows ?? '';
    ui.before.parentElement!.parentElement!.hidden = !live;
    ui.target.textContent = live
      ? `${live.target.label || classLabel(s, live.target.class)}: ${pct(live.target.before)} \u2192 ${pct(live.target.after)} (${formatPoints(live.target.after - live.target.before)})`
        + (live.top1After !== live.before[0].class ? `; the top-1 is now ${classLabel(s, live.top1After)}` : '')
      : '';
  }

  function effectsTable(s: ImageState, rows: ClassEffect[]): HTMLElement {
    return h('table', { class: 'data wide', 'aria-label': 'Per class: accuracy and mean target probability before and after' },
      h('thead', null, h('tr', null, ...['Class', 'Images', 'Accuracy before', 'After', 'P(target) before', 'After', 'Change'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, t)))),
      h('tbody', null, ...rows.map((c) => h('tr', {
        'data-testid': 'intervene-effect', 'data-class': c.label, class: c.label === 'all' ? 'is-path' : '', 'data-images': c.images,
        'data-accuracy-before': c.accuracy.before, 'data-accuracy-after': c.accuracy.after, 'data-probability-before': c.probability.before, 'data-probability-after': c.probability.after,
      },
        h('th', { scope: 'row' }, c.label), h('td', { class: 'num' }, String(c.images)),
        h('td', { class: 'num' }, pct(c.accuracy.before)), h('td', { class: 'num' }, pct(c.accuracy.after)),
        h('td', { class: 'num' }, fmt(c.probability.before)), h('td', { class: 'num' }, fmt(c.probability.after)),
        h('td', { class: 'num' }, formatPoints(c.probability.after - c.probability.before))))));
  }

  function renderFolder(s: ImageState): void {
    const f = s.intervene.folder;
    const running = f?.state === 'running';
    ui.folder.disabled = running || s.intervene.settings.length === 0;
    ui.exportModel.disabled = s.intervene.settings.length === 0;
    ui.cancelFolder.hidden = !running;
    ui.folderProgress.hidden = !running;
    ui.folderStatus.dataset.state = f?.state ?? 'idle';
    ui.folderStatus.classList.toggle('error', f?.state === 'failed');
    if (running) {
      const p = f.progress;
      ui.folderProgress.indeterminate = !p || p.total === 0;
      if (p && p.total > 0) ui.folderProgress.value = (100 * p.done) / p.total;
      ui.folderStatus.textContent = `${f.folder}: ${p ? batchProgressText(p) : 'starting...'}`;
    } else if (f?.state === 'failed') {
      ui.folderStatus.textContent = `${f.folder}: ${f.message}`;
    } else if (f?.state === 'done') {
      const r = f.run;
      ui.folderStatus.textContent = `${f.folder}: ${r.total - r.failed} images (${r.analysed} now, ${r.resumed} before${r.failed ? `, ${r.failed} failed` : ''})`
        + `${r.cancelled ? ', cancelled: run it again to resume' : ''}. Set: ${f.intervention.settings.map((n) => `${n.layer}:${n.neuron}\u00d7${n.factor}`).join(', ')} at ${f.intervention.rows === 'all' ? 'every row' : 'the readout rows'}; `
        + 'target: the folder class, else the class predicted before.';
    } else ui.folderStatus.textContent = '';
    if (f?.state === 'done' && f.effects) fill(ui.effects, effectsTable(s, [...f.effects.classes, f.effects.all]));
    else if (f?.state !== 'running') fill(ui.effects);
    const e = s.intervene.exported;
    ui.exported.textContent = e?.out ? `Saved the edited model ${e.out}.` : e?.error ? `Not saved: ${e.error}` : '';
  }

  fill(ui.table, h('table', { class: 'data', 'aria-label': 'The neurons set and their factors' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Neuron'), h('th', { scope: 'col' }, 'Factor'), h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, ''))),
    ui.neurons));
  const element = h('section', { id: 'section-intervene', class: 'section', 'aria-labelledby': 'intervene-heading' },
    h('h2', { id: 'intervene-heading' }, 'Intervene'),
    h('p', { class: 'caption' }, 'Multiply any neurons by a factor (0 removes, 2 doubles, any number) and watch the prediction move; everything else stays live. '
      + 'A neuron is an input of its block\u2019s fc2 (L:J: block L, neuron J).'),
    h('div', { class: 'intervene-controls' }, ui.addPath, ui.typed, ui.add, ui.rows, ui.clear),
    ui.typedError,
    ui.table,
    ui.live,
    h('div', { class: 'intervene-live' },
      h('div', { class: 'before-after' }, h('div', null, h('h3', null, 'Before'), ui.before), h('div', null, h('h3', null, 'After'), ui.after)),
      ui.target),
    h('div', { class: 'row-actions' }, ui.folder, ui.cancelFolder, ui.exportModel),
    ui.folderProgress, ui.folderStatus, ui.effects, ui.exported);

  let lastResult: unknown;
  return {
    element,
    /** Adds neurons from elsewhere in the panel, each removed (factor 0) as "Add the path" does. */
    add: (neurons) => change({ type: 'interveneAdd', settings: neurons.map(({ layer, neuron }) => ({ layer, neuron, factor: 0 })) }),
    has: (layer, neuron) => state().intervene.settings.some((n) => n.layer === layer && n.neuron === neuron),
    render(s: ImageState): void {
      // A new analysis may follow another class: ask again for the setting shown.
      if (s.result !== lastResult) { lastResult = s.result; if (s.intervene.settings.length && s.intervene.requestId > 0) schedule(); }
      ui.addPath.disabled = s.path.length === 0;
      if (ui.rows.value !== s.intervene.rows) ui.rows.value = s.intervene.rows;
      renderNeurons(s.intervene.settings);
      renderLive(s, s.intervene.settings.length ? s.intervene.live : undefined);
      renderFolder(s);
    },
  };
}
