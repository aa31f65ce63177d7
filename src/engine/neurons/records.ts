// The neuron scan's result file: one line per image with the chosen neurons' activations (at the
// readout tokens and over the patch grid) and, for each single neuron, the prediction with it
// zeroed. Same conventions as an analysis result file (.jsonl, folder class, settings on every
// line, error lines, resumable), another record kind; its line types are in batch/schema.ts.
import type { ModelOptions } from '../api';
import { modelSettings, settingsKey } from '../batch/records';
import { NEURON_SCHEMA, type NeuronScanLine, type NeuronScanSettings, type NeuronUnit, type RecordKind, type UnitScan } from '../batch/schema';
import { invalidOption } from '../errors';

export const NEURON_RECORDS: RecordKind<NeuronScanLine> = {
  schema: NEURON_SCHEMA,
  problem: (v) => {
    const image = v.image as { path?: unknown } | undefined;
    if (!image || typeof image.path !== 'string') return 'no image path';
    if (!Array.isArray(v.units) || !v.units.every((u) => u && typeof u === 'object' && Array.isArray((u as UnitScan).activation))) return 'no scanned units';
    const prediction = v.prediction as { top?: unknown } | undefined;
    if (!prediction || !Array.isArray(prediction.top) || !prediction.top.length || !v.target || typeof v.target !== 'object') return 'no prediction and target';
    return undefined;
  },
  slim: (line) => line,   // a scan line is small: every unit's few numbers
};

export function neuronScanSettings(modelSha256: string, model: ModelOptions, units: NeuronUnit[]): NeuronScanSettings {
  const body = { model: modelSettings(modelSha256, model), scan: { units: units.map(({ layer, neuron }) => ({ layer, neuron })) } };
  return { key: settingsKey(body), ...body };
}

/** "L3:29" / "L3" (every neuron). */
export const unitName = (u: NeuronUnit) => (u.neuron === null ? `L${u.layer}` : `L${u.layer}:${u.neuron}`);

/**
 * Parses "3:29,5:100" (block:neuron; "3" alone or "3:*" is every neuron of block 3) and checks it
 * against the model. Duplicates are dropped, the order kept.
 */
export function parseUnits(text: string, layers: number, neurons: number): NeuronUnit[] {
  const units: NeuronUnit[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?::(\d+|\*))?$/.exec(part);
    if (!m) throw invalidOption(`'${part}' is not LAYER:NEURON (e.g. 3:29) or LAYER (every neuron of the block)`);
    const layer = Number(m[1]);
    const neuron = m[2] === undefined || m[2] === '*' ? null : Number(m[2]);
    checkUnit({ layer, neuron }, layers, neurons);
    if (!units.some((u) => u.layer === layer && u.neuron === neuron)) units.push({ layer, neuron });
  }
  if (!units.length) throw invalidOption('no neuron given: name at least one as LAYER:NEURON');
  return units;
}

export function checkUnit(u: NeuronUnit, layers: number, neurons: number): void {
  if (!Number.isInteger(u.layer) || u.layer < 0 || u.layer >= layers) {
    throw invalidOption(`layer ${u.layer} does not exist: the model has ${layers} blocks (0..${layers - 1})`);
  }
  if (u.neuron !== null && (!Number.isInteger(u.neuron) || u.neuron < 0 || u.neuron >= neurons)) {
    throw invalidOption(`neuron ${u.neuron} does not exist: block ${u.layer} has ${neurons} FFN neurons (0..${neurons - 1})`);
  }
}
