// The guards of an intervention that crosses a boundary (a page's message, a worker request): any
// neurons with finite factors, at the readout rows or every row. The engine checks the ranges.
import type { Intervention, NeuronSetting } from '../engine/intervene';
import { INTERVENTION_ROWS } from '../engine/options';
import { isIndex, isObject } from './guards';

/** More neurons than any model's blocks hold together is not a request a page makes. */
export const MAX_SETTINGS = 1 << 16;

export const isNeuronSetting = (v: unknown): v is NeuronSetting => isObject(v) && isIndex(v.layer) && isIndex(v.neuron)
  && typeof v.factor === 'number' && Number.isFinite(v.factor);

export const isIntervention = (v: unknown): v is Intervention => isObject(v) && Array.isArray(v.settings)
  && v.settings.length <= MAX_SETTINGS && v.settings.every(isNeuronSetting) && INTERVENTION_ROWS.includes(v.rows as Intervention['rows']);
