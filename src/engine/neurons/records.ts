// The neuron scan's result file: one line per image with the chosen neurons' activations (at the
// readout tokens and over the patch grid) and, for each single neuron, the prediction with it
// zeroed. Same conventions as an analysis result file (.jsonl, folder class, settings on every
// line, error lines, resumable), another record schema.
import { createHash } from 'node:crypto';
import type { ModelOptions } from '../api';
import { modelSettings, settingsKey, type BatchSettings, type RecordKind } from '../batch/records';
import type { ResultLine } from '../batch/run';
import { invalidOption } from '../errors';
import type { AnalysisResult, ClassProbability } from '../result';

export const NEURON_SCHEMA = 'neuron-path/neurons-1';

/** A neuron of a block, or (neuron null) every neuron of it. */
export interface NeuronUnit { layer: number; neuron: number | null }

export interface NeuronScanSettings {
  key: string;
  model: BatchSettings['model'];
  scan: { units: NeuronUnit[] };
}

/** What the scan found for one unit on one image. */
export interface UnitScan {
  layer: number;
  neuron: number | null;
  /** Per neuron of the unit (one value for a single neuron): the activation at the readout token(s), summed over them for `patches`. */
  activation: number[];
  /** Per neuron: the patch (row-major index on `grid`) where its activation is largest, and that activation. */
  peak: number[];
  peakValue: number[];
  /** A single neuron's activation at every patch. */
  map?: number[];
  /** A single neuron zeroed at the readout tokens: the target's probability and the top-1 class. */
  ablated?: { probability: number; top1: number };
}

export interface NeuronScanRecord {
  schema: typeof NEURON_SCHEMA;
  model: AnalysisResult['model'];
  image: AnalysisResult['image'];
  grid: [number, number];
  prediction: { top: ClassProbability[] };
  /** The class the ablation is measured on: the image's folder class where it has one, else the predicted class. */
  target: ClassProbability;
  units: UnitScan[];
}

export type NeuronScanLine = ResultLine<NeuronScanRecord, NeuronScanSettings>;

export const NEURON_RECORDS: RecordKind = {
  schema: NEURON_SCHEMA,
  problem: (v) => {
    const image = v.image as { path?: unknown } | undefined;
    if (!image || typeof image.path !== 'string') return 'no image path';
    if (!Array.isArray(v.units) || !v.units.every((u) => u && typeof u === 'object' && Array.isArray((u as UnitScan).activation))) return 'no scanned units';
    const prediction = v.prediction as { top?: unknown } | undefined;
    if (!prediction || !Array.isArray(prediction.top) || !prediction.top.length || !v.target || typeof v.target !== 'object') return 'no prediction and target';
    return undefined;
  },
};

export function neuronScanSettings(modelSha256: string, model: ModelOptions, units: NeuronUnit[]): NeuronScanSettings {
  const body = { model: modelSettings(modelSha256, model), scan: { units: units.map(({ layer, neuron }) => ({ layer, neuron })) } };
  return { key: settingsKey(body), ...body };
}

/** What a folder's scan file is named after the folder: `<folder>.neurons-L3-29_L5.jsonl`. */
export function neuronScanSuffix(units: NeuronUnit[]): string {
  const selection = units.map((u) => (u.neuron === null ? `L${u.layer}` : `L${u.layer}-${u.neuron}`)).join('_');
  const short = selection.length <= 60 ? selection : `${units.length}units-${createHash('sha256').update(selection).digest('hex').slice(0, 8)}`;
  return `.neurons-${short}.jsonl`;
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
