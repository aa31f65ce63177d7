// The pruning check (docs/method.md, many images): in every block, zero a random fraction p of the readout neurons
// (live, as the remove / enhance manipulation does), once as drawn and once keeping the K most
// frequent path neurons of the image's class. A third curve keeps as many neurons chosen at random,
// to tell "protecting path neurons" from "protecting any K neurons". Same draw for all three.
import type { Engine } from '../index';
import { argmax } from '../locator';
import { groupOf, type CategoryPatterns, type PatternRecord } from './patterns';
import { rng } from '../random';

export type PruneVariant = 'unprotected' | 'protected' | 'control';
export const PRUNE_VARIANTS: PruneVariant[] = ['unprotected', 'protected', 'control'];

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
 * spares the given neurons, `control` spares as many neurons drawn at random.
 */
export function pruneMasks(D: number, fraction: number, protect: number[], rand: () => number): Record<PruneVariant, Float32Array> {
  const zero = sample(D, Math.round(fraction * D), rand);
  const spare = new Set(protect);
  const spareControl = new Set(sample(D, spare.size, rand));
  const masks = { unprotected: new Float32Array(D).fill(1), protected: new Float32Array(D).fill(1), control: new Float32Array(D).fill(1) };
  for (const j of zero) {
    masks.unprotected[j] = 0;
    if (!spare.has(j)) masks.protected[j] = 0;
    if (!spareControl.has(j)) masks.control[j] = 0;
  }
  return masks;
}

export interface PruneOptions {
  fractions: number[];              // each in [0, 1]
  keep: number;                     // K: path neurons kept per block
  seed?: number;                    // default 0
  labels?: string[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface PrunePoint {
  fraction: number;
  zeroed: Record<PruneVariant, number>;             // mean neurons zeroed per block
  accuracy: Record<PruneVariant, number>;           // top-1 equals the reference class
  targetProbability: Record<PruneVariant, number>;  // mean probability of the record's target class
}

export interface PruningCurve {
  keep: number;
  seed: number;
  images: number;
  skipped: { image: string; reason: string }[];
  reference: 'folder class' | 'clean prediction' | 'mixed';  // what "accuracy" compares the top-1 with
  clean: { accuracy: number; targetProbability: number };
  points: PrunePoint[];
}

export type PruneRecord = PatternRecord & { image: { path: string } };

/** Runs the check for every record whose class has a pattern; the image files must still be there. */
export async function pruningCheck(engine: Engine, records: PruneRecord[], patterns: CategoryPatterns, opts: PruneOptions): Promise<PruningCurve> {
  const { fractions, keep } = opts;
  const seed = opts.seed ?? 0;
  if (!fractions.length || fractions.some((p) => !(p >= 0 && p <= 1))) throw new RangeError(`pruning fractions must be in [0, 1], got ${fractions.join(',')}`);
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`keep must be an integer >= 0, got ${keep}`);
  const L = engine.info.layers, D = engine.info.neuronsPerLayer, C = engine.info.numClasses;
  if (patterns.layers !== L || patterns.neurons !== D) throw new RangeError(`the records are of a ${patterns.layers}x${patterns.neurons} model, the engine's is ${L}x${D}`);
  const byKey = new Map(patterns.classes.map((c) => [c.key, c]));
  const sums = fractions.map(() => ({
    zeroed: { unprotected: 0, protected: 0, control: 0 }, accuracy: { unprotected: 0, protected: 0, control: 0 },
    targetProbability: { unprotected: 0, protected: 0, control: 0 },
  }));
  const skipped: PruningCurve['skipped'] = [];
  const references = new Set<string>();
  let images = 0, cleanRight = 0, cleanTarget = 0;
  for (const [i, r] of records.entries()) {
    opts.onProgress?.(i, records.length);
    const group = groupOf(r, patterns.groupBy, opts.labels);
    const pattern = group && byKey.get(group.key);
    if (!pattern) { skipped.push({ image: r.image.path, reason: 'its class has no pattern' }); continue; }
    const protect = pattern.layers.map((l) => l.slice(0, keep).map((n) => n.neuron));
    const rows = fractions.length * PRUNE_VARIANTS.length;
    const scales = Array.from({ length: L }, () => new Float32Array(rows * D));
    const zeroed = fractions.map(() => ({ unprotected: 0, protected: 0, control: 0 }));
    fractions.forEach((p, f) => {
      const rand = rng(mix(seed, i, f));
      for (let l = 0; l < L; l++) {
        const masks = pruneMasks(D, p, protect[l], rand);
        PRUNE_VARIANTS.forEach((v, k) => {
          scales[l].set(masks[v], (f * PRUNE_VARIANTS.length + k) * D);
          zeroed[f][v] += masks[v].reduce((a, x) => a + Number(x === 0), 0) / L;
        });
      }
    });
    let probs: Float32Array;
    try {
      probs = await engine.scaledProbabilities(r.image.path, scales, rows, opts.signal);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      skipped.push({ image: r.image.path, reason: (e as Error).message });
      continue;
    }
    const reference = r.trueClass ?? r.prediction.top[0].class;
    references.add(r.trueClass !== undefined && r.trueClass !== null ? 'folder class' : 'clean prediction');
    images++;
    cleanRight += Number(r.prediction.top[0].class === reference);
    cleanTarget += r.target.probability;
    fractions.forEach((_p, f) => PRUNE_VARIANTS.forEach((v, k) => {
      const row = probs.subarray((f * PRUNE_VARIANTS.length + k) * C, (f * PRUNE_VARIANTS.length + k + 1) * C);
      sums[f].zeroed[v] += zeroed[f][v];
      sums[f].accuracy[v] += Number(argmax(row) === reference);
      sums[f].targetProbability[v] += row[r.target.class];
    }));
  }
  opts.onProgress?.(records.length, records.length);
  const div = (o: Record<PruneVariant, number>) => Object.fromEntries(PRUNE_VARIANTS.map((v) => [v, images ? o[v] / images : NaN])) as Record<PruneVariant, number>;
  return {
    keep, seed, images, skipped,
    reference: references.size === 1 ? [...references][0] as PruningCurve['reference'] : references.size ? 'mixed' : 'clean prediction',
    clean: { accuracy: images ? cleanRight / images : NaN, targetProbability: images ? cleanTarget / images : NaN },
    points: fractions.map((fraction, f) => ({
      fraction, zeroed: div(sums[f].zeroed), accuracy: div(sums[f].accuracy), targetProbability: div(sums[f].targetProbability),
    })),
  };
}

/** A seed for (run seed, image, fraction): different draws per image and fraction, reproducible. */
function mix(seed: number, image: number, fraction: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const x of [image, fraction]) h = Math.imul(h ^ x, 0x85ebca6b) >>> 0, h ^= h >>> 13;
  return h >>> 0;
}
