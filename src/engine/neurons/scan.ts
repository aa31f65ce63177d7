// The neuron scan of a batch of images (forward only): one clean pass per image, several images per
// run, then, per single neuron, one pass per image with that neuron zeroed at the readout tokens
// (the method's removal, for one neuron). Activations are read exactly as the analysis reads them.
import { tokenMap, topClasses } from '../analyze';
import type { InstrumentedInfo } from '../instrument';
import { argmax } from '../rank';
import type { Runner } from '../runner';
import type { NeuronUnit, UnitScan } from '../batch/schema';

export interface ScannedImage {
  probs: Float32Array;
  grid: [number, number];
  units: UnitScan[];
}

/** Scans `images` (pixel tensors) for `units`; `targets[i]` is the class the ablation of image i is measured on (null: predicted). */
export async function scanImages(runner: Runner, info: InstrumentedInfo, images: Float32Array[], targets: (number | null)[],
                                 units: NeuronUnit[]): Promise<(ScannedImage & { target: number })[]> {
  const D = runner.D, T = info.tokens, C = info.numClasses;
  const layers = [...new Set(units.map((u) => u.layer))];
  const clean = await runner.images(images, [], layers);
  const out = images.map((_, i) => {
    const probs = clean.probs.slice(i * C, (i + 1) * C);
    let grid: [number, number] = [0, 0];
    const scanned = units.map((u): UnitScan => {
      const acts = clean.acts.get(u.layer)!.subarray(i * T * D, (i + 1) * T * D);
      const neurons = u.neuron === null ? Array.from({ length: D }, (_, j) => j) : [u.neuron];
      const maps = neurons.map((j) => tokenMap(acts, u.layer, j, T, D, info.grid));
      grid = maps[0].grid;
      const peak = maps.map((m) => argmax(m.values));
      return {
        layer: u.layer, neuron: u.neuron,
        activation: neurons.map((j) => readoutActivation(acts, j, D, info.readoutRows)),
        peak, peakValue: maps.map((m, k) => m.values[peak[k]]),
        ...(u.neuron === null ? {} : { map: maps[0].values }),
      };
    });
    return { probs, grid, units: scanned, target: targets[i] ?? argmax(probs) };
  });

  // The ablations: one row per (image, single neuron), all in one batched run.
  const singles = units.flatMap((u, k) => (u.neuron === null ? [] : [{ k, layer: u.layer, neuron: u.neuron }]));
  if (singles.length) {
    const rows = images.flatMap((px) => singles.map(() => px));
    const scales = Array.from({ length: runner.layers }, (_, l) => {
      if (!singles.some((s) => s.layer === l)) return undefined;
      const s = new Float32Array(rows.length * D).fill(1);
      rows.forEach((_, r) => { const a = singles[r % singles.length]; if (a.layer === l) s[r * D + a.neuron] = 0; });
      return s;
    });
    const ablated = await runner.images(rows, scales, []);
    rows.forEach((_, r) => {
      const image = out[Math.floor(r / singles.length)], a = singles[r % singles.length];
      const p = ablated.probs.subarray(r * C, (r + 1) * C);
      image.units[a.k].ablated = { probability: p[image.target], top1: argmax(p) };
    });
  }
  return out;
}

/** A neuron's activation at the readout token(s), summed over them in order as the analysis sums them (float64). */
function readoutActivation(acts: Float32Array, j: number, D: number, rows: number[]): number {
  let sum = 0;
  for (const t of rows) sum += acts[t * D + j];
  return sum;
}

export { topClasses };
