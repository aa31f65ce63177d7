// The neuron view's state and how the host's messages change it. Pure (no DOM), so it is unit tested.
import type { NeuronSummary } from '../src/engine/neurons/summary';
import type { BatchProgressInfo } from '../src/operations/progress';
import type { HostToNeuronWebview, NeuronInit, NeuronLocation, NeuronPersistedState, VisualizationStatus } from '../src/protocol/neuronPanel';
import { batchProgressText } from '../src/format';
import { fmt, pct } from './imageState';

export type NeuronStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

export interface NeuronState {
  folder: string;
  resultFile: string;
  layer: number;
  neuron: number;
  title: string;
  summary?: NeuronSummary;
  imageUris: Record<string, string>;
  pathsFile?: string;
  location?: NeuronLocation;
  status: NeuronStatus;
  progress?: BatchProgressInfo;
  /** Images of the folder the scan file lacks, from the host (when the page missed the scan's end, or the view was revived). */
  left?: number;
  message?: string;
  visualization: VisualizationStatus;
}

export function initialNeuronState(persisted?: Partial<NeuronPersistedState>): NeuronState {
  return { folder: persisted?.folder ?? '', resultFile: '', layer: persisted?.layer ?? 0, neuron: persisted?.neuron ?? 0, title: '', imageUris: {}, status: 'idle', visualization: { running: false } };
}

function fromInit(init: NeuronInit): NeuronState {
  return {
    folder: init.folder, resultFile: init.resultFile, layer: init.layer, neuron: init.neuron, title: init.title,
    summary: init.summary, imageUris: init.imageUris ?? {}, pathsFile: init.pathsFile, location: init.location,
    status: init.running ? 'running' : init.error ? 'error' : init.summary ? 'done' : 'idle',
    progress: init.running, left: init.running ? undefined : init.left, message: init.error, visualization: init.visualization ?? { running: false },
  };
}

export function reduceNeuron(s: NeuronState, m: HostToNeuronWebview): NeuronState {
  switch (m.type) {
    case 'init': return fromInit(m.init);
    // A summary read while no scan runs (a revived view) is a finished scan, with what it lacks.
    case 'summary': return {
      ...s, summary: m.summary, imageUris: m.imageUris, pathsFile: m.pathsFile, location: m.location ?? s.location,
      status: s.status === 'idle' ? 'done' : s.status, left: m.left ?? s.left,
    };
    case 'visualization': return { ...s, visualization: m.status };
    case 'batchProgress': return { ...s, status: 'running', progress: m.progress, left: undefined, message: undefined };
    case 'batchDone':
      return { ...s, status: m.cancelled ? 'cancelled' : m.message ? 'error' : 'done', message: m.message, progress: m.result ? { ...(s.progress ?? { rate: 0 }), ...m.result, done: m.result.resumed + m.result.analysed } : s.progress };
    default: return s;
  }
}

export function persistedNeuron(s: NeuronState): NeuronPersistedState {
  return { folder: s.folder, layer: s.layer, neuron: s.neuron };
}

export function neuronStatusText(s: NeuronState): string {
  switch (s.status) {
    case 'running': return s.progress ? `Scanning: ${batchProgressText(s.progress)}` : 'Scanning the folder...';
    case 'cancelled': return 'Scan stopped; what was scanned stays in the result file: Resume continues it.';
    case 'error': return s.message ?? 'The scan failed.';
    case 'done': return s.summary ? `${s.summary.images} images scanned.` : 'No image could be scanned.';
    default: return s.summary ? `${s.summary.images} images scanned.` : 'Not scanned yet.';
  }
}

export function visualizationText(v: VisualizationStatus, best: number | undefined): string {
  if (v.running) return v.step ? `Optimising the image: step ${v.step} of ${v.steps}.` : 'Loading the model...';
  if (v.error) return v.error;
  if (!v.visualization) return 'The image that excites this neuron most, made by gradient ascent on the input (computed in the worker, then cached).';
  const { activation, steps, seed, seconds } = v.visualization;
  return `Activation ${fmt(activation)} at the readout on this image, read back as any image${best !== undefined ? ` (the most active scanned image: ${fmt(best)})` : ''}; `
    + `${steps} steps, seed ${seed}, ${fmt(seconds)} s.`;
}

export interface ClassTableRow {
  key: string; label: string; images: string; activation: string; onPaths: string;
  accuracy: string; probability: string; drop: number | undefined;
}

/** The ablation table: per class (and all images), clean -> with the neuron zeroed. */
export function classTable(summary: NeuronSummary | undefined): ClassTableRow[] {
  if (!summary) return [];
  return [...summary.classes, summary.all].map((c) => ({
    key: c.key, label: c.label, images: String(c.images),
    activation: `${fmt(c.activation.mean)} ± ${fmt(c.activation.std)}`,
    onPaths: c.onPaths === null ? '' : pct(c.onPaths),
    accuracy: c.ablated ? `${pct(c.clean.accuracy)} → ${pct(c.ablated.accuracy)}` : pct(c.clean.accuracy),
    probability: c.ablated ? `${fmt(c.clean.probability)} → ${fmt(c.ablated.probability)}` : fmt(c.clean.probability),
    drop: c.ablated ? c.ablated.probability - c.clean.probability : undefined,
  }));
}
