// The analyses a result file holds: the settings every line carries (and the resume key made of
// them), what a usable analysis line looks like, and the records of a file's lines. The line types
// and names are in schema.ts.
import { createHash } from 'node:crypto';
import type { AnalyzeOptions, ModelOptions } from '../api';
import { pathKey, type RecordedPath } from '../files';
import { readPreprocessing } from '../modelFolder';
import { locateModel } from '../modelLocation';
import { FORMULAS, resolveAnalyzeOptions, resolvedScope, STEPS_RANGE, TOP_K_RANGE } from '../options';
import { preprocessingKey } from '../preprocessing';
import type { AnalysisResult, Formula } from '../result';
import {
  ANALYSIS_SCHEMA, isErrorLine, type BatchError, type BatchLine, type BatchSettings, type ImageRecord, type ModelSettings, type RecordKind, type ResultLine, type RunSettings,
} from './schema';

/** The model settings that change what a record holds (threads and execution provider do not). */
export function modelSettings(modelSha256: string, model: ModelOptions): ModelSettings {
  const p = model.preprocess ?? {};
  const preprocess = Object.fromEntries(Object.entries({ size: p.size, mean: p.mean, std: p.std, resize: p.resize })
    .filter(([, v]) => v !== undefined)) as NonNullable<ModelOptions['preprocess']>;
  return { sha256: modelSha256, scope: resolvedScope(model), preprocess, preprocessing: configuredPreprocessing(model), labelsPath: model.labelsPath ?? null };
}

/**
 * The preprocessing the model's configs and the overrides give, as values (preprocessingKey): a
 * config edited between two runs changes the key. A config the engine cannot read is reported when
 * the model is opened; here it only has to key differently.
 */
function configuredPreprocessing(model: ModelOptions): string {
  try { return preprocessingKey(readPreprocessing(locateModel(model.modelPath), model.preprocess)); } catch { return 'unreadable'; }
}

/** The resume key of a settings body; labelsPath changes names, not numbers, so it is left out. */
export function settingsKey(body: { model: ModelSettings }): string {
  const keyed = { ...body, model: { ...body.model, labelsPath: undefined } };
  return createHash('sha256').update(JSON.stringify(keyed)).digest('hex').slice(0, 16);
}

/** The settings that change what a record holds (threads and execution provider do not). */
export function batchSettings(modelSha256: string, model: ModelOptions, analyze: AnalyzeOptions): BatchSettings {
  const a = resolveAnalyzeOptions(analyze);
  const baselines = [...new Set(a.baselines)].sort();
  const body = {
    model: modelSettings(modelSha256, model),
    analyze: {
      steps: a.steps, formula: a.formula, target: a.target, baselines, randomCount: a.randomCount, randomSeed: a.randomSeed,
      ...(a.topK > 1 ? { topK: a.topK } : {}),
      ...(a.rule !== 'left' ? { rule: a.rule } : {}),
    },
  };
  return { key: settingsKey(body), ...body };
}

/**
 * What differs between two settings blocks, as "analyze.steps 5 <was>, 6 <now>" (labels names, not
 * numbers). A different model is named by its path where `models` gives the two (a hash says
 * nothing to a user): "another model: a/model.onnx <was>, b/model.onnx <now>".
 */
export function settingsDifferences(a: RunSettings, b: RunSettings, [was, now]: [string, string], models: [string | undefined, string | undefined] = [undefined, undefined]): string[] {
  const [pa, pb] = models;
  return differences({ ...a, key: undefined }, { ...b, key: undefined }, '', was, now).map((d) => {
    if (!d.startsWith('model.sha256 ') || pa === undefined || pb === undefined) return d;
    return pa === pb ? `the model ${pa} changed (sha256 ${a.model.sha256.slice(0, 12)} ${was}, ${b.model.sha256.slice(0, 12)} ${now})` : `another model: ${pa} ${was}, ${pb} ${now}`;
  });
}

function differences(a: object, b: object, prefix: string, was: string, now: string): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    const va = ra[k], vb = rb[k];
    if (va && vb && typeof va === 'object' && typeof vb === 'object' && !Array.isArray(va)) out.push(...differences(va, vb, `${prefix}${k}.`, was, now));
    else if (k !== 'labelsPath' && JSON.stringify(va) !== JSON.stringify(vb)) out.push(`${prefix}${k} ${JSON.stringify(va)} ${was}, ${JSON.stringify(vb)} ${now}`);
  }
  return out;
}

/** The resume key of an image: its path, its content and the settings it was analysed with. */
export const doneKey = (image: string, sha256: string | null, settingsKey: string) => `${image}\u0000${sha256 ?? ''}\u0000${settingsKey}`;

/** What tells a line's image apart from others: its path, or its bytes where its name is not UTF-8. */
export const lineImageKey = (l: { schema: string; image: string | RecordedPath; imageBase64?: string }): string =>
  (typeof l.image === 'string' ? pathKey({ path: l.image, pathBase64: l.imageBase64 }) : pathKey(l.image));

/** The same key for an image a folder scan found (absolute). */
export const itemKey = (item: { image: string; imageBase64?: string }): string => pathKey({ path: item.image, pathBase64: item.imageBase64 });

/** The records of a file's lines (error lines and, for a re-analysed image, all but its last record dropped). */
export function recordsOf<L extends ResultLine<ImageRecord, { key: string }>>(lines: L[]): Exclude<L, BatchError<unknown>>[] {
  const last = new Map<string, Exclude<L, BatchError<unknown>>>();
  for (const l of lines) {
    if (isErrorLine(l)) continue;
    const r = l as Exclude<L, BatchError<unknown>>;
    last.set(doneKey(lineImageKey(r), r.image.sha256, r.batch?.key ?? ''), r);
  }
  return [...last.values()];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isProb = (v: unknown) => isNum(v) && (v as number) >= 0 && (v as number) <= 1;
const LIMIT = 1e7; // layers, neurons and classes: far above any model, far below what breaks arrays

/** Why a parsed `neuron-path/1` line is not a usable analysis (its numbers in range, its arrays of the model's size). */
function analysisProblem(r: Obj): string | undefined {
  const model = r.model, image = r.image, prediction = r.prediction, target = r.target, manipulation = r.manipulation;
  if (!isObj(model) || typeof model.sha256 !== 'string' || !isInt(model.layers, 1, LIMIT) || !isInt(model.neuronsPerLayer, 1, LIMIT)) return 'no model (sha256, layers, neuronsPerLayer)';
  if (!isObj(image) || typeof image.path !== 'string') return 'no image path';
  const L = model.layers as number, D = model.neuronsPerLayer as number;
  if (!Array.isArray(r.path) || r.path.length !== L) return `a path that is not one neuron per layer (${L})`;
  if (!r.path.every((n, l) => isObj(n) && n.layer === l && isInt(n.neuron, 0, D - 1))) return `a path neuron out of range (0..${D - 1})`;
  if (!isObj(prediction) || !Array.isArray(prediction.top) || !prediction.top.length
    || !prediction.top.every((c) => isObj(c) && isInt(c.class, 0, LIMIT) && isProb(c.probability))) return 'no prediction (top classes with probabilities)';
  if (!isObj(target) || !isInt(target.class, 0, LIMIT) || !isProb(target.probability)) return 'no target class and probability';
  const settings = r.settings;
  if (!isObj(settings) || !isInt(settings.steps, STEPS_RANGE.min, STEPS_RANGE.max) || !FORMULAS.includes(settings.formula as Formula)
    || (settings.topK !== undefined && !isInt(settings.topK, TOP_K_RANGE.min, TOP_K_RANGE.max))) {
    return `settings out of their bounds (steps ${STEPS_RANGE.min}..${STEPS_RANGE.max}, formula ${FORMULAS.join('|')}, top-k ${TOP_K_RANGE.min}..${TOP_K_RANGE.max})`;
  }
  if (!isNum(r.jas)) return 'no finite JAS';
  if (!isObj(manipulation) || !isObj(manipulation.remove) || !isObj(manipulation.enhance)
    || !isProb(manipulation.remove.probability) || !isProb(manipulation.enhance.probability)) return 'no remove/enhance probabilities';
  if (!isObj(r.baselines)) return 'no baselines';
  for (const key of ['activation', 'integratedGradients', 'influencePattern'] as const) {
    const b = r.baselines[key];
    if (b !== undefined && !(isObj(b) && isNum(b.jas) && isProb(b.remove) && isProb(b.enhance) && Array.isArray(b.path)
      && b.path.length === L && b.path.every((n) => isObj(n) && isInt(n.neuron, 0, D - 1)))) return `a malformed ${key} baseline`;
  }
  const top = r.topK;
  if (top !== undefined && !(isObj(top) && isInt(top.k, 2, D) && Array.isArray(top.layers) && top.layers.length === L
    && top.layers.every((set, l) => Array.isArray(set) && set.length === top.k && set.every((n) => isObj(n) && n.layer === l && isInt(n.neuron, 0, D - 1)))
    && isNum(top.jas) && isObj(top.remove) && isProb(top.remove.probability) && isObj(top.enhance) && isProb(top.enhance.probability))) {
    return 'a malformed top-K path';
  }
  const random = r.baselines.random;
  if (random !== undefined && !(isObj(random) && isInt(random.count, 1, LIMIT) && isNum(random.jasMean) && isProb(random.removeMean) && isProb(random.enhanceMean))) {
    return 'a malformed random baseline';
  }
  if (r.trueClass !== undefined && r.trueClass !== null && !isInt(r.trueClass, 0, LIMIT)) return 'a folder class that is not a class index';
  if (r.folderLabel !== undefined && r.folderLabel !== null && typeof r.folderLabel !== 'string') return 'a folder label that is not text';
  if (r.layerScores !== undefined && !(Array.isArray(r.layerScores) && r.layerScores.every((row) => Array.isArray(row)))) return 'malformed layer scores';
  if (r.tokenMaps !== undefined && !(Array.isArray(r.tokenMaps) && r.tokenMaps.every((m) => isObj(m) && Array.isArray(m.values)))) return 'malformed token maps';
  return undefined;
}

export const ANALYSIS_RECORDS: RecordKind<BatchLine> = {
  schema: ANALYSIS_SCHEMA,
  problem: analysisProblem,
  slim: (line) => (line.schema === ANALYSIS_SCHEMA ? { ...line, layerScores: [], tokenMaps: [] } : line),
};

/** Whether a value (a record the panel or the CLI is given) has the shape of an analysis. */
export const isAnalysisResult = (v: unknown): v is AnalysisResult => isObj(v) && v.schema === ANALYSIS_SCHEMA && analysisProblem(v) === undefined;
