// One image, start to finish: clean pass, the path, its JAS, the baselines and the manipulations,
// assembled into the `neuron-path/1` record.
import { placeholderName } from './classNames';
import type { AnalyzeOptions, RunHooks } from './api';
import { EngineError, type ErrorFacts } from './errors';
import { activationPath, influencePatternPath, integratedGradientsPath, locatePath, pathJas, randomPaths, scaledLayer, sumTokens } from './locator';
import { manipulatePaths } from './manipulation';
import { BASELINES, RANDOM_COUNT_RANGE, ranBaselines, resolveAnalyzeOptions, RULES, SEED_RANGE, STEPS_RANGE, TOP_K_RANGE, type ResolvedAnalyzeOptions } from './options';
import { quadrature, rowFactors } from './quadrature';
import { argmax } from './rank';
import { readoutValues } from './readout';
import type { AnalysisResult, BaselineName, BaselineResult, ClassProbability, LayerProgress, PathNeuron, TokenMap } from './result';
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

/**
 * `prior`: an earlier result of this image with the same settings (a path found, with or without
 * some baselines): its path is reused, only the wanted baselines it lacks are computed, and the
 * result is the prior's with them added. `complete`: makes a record of a core; given, progress carries
 * the complete result without baselines (`pathResult`) as soon as the path, its JAS and its
 * remove/enhance are known (a run cancelled later keeps it).
 */
export async function analyzePixels(input: AnalysisInput, options: AnalyzeOptions, hooks: RunHooks = {}, prior?: AnalysisCore,
                                    complete?: (core: AnalysisCore) => AnalysisResult): Promise<AnalysisCore> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let mark = started;
  const lap = (phase: string) => { const now = performance.now(); phases[phase] = (phases[phase] ?? 0) + (now - mark) / 1000; mark = now; };
  const { info, layers: L, labels, pixels } = input;
  checkOptions(options);
  const opts = resolveAnalyzeOptions(options);
  const { steps: m, rule, formula, topK } = opts;
  const q = quadrature(m, rule);
  const runner = new Runner(input.sessions, info, L, hooks.signal);
  const D = runner.D;
  if (!(Number.isInteger(topK) && topK >= TOP_K_RANGE.min && topK <= D)) {
    throw new EngineError('invalid-option', `topK must be a whole number from ${TOP_K_RANGE.min} to ${D} (the neurons per layer), got ${JSON.stringify(options.topK)}`, { field: 'topK' });
  }
  const had = new Set(prior ? ranBaselines(prior) : []);
  const wanted = opts.baselines.filter((b) => !had.has(b));
  const randomCount = wanted.includes('random') ? opts.randomCount : 0;
  // The work ahead in model rows (each gradient pass runs m rows), for the remaining-time estimate.
  const plan = workPlan(prior ? 0 : L, wanted, randomCount, topK, m, L);
  let rowsAtStart = 0;
  let searchStart = 0;
  let prediction: LayerProgress['prediction'];
  const progress = (p: LayerProgress) => {
    const done = runner.counters.forwardPasses - rowsAtStart;
    const work = searchStart ? { done, total: Math.max(plan, done), seconds: (performance.now() - searchStart) / 1000 } : undefined;
    hooks.onProgress?.({ ...p, ...(prediction ? { prediction } : {}), ...(work ? { work } : {}) });
  };

  progress({ phase: 'clean', message: 'clean forward pass' });
  const clean = await runner.clean(pixels);
  requireFinite(clean.probs, 'the probabilities of the clean pass');
  lap('clean');
  searchStart = performance.now();
  rowsAtStart = runner.counters.forwardPasses;
  const T = info.tokens;
  const w = readoutActivations(clean.acts, info);
  const top = topClasses(clean.probs, labels, 5);
  const target = resolveTarget(opts.target, clean.probs);
  const before = clean.probs[target];
  // The panel shows the prediction as soon as it is known, long before the path is.
  prediction = { top, target: { class: target, label: labels[target], probability: before } };
  const summed = w.map((wl) => sumTokens(wl, D)); // activations summed over the readout tokens
  const activationOf = (l: number, j: number) => summed[l][j];
  const describe = (path: number[], score: (l: number, j: number) => number): PathNeuron[] =>
    path.map((neuron, layer) => ({ layer, neuron, activation: activationOf(layer, neuron), score: score(layer, neuron) }));

  let core: AnalysisCore;
  let firstLayerGrad: Float32Array | undefined;
  if (prior) {
    checkPrior(prior, opts, target, L);
    core = prior;
  } else {
    progress({ phase: 'clean', message: `predicted ${top[0].label || placeholderName(top[0].class)}; locating the path` });
    const stepScores: Float64Array[] = [];
    const located = await locatePath(runner, pixels, target, w, {
      quadrature: q, formula, topK,
      onLayer: (step, partial) => {
        lap('layers');
        stepScores.push(step.scores);
        progress({
          phase: 'layer', layer: step.layer, layers: L, message: `path, layer ${step.layer + 1}/${L}: neuron ${step.neuron}`,
          partialPath: describe(partial, (l, j) => stepScores[l][j]),
        });
      },
    });
    firstLayerGrad = located.firstLayerGrad;
    const steps = located.steps;
    const path = steps.map((s) => s.neuron);
    stepScores.forEach((s, l) => requireFinite(s, `the scores of layer ${l}`));

    progress({ phase: 'jas', message: 'joint attribution score of the path' });
    const jas = await pathJas(runner, pixels, target, w, path, q, formula);
    const sets = steps.map((s) => s.neurons);
    const setJas = topK > 1 ? await pathJas(runner, pixels, target, w, sets, q, formula) : undefined;
    lap('jas');
    progress({ phase: 'manipulation', message: 'removing and enhancing the path' });
    const after = await manipulatePaths(runner, pixels, target, topK > 1 ? [path, sets] : [path], FACTORS);
    requireFinite([jas, ...after.flat().map((a) => a.probability)], 'the path score and manipulated probabilities');
    lap('manipulation');
    const manipulated = (i: number) => ({
      remove: { probability: after[i][0].probability, deviation: after[i][0].probability - before, top1: after[i][0].top1 },
      enhance: { probability: after[i][1].probability, deviation: after[i][1].probability - before, top1: after[i][1].top1 },
    });
    core = {
      settings: { steps: m, ...(rule !== 'left' ? { rule } : {}), formula, target: opts.target, ...(topK > 1 ? { topK } : {}), baselines: [] },
      prediction: { top },
      target: prediction.target,
      path: describe(path, (l, j) => stepScores[l][j]),
      jas,
      ...(topK > 1 ? { topK: { k: topK, layers: sets.map((set, l) => set.map((neuron) => ({ layer: l, neuron, activation: activationOf(l, neuron), score: stepScores[l][neuron] }))), jas: setJas!, ...manipulated(1) } } : {}),
      layerScores: stepScores.map((s) => Array.from(s)),
      tokenMaps: path.map((neuron, layer) => tokenMap(clean.acts[layer], layer, neuron, T, D, info.grid)),
      baselines: {},
      manipulation: manipulated(0),
      timing: timing(started, runner, m, phases),
    };
    if (complete) progress({ phase: 'manipulation', message: 'the path is complete', pathResult: complete(core) });
  }
  if (wanted.length === 0) return core;

  const paths: number[][] = [];
  const baselines: AnalysisResult['baselines'] = {};
  let actPath: number[] | undefined, ig: { path: number[]; scores: Float64Array[] } | undefined, ip: typeof ig;
  const jasOf = new Map<number[], number>();
  const total = wanted.length;
  const step = (name: string) => `baselines: ${name} (${paths.length + 1} of ${total})`;
  if (wanted.includes('activation')) {
    progress({ phase: 'baselines', baseline: 'activation', message: step('activation') });
    actPath = activationPath(summed);
    jasOf.set(actPath, await pathJas(runner, pixels, target, w, actPath, q, formula));
    paths.push(actPath);
  }
  if (wanted.includes('ig')) {
    progress({ phase: 'baselines', baseline: 'ig', message: step('per-layer integrated gradients') });
    // Layer 0 alone is the search's first step: reused when the search ran here, else computed.
    firstLayerGrad ??= (await runner.gradients(pixels, target, w.map((wi, i) => (i === 0 ? scaledLayer(wi, q) : undefined)), m, rowFactors(q)))[0]!;
    ig = await integratedGradientsPath(runner, pixels, target, w, q, firstLayerGrad);
    jasOf.set(ig.path, await pathJas(runner, pixels, target, w, ig.path, q, formula));
    paths.push(ig.path);
  }
  if (wanted.includes('ip')) {
    progress({ phase: 'baselines', baseline: 'ip', message: step('influence pattern') });
    ip = await influencePatternPath(runner, pixels, target, q);
    jasOf.set(ip.path, await pathJas(runner, pixels, target, w, ip.path, q, formula));
    paths.push(ip.path);
  }
  const random = randomPaths(randomCount, opts.randomSeed, L, D);
  const randomJas: number[] = [];
  for (const [i, rp] of random.entries()) {
    progress({ phase: 'baselines', baseline: 'random', message: `baselines: random path ${i + 1} of ${random.length} (${paths.length + 1} of ${total})` });
    randomJas.push(await pathJas(runner, pixels, target, w, rp, q, formula));
  }
  lap('baselines');
  progress({ phase: 'manipulation', message: 'removing and enhancing the baseline paths' });
  const after = await manipulatePaths(runner, pixels, target, [...paths, ...random], FACTORS);
  requireFinite([...jasOf.values(), ...randomJas, ...after.flat().map((a) => a.probability)], 'the baseline scores and manipulated probabilities');
  lap('manipulation');
  const baseline = (p: number[], k: number, score: (l: number, j: number) => number): BaselineResult => ({
    path: describe(p, score), jas: jasOf.get(p)!, remove: after[k][0].probability, enhance: after[k][1].probability,
    removeTop1: after[k][0].top1, enhanceTop1: after[k][1].top1,
  });
  let k = 0;
  if (actPath) baselines.activation = baseline(actPath, k++, activationOf);
  if (ig) { const scores = ig.scores; baselines.integratedGradients = baseline(ig.path, k++, (l, j) => scores[l][j]); }
  if (ip) { const scores = ip.scores; baselines.influencePattern = baseline(ip.path, k++, (l, j) => scores[l][j]); }
  if (random.length) {
    const removes = after.slice(k).map((a) => a[0].probability), enhances = after.slice(k).map((a) => a[1].probability);
    baselines.random = {
      count: random.length, seed: opts.randomSeed,
      jasMean: mean(randomJas), jasStd: std(randomJas), removeMean: mean(removes), enhanceMean: mean(enhances),
      removeKept: mean(after.slice(k).map((a) => Number(a[0].top1 === target))),
    };
  }
  const ran = new Set([...had, ...wanted]);
  const t = timing(started, runner, m, phases);
  return {
    ...core,
    settings: { ...core.settings, baselines: BASELINES.filter((b) => ran.has(b)) },
    baselines: { ...core.baselines, ...baselines },
    // A prior's time is added: the record says what the whole result cost.
    timing: prior ? addTiming(prior.timing, t) : t,
  };
}

/** Model rows the analysis will run: the search (a gradient pass of m rows per layer), the JAS, the baselines, remove/enhance. */
function workPlan(searchLayers: number, wanted: readonly BaselineName[], randomCount: number, topK: number, m: number, L: number): number {
  let passes = searchLayers ? searchLayers + (topK > 1 ? 2 : 1) : 0;
  let paths = searchLayers ? (topK > 1 ? 2 : 1) : 0;
  for (const b of wanted) {
    if (b === 'activation') { passes += 1; paths += 1; }
    if (b === 'ig') { passes += L + (searchLayers ? 0 : 1); paths += 1; }
    if (b === 'ip') { passes += 2; paths += 1; }
  }
  passes += randomCount;
  paths += randomCount;
  return passes * m + paths * FACTORS.length;
}

function checkPrior(prior: AnalysisCore, opts: ResolvedAnalyzeOptions, target: number, L: number): void {
  const same = prior.settings.steps === opts.steps && (prior.settings.rule ?? 'left') === opts.rule && prior.settings.formula === opts.formula
    && (prior.settings.topK ?? 1) === opts.topK && prior.target.class === target && prior.path.length === L;
  if (!same) {
    throw new EngineError('invalid-option', 'the earlier result was made with other settings (steps, rule, formula, top-k or class), so its path cannot be reused: analyse the image again', { field: 'prior' });
  }
}

function timing(started: number, runner: Runner, m: number, phases: Record<string, number>): AnalysisResult['timing'] {
  return { seconds: (performance.now() - started) / 1000, ...runner.counters, rowsPerRun: runner.rowsPerRun(m), phases: { ...phases } };
}

function addTiming(a: AnalysisResult['timing'], b: AnalysisResult['timing']): AnalysisResult['timing'] {
  const phases = { ...(a.phases ?? {}) };
  for (const [k, v] of Object.entries(b.phases ?? {})) phases[k] = (phases[k] ?? 0) + v;
  return { seconds: a.seconds + b.seconds, forwardPasses: a.forwardPasses + b.forwardPasses, backwardPasses: a.backwardPasses + b.backwardPasses, rowsPerRun: b.rowsPerRun, phases };
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
