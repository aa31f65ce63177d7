// Feature visualization: gradient ascent of an objective (a neuron, or a class logit) on the input,
// in the Fourier + decorrelated-colour parameterisation, under a random shift, scale and rotation at
// every step, from a seeded random start, with Adam. Deterministic for a seed (and thread count).
import sharp from 'sharp';
import type { InputGradient } from '../inputGradient';
import type { Preprocessing } from '../preprocessing';
import { VISUALIZE_STEPS_RANGE } from '../options';
import { loadPixels } from '../preprocess';
import { rng } from '../random';
import { CancelledError, EngineError } from '../errors';
import { writeAtomic } from '../files';
import { FourierImage } from './parameterization';
import { affineAdjoint, applyAffine, drawAffine } from './transform';


export interface AscentOptions { steps: number; seed: number; learningRate: number }

export interface AscentResult {
  objectivePerStep: number[];      // what is ascended at each step, on that step's transformed image
  measured: number;                // `measure` of the written PNG, read back and preprocessed as any image
  seconds: number;
}

/**
 * Optimises, writes the PNG (the untransformed image at the model's input size) to `out`, reads it
 * back and `measure`s it.
 */
export async function ascend(graph: InputGradient, prep: Preprocessing, options: AscentOptions, out: string,
                             measure: (pixels: Float32Array) => Promise<number>,
                             onStep: (step: number, value: number) => void, signal?: AbortSignal): Promise<AscentResult> {
  const { steps, seed, learningRate } = options;
  if (!(Number.isInteger(steps) && steps >= VISUALIZE_STEPS_RANGE.min && steps <= VISUALIZE_STEPS_RANGE.max)) {
    throw new EngineError('invalid-option', `steps must be an integer in ${VISUALIZE_STEPS_RANGE.min}..${VISUALIZE_STEPS_RANGE.max}, not ${steps}`, { field: 'steps' });
  }
  const started = Date.now();
  const { channels: C, height: H, width: W } = graph.input;
  const random = rng(seed);
  const image = new FourierImage(C, H, W, normal(random));
  const adam = [...image.re, ...image.im].map((p) => new Adam(p, learningRate));
  // d(model pixel)/d(value in 0..1), per channel, as preprocess.ts normalises 0..255 values.
  const std = prep.std.value, rescale = prep.rescale.value;
  const slope = Array.from({ length: C }, (_, c) => (255 * rescale) / std[c % std.length]);
  const objectivePerStep: number[] = [];
  for (let step = 0; step < steps; step++) {
    if (signal?.aborted) throw new CancelledError('the visualization was cancelled');
    const { rgb } = image.render();
    const affine = drawAffine(random, H, W);
    const seen = applyAffine(rgb, C, H, W, affine);
    const { values, grad } = await graph.run(toModel(seen, C, H * W, prep), 1);
    if (!Number.isFinite(values[0])) throw new EngineError('numeric', `the objective became ${values[0]} at step ${step + 1}`);
    objectivePerStep.push(values[0]);
    onStep(step + 1, values[0]);
    const gSeen = Float64Array.from(grad, (g, i) => g * slope[Math.floor(i / (H * W))]);
    const g = image.adjoint(affineAdjoint(gSeen, C, H, W, affine), rgb);
    [...g.re, ...g.im].forEach((gp, k) => adam[k].ascend(gp));
  }
  await writePng(image.render().rgb, C, H, W, out);
  const pixels = await loadPixels(out, prep, graph.input);
  const measured = await measure(pixels.data);
  return { objectivePerStep, measured, seconds: (Date.now() - started) / 1000 };
}

/** 0..1 values into the model's input, as preprocess.ts turns 0..255 pixels into it. */
function toModel(v: Float64Array, C: number, plane: number, prep: Preprocessing): Float32Array {
  const out = new Float32Array(v.length), means = prep.mean.value, stds = prep.std.value, rescale = prep.rescale.value;
  for (let c = 0; c < C; c++) {
    const mean = means[c % means.length], std = stds[c % stds.length];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (v[c * plane + i] * 255 * rescale - mean) / std;
  }
  return out;
}

async function writePng(rgb: Float64Array, C: number, H: number, W: number, out: string): Promise<void> {
  const raw = Buffer.alloc(H * W * C), plane = H * W;
  for (let c = 0; c < C; c++) for (let i = 0; i < plane; i++) raw[i * C + c] = Math.round(255 * Math.min(1, Math.max(0, rgb[c * plane + i])));
  const png = await sharp(raw, { raw: { width: W, height: H, channels: C as 1 | 3 } }).png().toBuffer();
  writeAtomic(out, 'output', [png]);
}

/** Standard normal numbers from uniform ones (Box-Muller). */
function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Adam (Kingma and Ba 2015) on one parameter array, ascending. */
class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(private readonly p: Float64Array, private readonly lr: number) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }

  ascend(g: Float64Array): void {
    this.t++;
    const b1 = 0.9, b2 = 0.999, c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    for (let i = 0; i < g.length; i++) {
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
      this.p[i] += (this.lr * this.m[i] / c1) / (Math.sqrt(this.v[i] / c2) + 1e-8);
    }
  }
}
