// One image, start to finish: clean pass, the path, its JAS, the baselines and the manipulations,
// assembled into the `neuron-path/1` record.
import type { AnalyzeOptions, RunHooks } from './api';
import { EngineError, type ErrorFacts } from './errors';
import { activationPath, argmax, influencePatternPath, integratedGradientsPath, locatePath, pathJas, randomPaths, sumTokens, type Neurons } from './locator';
import { manipulatePaths } from './manipulation';
import { RANDOM_COUNT_RANGE, resolveAnalyzeOptions, RULES, SEED_RANGE, STEPS_RANGE, TOP_K_RANGE } from './options';
import { quadrature } from './quadrature';
import { readoutValues } from './readout';
import type { AnalysisResult, BaselineResult, ClassProbability, LayerProgress, PathNeuron, TokenMap } from './result';
import { Runner, type ModelSessions } from './runner';
import type { InstrumentedInfo } from './instrument';

export class TargetError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}) { super('target', message, facts); this.name = 'TargetError'; }
}

export interface AnalysisInput {
  sessions: ModelSessions;
  info: InstrumentedInfo;
  layers: number;
  labels: string[];
  pixels: Float32Array;
}

export type AnalysisCore = Omit<AnalysisResult, 'schema' | 'model' | 'image'>;

const FACTORS = [0, 2]; // remove, enhance (docs/method.md, manipulation)

export async function analyzePixels(input: AnalysisInput, options: AnalyzeOptions, hooks: RunHooks = {}): Promise<AnalysisCore> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let mark = started;
  const lap = (phase: string) => { const now = performance.now(); phases[phase] = (phases[phase] ?? 0) + (now - mark) / 1000; mark = now; };
  const { info, layers: L, labels, pixels } = input;
  checkOptions(options);
  const opts = resolveAnalyzeOptions(options);
  const { steps: m, rule, formula, topK } = opts;
  const q = quadrature(m, rule);
  const wanted = new Set(opts.baselines);
  const runner = new Runner(input.sessions, info, L, hooks.signal);
  const D = runner.D;
  if (!(Number.isInteger(topK) && topK >= TOP_K_RANGE.min && topK <= D)) {
    throw new EngineError('invalid-option', `topK must be a whole number from ${TOP_K_RANGE.min} to ${D} (the neurons per layer), got ${JSON.stringify(options.topK)}`, { field: 'topK' });
  }
  let prediction: LayerProgress['prediction'];
  const progress = (p: LayerProgress) => hooks.onProgress?.(prediction ? { ...p, prediction } : p);

  progress({ phase: 'clean', message: 'clean forward pass' });
  const clean = await runner.clean(pixels);
  requireFinite(clean.probs, 'the probabilities of the clean pass');
  lap('clean');
  const T = info.tokens;
  const w = readoutActivations(clean.acts, info);
  const top = topClasses(clean.probs, labels, 5);
  const target = resolveTarget(opts.target, clean.probs);
  const before = clean.probs[target];
  // The panel shows the prediction as soon as it is known, long before the path is.
  prediction = { top, target: { class: target, label: labels[target], probability: before } };
  progress({ phase: 'clean', message: `predicted ${top[0].label || `class ${top[0].class}`}; locating the path` });
  const summed = w.map((wl) => sumTokens(wl, D)); // activations summed over the readout tokens
  const activationOf = (l: number, j: number) => summed[l][j];

  const describe = (path: number[], score: (l: number, j: number) => number): PathNeuron[] =>
    path.map((neuron, layer) => ({ layer, neuron, activation: activationOf(layer, neuron), score: score(layer, neuron) }));

  const stepScores: Float64Array[] = [];
  const { steps, firstLayerGrad } = await locatePath(runner, pixels, target, w, {
    quadrature: q, formula, topK,
    onLayer: (step, partial) => {
      lap('layers');
      stepScores.push(step.scores);
      progress({
        phase: 'layer', layer: step.layer, layers: L, message: `layer ${step.layer + 1}/${L}: neuron ${step.neuron}`,
        partialPath: describe(partial, (l, j) => stepScores[l][j]),
      });
    },
  });
  const path = steps.map((s) => s.neuron);
  stepScores.forEach((s, l) => requireFinite(s, `the scores of layer ${l}`));

  progress({ phase: 'jas', message: 'joint attribution score of the path' });
  const jas = await pathJas(runner, pixels, target, w, path, q, formula);
  lap('jas');

  const sets = steps.map((s) => s.neurons);
  const setJas = topK > 1 ? await pathJas(runner, pixels, target, w, sets, q, formula) : undefined;
  lap('jas');

  const paths: Neurons[][] = topK > 1 ? [path, sets] : [path];
  const baselines: AnalysisResult['baselines'] = {};
  let actPath: number[] | undefined, ig: { path: number[]; scores: Float64Array[] } | undefined, ip: typeof ig;
  const jasOf = new Map<number[], number>();
  if (wanted.has('activation')) {
    progress({ phase: 'baselines', message: 'activation baseline' });
    actPath = activationPath(summed);
    jasOf.set(actPath, await pathJas(runner, pixels, target, w, actPath, q, formula));
    paths.push(actPath);
  }
  if (wanted.has('ig')) {
    progress({ phase: 'baselines', message: 'per-layer integrated gradients baseline' });
    ig = await integratedGradientsPath(runner, pixels, target, w, q, firstLayerGrad);
    jasOf.set(ig.path, await pathJas(runner, pixels, target, w, ig.path, q, formula));
    paths.push(ig.path);
  }
  if (wanted.has('ip')) {
    progress({ phase: 'baselines', message: 'influence pattern baseline' });
    ip = await influencePatternPath(runner, pixels, target, q);
    jasOf.set(ip.path, await pathJas(runner, pixels, target, w, ip.path, q, formula));
    paths.push(ip.path);
  }
  const random = randomPaths(opts.randomCount, opts.randomSeed, L, D);
  const randomJas: number[] = [];
  for (const [i, rp] of random.entries()) {
    progress({ phase: 'baselines', message: `random path ${i + 1}/${random.length}` });
    randomJas.push(await pathJas(runner, pixels, target, w, rp, q, formula));
  }

  lap('baselines');
  progress({ phase: 'manipulation', message: 'removing and enhancing the paths' });
  const after = await manipulatePaths(runner, pixels, target, [...paths, ...random], FACTORS);
  requireFinite([jas, ...jasOf.values(), ...randomJas, ...after.flat().map((a) => a.probability)], 'the path scores and manipulated probabilities');
  lap('manipulation');
  const baseline = (p: number[], k: number, score: (l: number, j: number) => number): BaselineResult => ({
    path: describe(p, score), jas: jasOf.get(p)!, remove: after[k][0].probability, enhance: after[k][1].probability,
    removeTop1: after[k][0].top1, enhanceTop1: after[k][1].top1,
  });
  let k = topK > 1 ? 2 : 1;
  if (actPath) baselines.activation = baseline(actPath, k++, activationOf);
  if (ig) { const scores = ig.scores; baselines.integratedGradients = baseline(ig.path, k++, (l, j) => scores[l][j]); }
  if (ip) { const scores = ip.scores; baselines.influencePattern = baseline(ip.path, k++, (l, j) => scores[l][j]); }
  const manipulated = (i: number) => ({
    remove: { probability: after[i][0].probability, deviation: after[i][0].probability - before, top1: after[i][0].top1 },
    enhance: { probability: after[i][1].probability, deviation: after[i][1].probability - before, top1: after[i][1].top1 },
  });
  if (random.length) {
    const removes = after.slice(k).map((a) => a[0].probability), enhances = after.slice(k).map((a) => a[1].probability);
    baselines.random = {
      count: random.length, seed: opts.randomSeed,
      jasMean: mean(randomJas), jasStd: std(randomJas), removeMean: mean(removes), enhanceMean: mean(enhances),
      removeKept: mean(after.slice(k).map((a) => Number(a[0].top1 === target))),
    };
  }

  return {
    settings: { steps: m, ...(rule !== 'left' ? { rule } : {}), formula, target: opts.target, ...(topK > 1 ? { topK } : {}) },
    prediction: { top },
    target: prediction.target,
    path: describe(path, (l, j) => stepScores[l][j]),
    jas,
    ...(topK > 1 ? { topK: { k: topK, layers: sets.map((set, l) => set.map((neuron) => ({ layer: l, neuron, activation: activationOf(l, neuron), score: stepScores[l][neuron] }))), jas: setJas!, ...manipulated(1) } } : {}),
    layerScores: stepScores.map((s) => Array.from(s)),
    tokenMaps: path.map((neuron, layer) => tokenMap(clean.acts[layer], layer, neuron, T, D, info.grid)),
    baselines,
    manipulation: manipulated(0),
    timing: { seconds: (performance.now() - started) / 1000, ...runner.counters, rowsPerRun: runner.rowsPerRun(m), phases },
  };
}

/** Each block's activation rows at the readout tokens (the w of the method's search, docs/method.md): K x D, row-major. */
export function readoutActivations(acts: Float32Array[], info: InstrumentedInfo): Float32Array[] {
  return acts.map((a) => readoutValues(a, info.readoutRows, info.neurons));
}

function checkOptions(o: AnalyzeOptions): void {
  const check = (field: string, v: unknown, min: number, max: number) => {
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new EngineError('invalid-option', `${field} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`, { field });
    }
  };
  check('steps', o.steps, STEPS_RANGE.min, STEPS_RANGE.max);
  check('randomCount', o.randomCount, RANDOM_COUNT_RANGE.min, RANDOM_COUNT_RANGE.max);
  check('randomSeed', o.randomSeed, SEED_RANGE.min, SEED_RANGE.max);
  if (o.rule !== undefined && !RULES.includes(o.rule)) {
    throw new EngineError('invalid-option', `rule must be one of ${RULES.join(', ')}, got ${JSON.stringify(o.rule)}`, { field: 'rule' });
  }
}

/** Non-finite numbers are never reported as a result (an overflowing model or input gives them). */
export function requireFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new EngineError('numeric', `${what} include ${values[i]}: the model's computation overflowed for this input, so no result is reported`, { what });
    }
  }
}

export function topClasses(probs: Float32Array, labels: string[], n: number): ClassProbability[] {
  return Array.from(probs, (p, i) => ({ class: i, label: labels[i], probability: p }))
    .sort((a, b) => b.probability - a.probability).slice(0, n);
}

function resolveTarget(target: number | 'predicted', probs: Float32Array): number {
  if (target === 'predicted') return argmax(probs);
  if (!Number.isInteger(target) || target < 0 || target >= probs.length) {
    throw new TargetError(`target class ${target} is out of range: the model has ${probs.length} classes (0..${probs.length - 1}).`);
  }
  return target;
}

/** The path neuron's activation at every patch token (the last gh*gw tokens), laid out on the patch grid. */
export function tokenMap(acts: Float32Array, layer: number, neuron: number, T: number, D: number, grid: [number, number]): TokenMap {
  const first = T - grid[0] * grid[1];
  const values = Array.from({ length: grid[0] * grid[1] }, (_, t) => acts[(first + t) * D + neuron]);
  return { layer, neuron, grid, values };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const std = (xs: number[]) => { const mu = mean(xs); return Math.sqrt(mean(xs.map((x) => (x - mu) ** 2))); };
