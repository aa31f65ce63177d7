// The pruning protocol of the paper's top-K study, with held-out images (docs/method.md, many
// images): per class, the kept neurons are chosen on one part of its images (the `keep` most
// frequent path neurons per block, counting every neuron of a top-K path) and the accuracy is
// measured on the rest. In each of the first N blocks a random fraction p of the readout neurons is
// zeroed (live, as the remove / enhance manipulation), once as drawn, once sparing the kept path
// neurons, once sparing as many of the activation baseline's neurons (chosen the same way from the
// clean activations), once sparing as many neurons drawn at random. Same draw for all four.
import { recordedPath } from '../files';
import type { Engine } from '../index';
import { argmax, topIndices } from '../rank';
import { groupOf, type CategoryPatterns, type GroupBy, type PatternRecord } from './patterns';
import { EngineError, invalidOption, isCancelled } from '../errors';
import { PRUNING_DEFAULTS } from '../options';
import { rng } from '../random';

export type PruneVariant = 'unprotected' | 'protected' | 'activation' | 'control';
export const PRUNE_VARIANTS: PruneVariant[] = ['unprotected', 'protected', 'activation', 'control'];

/** k distinct indices of 0..n-1, uniformly (partial Fisher-Yates). */
export function sample(n: number, k: number, rand: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < Math.min(k, n); i++) {
    const j = i + Math.floor(rand() * (n - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, Math.min(k, n));
}

/**
 * One block's scale vectors: `round(fraction * D)` neurons drawn at random are zeroed; `protected`
 * spares the given path neurons, `activation` the given activation neurons, `control` as many
 * neurons as `protect` drawn at random.
 */
export function pruneMasks(D: number, fraction: number, protect: number[], rand: () => number, activation: number[] = []): Record<PruneVariant, Float32Array> {
  const zero = sample(D, Math.round(fraction * D), rand);
  const spare = new Set(protect), spareActivation = new Set(activation);
  // A whole permutation, so the draw of the next block does not depend on how many are kept.
  const spareControl = new Set(sample(D, D, rand).slice(0, spare.size));
  const masks = Object.fromEntries(PRUNE_VARIANTS.map((v) => [v, new Float32Array(D).fill(1)])) as Record<PruneVariant, Float32Array>;
  for (const j of zero) {
    masks.unprotected[j] = 0;
    if (!spare.has(j)) masks.protected[j] = 0;
    if (!spareActivation.has(j)) masks.activation[j] = 0;
    if (!spareControl.has(j)) masks.control[j] = 0;
  }
  return masks;
}

/** The neurons a record's path puts in each layer: its top-K sets where it has them, else the path. */
export function pathSets(r: PatternRecord): number[][] {
  return r.topK ? r.topK.layers.map((l) => l.map((n) => n.neuron)) : r.path.map((n) => [n.neuron]);
}

/**
 * Per layer, the `keep` most frequent neurons of the given per-image sets (ties: the larger
 * `tieBreak`, then the lower index); fewer where fewer ever occur.
 */
export function mostFrequent(sets: number[][][], layers: number, keep: number, tieBreak?: (l: number, j: number) => number): number[][] {
  return Array.from({ length: layers }, (_, l) => {
    const count = new Map<number, number>();
    for (const s of sets) for (const j of s[l]) count.set(j, (count.get(j) ?? 0) + 1);
    return [...count.keys()]
      .sort((a, b) => count.get(b)! - count.get(a)! || (tieBreak ? tieBreak(l, b) - tieBreak(l, a) : 0) || a - b)
      .slice(0, keep);
  });
}

export interface ClassSplit {
  key: string;
  label: string;
  choose: number[];                 // record indices the kept neurons are chosen on
  heldOut: number[];                // record indices the accuracy is measured on (disjoint from choose)
}

/**
 * Per class, a seeded split of its records: round(holdout * n) held out (at least one), the rest
 * to choose on. holdout 0: every image both chooses and is measured (no held-out images). A class
 * with one image cannot be split and is left out (returned in `tooSmall`).
 */
export function splitClasses(records: PatternRecord[], by: GroupBy, holdout: number, seed: number, labels?: string[]): { classes: ClassSplit[]; tooSmall: number[] } {
  if (!(holdout >= 0 && holdout < 1)) throw invalidOption(`holdout must be a fraction in [0, 1), got ${holdout}`);
  const groups = new Map<string, ClassSplit>();
  const tooSmall: number[] = [];
  records.forEach((r, i) => {
    const g = groupOf(r, by, labels);
    if (!g) { tooSmall.push(i); return; }
    let c = groups.get(g.key);
    if (!c) groups.set(g.key, c = { key: g.key, label: g.label, choose: [], heldOut: [] });
    c.choose.push(i);
  });
  const classes: ClassSplit[] = [];
  for (const c of [...groups.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    const all = c.choose;
    if (holdout === 0) { classes.push({ ...c, heldOut: all.slice() }); continue; }
    if (all.length < 2) { tooSmall.push(...all); continue; }
    const n = Math.min(all.length - 1, Math.max(1, Math.round(holdout * all.length)));
    const order = sample(all.length, all.length, rng(mix(seed, hashKey(c.key), 0x5eed)));
    const held = new Set(order.slice(0, n));
    classes.push({ ...c, choose: all.filter((_, k) => !held.has(k)), heldOut: all.filter((_, k) => held.has(k)) });
  }
  return { classes, tooSmall };
}

export interface PruneOptions {
  fractions: number[];              // each in [0, 1]
  keep: number;                     // path neurons kept per block (the most frequent on the chosen images)
  holdout?: number;                 // share of each class's images held out for measuring (default: PRUNING_DEFAULTS)
  layers?: number;                  // prune only the first N blocks (default all)
  seed?: number;                    // default 0
  labels?: string[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface PrunePoint {
  fraction: number;
  zeroed: Record<PruneVariant, number>;             // mean neurons zeroed per pruned block
  accuracy: Record<PruneVariant, number>;           // top-1 equals the reference class
  targetProbability: Record<PruneVariant, number>;  // mean probability of the record's target class
}

export interface PrunedClass {
  key: string; label: string;
  chosenOn: number; measuredOn: number;             // images
  kept: { path: number[][]; activation: number[][] };  // per pruned block, the spared neurons
}

export interface PruningCurve {
  keep: number;
  seed: number;
  holdout: number;
  layers: number;                   // blocks pruned (the first N)
  images: number;                   // held-out images measured
  skipped: { image: string; reason: string }[];
  reference: 'folder class' | 'clean prediction' | 'mixed';  // what "accuracy" compares the top-1 with
  clean: { accuracy: number; targetProbability: number };
  classes: PrunedClass[];
  points: PrunePoint[];
}

export type PruneRecord = PatternRecord & { image: { path: string } };

/** The engine passes the protocol runs (the real `Engine` has them). */
export type PruneEngine = Pick<Engine, 'info' | 'scaledProbabilities' | 'readoutActivations'>;

/** Runs the protocol for every class of the records; the image files must still be there. */
export async function pruningCheck(engine: PruneEngine, records: PruneRecord[], patterns: CategoryPatterns, opts: PruneOptions): Promise<PruningCurve> {
  const { fractions, keep } = opts;
  const seed = opts.seed ?? PRUNING_DEFAULTS.seed, holdout = opts.holdout ?? PRUNING_DEFAULTS.holdout;
  if (!fractions.length || fractions.some((p) => !(p >= 0 && p <= 1))) throw invalidOption(`pruning fractions must be in [0, 1], got ${fractions.join(',')}`);
  if (!Number.isInteger(keep) || keep < 0) throw invalidOption(`keep must be an integer >= 0, got ${keep}`);
  const L = engine.info.layers, D = engine.info.neuronsPerLayer, C = engine.info.numClasses;
  const N = opts.layers ?? L;
  if (!Number.isInteger(N) || N < 1 || N > L) throw invalidOption(`layers must be an integer in 1..${L} (the model's blocks), got ${opts.layers}`);
  if (patterns.layers !== L || patterns.neurons !== D) throw new EngineError('not-comparable', `the records are of a ${patterns.layers}x${patterns.neurons} model, the engine's is ${L}x${D}`);
  const split = splitClasses(records, patterns.groupBy, holdout, seed, opts.labels);
  const skipped: PruningCurve['skipped'] = split.tooSmall.map((i) => ({ image: records[i].image.path, reason: 'its class has too few images to hold one out' }));
  const total = split.classes.reduce((a, c) => a + c.choose.length + c.heldOut.length, 0);
  let done = 0;
  const progress = () => opts.onProgress?.(done, total);

  // Kept neurons per class, from the chosen images only.
  const classes: (PrunedClass & { split: ClassSplit })[] = [];
  for (const c of split.classes) {
    const path = mostFrequent(c.choose.map((i) => pathSets(records[i])), L, keep).slice(0, N);
    const k = Math.max(...c.choose.map((i) => pathSets(records[i])[0].length));
    const activations: Float64Array[][] = [];
    for (const i of c.choose) {
      progress();
      try {
        activations.push(await engine.readoutActivations(recordedPath(records[i].image), opts.signal));
      } catch (e) {
        if (isCancelled(e)) throw e;
        skipped.push({ image: records[i].image.path, reason: (e as Error).message });
      }
      done++;
    }
    // The activation baseline chosen like the path: the top-k neurons of each image, most frequent
    // first (ties: larger summed activation), as many per block as the path keeps there.
    const summedAct = (l: number, j: number) => activations.reduce((a, x) => a + x[l][j], 0);
    const actSets = activations.map((a) => a.map((layer) => topIndices(layer, k)));
    const activation = mostFrequent(actSets, L, keep, summedAct).slice(0, N).map((l, i) => l.slice(0, path[i].length));
    classes.push({ key: c.key, label: c.label, chosenOn: c.choose.length, measuredOn: c.heldOut.length, kept: { path, activation }, split: c });
  }

  const zeroSums = () => Object.fromEntries(PRUNE_VARIANTS.map((v) => [v, 0])) as Record<PruneVariant, number>;
  const sums = fractions.map(() => ({ zeroed: zeroSums(), accuracy: zeroSums(), targetProbability: zeroSums() }));
  const references = new Set<string>();
  let images = 0, cleanRight = 0, cleanTarget = 0;
  const V = PRUNE_VARIANTS.length;
  for (const c of classes) {
    for (const i of c.split.heldOut) {
      progress();
      const r = records[i];
      const rows = fractions.length * V;
      const scales = Array.from({ length: L }, () => new Float32Array(rows * D).fill(1));
      const zeroed = fractions.map(() => zeroSums());
      fractions.forEach((p, f) => {
        const rand = rng(mix(seed, i, f));
        for (let l = 0; l < N; l++) {
          const masks = pruneMasks(D, p, c.kept.path[l], rand, c.kept.activation[l]);
          PRUNE_VARIANTS.forEach((v, k) => {
            scales[l].set(masks[v], (f * V + k) * D);
            zeroed[f][v] += masks[v].reduce((a, x) => a + Number(x === 0), 0) / N;
          });
        }
      });
      let probs: Float32Array;
      try {
        probs = await engine.scaledProbabilities(recordedPath(r.image), scales, rows, opts.signal);
      } catch (e) {
        if (isCancelled(e)) throw e;
        skipped.push({ image: r.image.path, reason: (e as Error).message });
        done++;
        continue;
      }
      done++;
      const reference = r.trueClass ?? r.prediction.top[0].class;
      references.add(r.trueClass !== undefined && r.trueClass !== null ? 'folder class' : 'clean prediction');
      images++;
      cleanRight += Number(r.prediction.top[0].class === reference);
      cleanTarget += r.target.probability;
      fractions.forEach((_p, f) => PRUNE_VARIANTS.forEach((v, k) => {
        const row = probs.subarray((f * V + k) * C, (f * V + k + 1) * C);
        sums[f].zeroed[v] += zeroed[f][v];
        sums[f].accuracy[v] += Number(argmax(row) === reference);
        sums[f].targetProbability[v] += row[r.target.class];
      }));
    }
  }
  progress();
  const div = (o: Record<PruneVariant, number>) => Object.fromEntries(PRUNE_VARIANTS.map((v) => [v, images ? o[v] / images : NaN])) as Record<PruneVariant, number>;
  return {
    keep, seed, holdout, layers: N, images, skipped,
    reference: references.size === 1 ? [...references][0] as PruningCurve['reference'] : references.size ? 'mixed' : 'clean prediction',
    clean: { accuracy: images ? cleanRight / images : NaN, targetProbability: images ? cleanTarget / images : NaN },
    classes: classes.map(({ split: _split, ...c }) => c),
    points: fractions.map((fraction, f) => ({
      fraction, zeroed: div(sums[f].zeroed), accuracy: div(sums[f].accuracy), targetProbability: div(sums[f].targetProbability),
    })),
  };
}

/** A seed for (run seed, image, fraction): different draws per image and fraction, reproducible. */
function mix(seed: number, image: number, fraction: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [image, fraction]) {
    h = Math.imul(h ^ x, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

function hashKey(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
