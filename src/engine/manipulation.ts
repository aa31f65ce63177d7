// Live scaled passes (docs/method.md, manipulation) that keep the whole prediction, not only the target
// probability: the manipulation figures with the class predicted after them (accuracy after
// removal), and any per-layer neuron scaling (the pruning check).
import { asSet, type Neurons } from './locator';
import { argmax } from './rank';
import type { Runner } from './runner';

export interface Manipulated { probability: number; top1: number }

/** Per layer, one row of D scales per (path, factor): the path neuron(s) multiplied by the factor, the rest 1. */
export function pathScales(paths: Neurons[][], factors: number[], layers: number, D: number): Float32Array[] {
  const rows = paths.length * factors.length;
  return Array.from({ length: layers }, (_, l) => {
    const s = new Float32Array(rows * D).fill(1);
    paths.forEach((path, i) => factors.forEach((f, k) => {
      for (const j of asSet(path[l])) s[(i * factors.length + k) * D + j] = f;
    }));
    return s;
  });
}

/** Remove / enhance for several paths at once: [path][factor] -> target probability and top-1 class after. */
export async function manipulatePaths(runner: Runner, pixels: Float32Array, target: number, paths: Neurons[][], factors: number[]): Promise<Manipulated[][]> {
  const C = runner.info.numClasses;
  const probs = await runner.scaled(pixels, pathScales(paths, factors, runner.layers, runner.D), paths.length * factors.length);
  return paths.map((_, i) => factors.map((_f, k) => {
    const row = probs.subarray((i * factors.length + k) * C, (i * factors.length + k + 1) * C);
    return { probability: row[target], top1: argmax(row) };
  }));
}
