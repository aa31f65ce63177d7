// Feature visualization: gradient ascent of an objective (a neuron, or a class logit) on the input,
// in the Fourier + decorrelated-colour parameterisation, under a random shift, scale and rotation at
// every step, from a seeded random start, with Adam. Deterministic for a seed (and thread count).
// An image larger than the model's input (tiled) is optimised through a random window of the
// input's size at every step, wrapping around its edges, so every part of it is an image the neuron
// responds to.
import sharp from 'sharp';
import type { InputGradient } from '../inputGradient';
import type { Preprocessing } from '../preprocessing';
import { VISUALIZE_STEPS_RANGE } from '../options';
import { loadPixels } from '../preprocess';
import { rng } from '../random';
import { CancelledError, EngineError } from '../errors';
import { writeAtomic } from '../files';
import { FourierImage } from './parameterization';
import { affineAdjoint, applyAffine, cropAdjoint, cropWindow, drawAffine, drawWindow, type Window } from './transform';

/** `size`: the image's [height, width] when larger than the model's input (tiled), else the input's. */
export interface AscentOptions { steps: number; seed: number; learningRate: number; size?: [number, number] }

/** A window of a tiled image read back from the PNG, and `measure` of it. */
export interface TileActivation { top: number; left: number; activation: number }

export interface AscentResult {
  objectivePerStep: number[];      // what is ascended at each step, on that step's transformed image
  measured: number;                // `measure` of the written PNG, read back and preprocessed as any image
  /** A tiled image: `measure` of the input-sized windows at its corners and centre, read back from the PNG as they are. */
  tiles?: TileActivation[];
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
  const { channels: C, height: h, width: w } = graph.input;
  const [H, W] = options.size ?? [h, w];
  if (!(Number.isInteger(H) && Number.isInteger(W) && H >= h && W >= w && H <= MAX_SIDE && W <= MAX_SIDE)) {
    throw new EngineError('invalid-option', `the size must be at least the model's input (${h}x${w}) and at most ${MAX_SIDE}x${MAX_SIDE}, not ${H}x${W}`, { field: 'size' });
  }
  const tiled = H > h || W > w;
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
    // No window is drawn for an untiled image: its random stream (and PNG) stay what they were.
    const window: Window = tiled ? drawWindow(random, H, W, h, w) : { top: 0, left: 0, height: h, width: w };
    const affine = drawAffine(random, h, w);
    const seen = applyAffine(tiled ? cropWindow(rgb, C, H, W, window) : rgb, C, h, w, affine);
    const { values, grad } = await graph.run(toModel(seen, C, h * w, prep), 1);
    if (!Number.isFinite(values[0])) throw new EngineError('numeric', `the objective became ${values[0]} at step ${step + 1}`);
    objectivePerStep.push(values[0]);
    onStep(step + 1, values[0]);
    const gSeen = Float64Array.from(grad, (g, i) => g * slope[Math.floor(i / (h * w))]);
    const gWindow = affineAdjoint(gSeen, C, h, w, affine);
    const g = image.adjoint(tiled ? cropAdjoint(gWindow, C, H, W, window) : gWindow, rgb);
    [...g.re, ...g.im].forEach((gp, k) => adam[k].ascend(gp));
  }
  await writePng(image.render().rgb, C, H, W, out);
  const pixels = await loadPixels(out, prep, graph.input);
  const measured = await measure(pixels.data);
  const tiles = tiled ? await measureTiles(out, C, H, W, h, w, prep, measure) : undefined;
  return { objectivePerStep, measured, ...(tiles ? { tiles } : {}), seconds: (Date.now() - started) / 1000 };
}

/** The largest side of a tiled image (its Fourier tables grow with the square of a side). */
export const MAX_SIDE = 2048;

/** The input-sized windows at the corners and the centre of the written PNG, each as the model reads an input-sized image's pixels. */
async function measureTiles(png: string, C: number, H: number, W: number, h: number, w: number, prep: Preprocessing,
                            measure: (pixels: Float32Array) => Promise<number>): Promise<TileActivation[]> {
  const raw = await sharp(png).removeAlpha().toColourspace(C === 1 ? 'b-w' : 'srgb').raw().toBuffer();
  const planar = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) planar[c * H * W + i] = raw[i * C + c] / 255;
  const corners = [[0, 0], [0, W - w], [H - h, 0], [H - h, W - w], [Math.floor((H - h) / 2), Math.floor((W - w) / 2)]];
  const tiles: TileActivation[] = [];
  for (const [top, left] of corners) {
    const window = cropWindow(planar, C, H, W, { top, left, height: h, width: w });
    tiles.push({ top, left, activation: await measure(toModel(window, C, h * w, prep)) });
  }
  return tiles;
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
