// Intervention (docs/method.md#intervention): any neurons (l, j) multiplied by factors, at the
// readout rows (as the manipulation) or at every token row, everything else live. One forward pass
// of two rows answers a setting: the clean prediction and the one after.
import { argmax } from './rank';
import { requireFinite, topClasses } from './analyze';
import { EngineError, invalidOption } from './errors';
import type { AnalysisResult, ClassProbability } from './result';
import { INTERVENTION_ROWS, type InterventionRows } from './options';
import type { Runner } from './runner';
import { INTERVENTION_SCHEMA } from './batch/schema';

export { INTERVENTION_ROWS, type InterventionRows };

/** Block `layer`'s neuron `neuron` (an input unit of its fc2) multiplied by `factor`. */
export interface NeuronSetting { layer: number; neuron: number; factor: number }

export interface Intervention { settings: NeuronSetting[]; rows: InterventionRows }

export interface InterventionResult extends Intervention {
  /** The five most probable classes before and after. */
  before: ClassProbability[];
  after: ClassProbability[];
  /** The class followed: the given target, else the class predicted before. */
  target: { class: number; label: string; before: number; after: number };
  /** The class predicted after. */
  top1After: number;
}

export { INTERVENTION_SCHEMA };

/** One image's intervention: the result with the model and the image it is of. */
export interface InterventionRecord extends InterventionResult {
  schema: typeof INTERVENTION_SCHEMA;
  model: AnalysisResult['model'];
  image: AnalysisResult['image'];
}

/** Checks an intervention against a model of `layers` blocks with `neurons` FFN neurons each. */
export function checkIntervention(i: Intervention, layers: number, neurons: number): void {
  if (!INTERVENTION_ROWS.includes(i.rows)) throw invalidOption(`rows must be ${INTERVENTION_ROWS.join(' or ')}, got ${JSON.stringify(i.rows)}`, 'rows');
  if (!i.settings.length) throw invalidOption('no neuron is set: give at least one LAYER:NEURON=FACTOR', 'settings');
  const seen = new Set<string>();
  for (const { layer, neuron, factor } of i.settings) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw invalidOption(`layer ${layer} does not exist: the model has ${layers} blocks (0..${layers - 1})`, 'layer');
    if (!Number.isInteger(neuron) || neuron < 0 || neuron >= neurons) throw invalidOption(`neuron ${neuron} does not exist: block ${layer} has ${neurons} FFN neurons (0..${neurons - 1})`, 'neuron');
    if (!Number.isFinite(factor)) throw invalidOption(`the factor of ${layer}:${neuron} must be a finite number, got ${factor}`, 'factor');
    const key = `${layer}:${neuron}`;
    if (seen.has(key)) throw invalidOption(`neuron ${key} is set twice: give each neuron one factor`, 'settings');
    seen.add(key);
  }
}

/**
 * Parses "3:29=0,5:100=2" (LAYER:NEURON=FACTOR, comma-separated) and checks it against the model.
 * Factors are any finite numbers (0 ablates, 2 enhances, -1 flips the sign).
 */
export function parseSettings(text: string, layers: number, neurons: number): NeuronSetting[] {
  const settings = text.split(',').map((p) => p.trim()).filter(Boolean).map((part) => {
    const m = /^(\d+):(\d+)=(.+)$/.exec(part);
    if (!m) throw invalidOption(`'${part}' is not LAYER:NEURON=FACTOR (e.g. 3:29=0)`, 'settings');
    return { layer: Number(m[1]), neuron: Number(m[2]), factor: Number(m[3]) };
  });
  checkIntervention({ settings, rows: 'readout' }, layers, neurons);
  return settings;
}

/** "3:29=0, 5:100=2" */
export const settingsText = (settings: NeuronSetting[]) => settings.map((s) => `${s.layer}:${s.neuron}=${s.factor}`).join(', ');

/** Per layer, two rows of D scales: ones (the clean row), then the setting's factors. */
export function interventionScales(settings: NeuronSetting[], layers: number, D: number): Float32Array[] {
  return Array.from({ length: layers }, (_, l) => {
    const s = new Float32Array(2 * D).fill(1);
    for (const n of settings) if (n.layer === l) s[D + n.neuron] = n.factor;
    return s;
  });
}

/** One forward pass of two rows: the prediction before and after. `target`: the class to follow, else the one predicted before. */
export async function intervene(runner: Runner, pixels: Float32Array, intervention: Intervention, labels: string[], target?: number): Promise<InterventionResult> {
  const C = runner.info.numClasses;
  checkIntervention(intervention, runner.layers, runner.D);
  if (target !== undefined && !(Number.isInteger(target) && target >= 0 && target < C)) {
    throw new EngineError('target', `target class ${target} is out of range: the model has ${C} classes (0..${C - 1})`);
  }
  const probs = await runner.scaled(pixels, interventionScales(intervention.settings, runner.layers, runner.D), 2, intervention.rows);
  requireFinite(probs, 'the probabilities of the intervention');
  const before = probs.subarray(0, C), after = probs.subarray(C);
  const t = target ?? argmax(before);
  return {
    settings: intervention.settings.map(({ layer, neuron, factor }) => ({ layer, neuron, factor })), rows: intervention.rows,
    before: topClasses(before, labels, 5), after: topClasses(after, labels, 5),
    target: { class: t, label: labels[t], before: before[t], after: after[t] }, top1After: argmax(after),
  };
}
