// The Intervene section's state: the neurons set and their factors, where they act, the answer to
// the newest request (older answers are dropped), the folder run and the last export. Pure (no DOM).
import type { InterventionRows, NeuronSetting } from '../src/engine/intervene';
import type { FolderIntervention, HostToImageWebview, LiveIntervention } from '../src/protocol/imagePanel';

export interface InterveneState {
  settings: NeuronSetting[];      // in the order added
  rows: InterventionRows;
  /** The id of the newest request posted (0: none yet); answers to older ones are dropped. */
  requestId: number;
  /** The newest request has no answer yet (the shown one is of an older setting). */
  pending: boolean;
  live?: LiveIntervention;
  error?: string;
  folder?: FolderIntervention;
  exported?: { out?: string; error?: string };
}

type HostMessage<T extends HostToImageWebview['type']> = Extract<HostToImageWebview, { type: T }>;

export type InterveneAction =
  | HostMessage<'intervention'> | HostMessage<'folderIntervention'> | HostMessage<'editedModel'>
  | { type: 'interveneAdd'; settings: NeuronSetting[] }
  | { type: 'interveneRemove'; layer: number; neuron: number }
  /** One neuron's factor, or every neuron's (no layer). */
  | { type: 'interveneFactor'; layer?: number; neuron?: number; factor: number }
  | { type: 'interveneRows'; rows: InterventionRows }
  | { type: 'interveneClear' }
  | { type: 'interveneRequested'; requestId: number };

export const INTERVENE_MESSAGES: readonly HostToImageWebview['type'][] = ['intervention', 'folderIntervention', 'editedModel'];

export const initialIntervene = (): InterveneState => ({ settings: [], rows: 'readout', requestId: 0, pending: false });

const same = (a: { layer: number; neuron: number }, b: { layer: number; neuron: number }) => a.layer === b.layer && a.neuron === b.neuron;

/** Whether an action changes what the prediction after depends on (a new request is then due). */
export function changesSetting(a: InterveneAction): boolean {
  return a.type === 'interveneAdd' || a.type === 'interveneRemove' || a.type === 'interveneFactor' || a.type === 'interveneRows' || a.type === 'interveneClear';
}

export function reduceIntervene(s: InterveneState, a: InterveneAction): InterveneState {
  switch (a.type) {
    case 'interveneAdd': {
      const added = a.settings.filter((n, i) => !s.settings.some((m) => same(m, n)) && a.settings.findIndex((m) => same(m, n)) === i);
      return added.length ? { ...s, settings: [...s.settings, ...added] } : s;
    }
    case 'interveneRemove': {
      const settings = s.settings.filter((m) => !same(m, a));
      return settings.length ? { ...s, settings } : { ...s, settings, live: undefined, error: undefined, pending: false };
    }
    case 'interveneFactor':
      if (!Number.isFinite(a.factor)) return s;
      return { ...s, settings: s.settings.map((m) => (a.layer === undefined || (m.layer === a.layer && m.neuron === a.neuron) ? { ...m, factor: a.factor } : m)) };
    case 'interveneRows': return a.rows === s.rows ? s : { ...s, rows: a.rows };
    case 'interveneClear': return { ...s, settings: [], live: undefined, error: undefined, pending: false };
    case 'interveneRequested': return { ...s, requestId: a.requestId, pending: true };
    case 'intervention':
      if (a.requestId !== s.requestId) return s;
      return a.result ? { ...s, pending: false, live: a.result, error: undefined } : { ...s, pending: false, error: a.error ?? 'The intervention failed.' };
    case 'folderIntervention': return { ...s, folder: a.run };
    case 'editedModel': return { ...s, exported: { out: a.out, error: a.error } };
    default: return s;
  }
}

/**
 * "3:29", "3:29=0.5", several separated by commas or spaces: the neurons to add (factor 0 unless
 * given), checked against the model when its size is known. Throws a message naming the bad part.
 */
export function parseNeurons(text: string, size?: { layers: number; neurons: number }): NeuronSetting[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) throw new Error('Type a neuron as LAYER:NEURON (e.g. 3:29), optionally =FACTOR.');
  return parts.map((part) => {
    const m = /^(\d+):(\d+)(?:=(.+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not LAYER:NEURON or LAYER:NEURON=FACTOR (e.g. 3:29 or 3:29=0.5).`);
    const [layer, neuron, factor] = [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])];
    if (!Number.isFinite(factor)) throw new Error(`The factor of ${layer}:${neuron} must be a number, got "${m[3]}".`);
    if (size && layer >= size.layers) throw new Error(`Layer ${layer} does not exist: the model has ${size.layers} blocks (0 to ${size.layers - 1}).`);
    if (size && neuron >= size.neurons) throw new Error(`Neuron ${neuron} does not exist: each block has ${size.neurons} FFN neurons (0 to ${size.neurons - 1}).`);
    return { layer, neuron, factor };
  });
}
