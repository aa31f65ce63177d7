// The layer-progressive locator, the Joint Attribution Score of a path and the baselines
// (docs/method.md). Vectors are readout rows: K tokens x D neurons, row-major.
import { invalidOption } from './errors';
import { rowFactors, type Quadrature } from './quadrature';
import type { Formula } from './result';
import { rng } from './random';
import { argmax, topIndices } from './rank';
import type { Runner } from './runner';

/** One layer step: the chosen neuron(s), best first (`neuron` is neurons[0]), and every candidate's score. */
export interface LayerStep { layer: number; neuron: number; neurons: number[]; scores: Float64Array }

/** m rows: alpha_k * w (the whole layer scaled), alpha_k the rule's points. */
export function scaledLayer(w: Float32Array, q: Quadrature): Float32Array {
  const out = new Float32Array(q.alphas.length * w.length);
  q.alphas.forEach((a, k) => { for (let i = 0; i < w.length; i++) out[k * w.length + i] = a * w[i]; });
  return out;
}

/** One neuron, or the K neurons of a layer in a top-K path (docs/method.md, the layer-by-layer search). */
export type Neurons = number | readonly number[];
export const asSet = (p: Neurons): readonly number[] => (typeof p === 'number' ? [p] : p);

/** m rows: w with only neuron(s) p scaled by alpha_k, at every readout token. */
export function scaledNeuron(w: Float32Array, p: Neurons, q: Quadrature, D: number): Float32Array {
  const out = new Float32Array(q.alphas.length * w.length);
  q.alphas.forEach((a, k) => {
    out.set(w, k * w.length);
    for (const j of asSet(p)) for (let t = j; t < w.length; t += D) out[k * w.length + t] = a * w[t];
  });
  return out;
}

/** Per token t, x[t, j] summed over the neurons j of p. */
function neuronColumn(x: Float32Array, p: Neurons, D: number): Float64Array {
  const out = new Float64Array(x.length / D);
  for (const j of asSet(p)) for (let t = 0; t < out.length; t++) out[t] += x[t * D + j];
  return out;
}

/**
 * Candidate scores of layer l (the locator's scoring step), per token then summed over tokens.
 * prior: for each earlier layer i < l, G_i and w_i with its path neuron p_i (top-K: its K neurons,
 * summed over all K; the published top-K code adds only the last of them).
 */
export function candidateScores(G: Float32Array, w: Float32Array, m: number, D: number, formula: Formula,
                                prior: { G: Float32Array; w: Float32Array; p: Neurons }[]): Float64Array {
  const tokens = w.length / D;
  const priorG = new Float64Array(tokens), priorS = new Float64Array(tokens), priorGS = new Float64Array(tokens);
  for (const { G: Gi, w: wi, p } of prior) {
    const g = neuronColumn(Gi, p, D), s = neuronColumn(wi, p, D);
    for (let t = 0; t < tokens; t++) { priorG[t] += g[t]; priorS[t] += s[t] / m; }
    for (const j of asSet(p)) for (let t = 0; t < tokens; t++) priorGS[t] += Gi[t * D + j] * wi[t * D + j] / m;
  }
  const scores = new Float64Array(D);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < D; j++) {
      const g = G[t * D + j], s = w[t * D + j] / m;
      scores[j] += formula === 'reference' ? (g + priorG[t]) * (s + priorS[t]) : g * s + priorGS[t];
    }
  }
  return scores;
}

export interface LocateOptions {
  quadrature: Quadrature; formula: Formula;
  topK?: number;                    // neurons per layer (default 1: the path)
  onLayer?: (step: LayerStep, path: number[]) => void;
}

/**
 * The path, one neuron per layer, each chosen given the ones before it; with topK = K, the K
 * best candidates of every layer, the later layers scored given all K earlier neurons.
 */
export async function locatePath(runner: Runner, pixels: Float32Array, target: number, w: Float32Array[], opts: LocateOptions): Promise<{ steps: LayerStep[]; firstLayerGrad: Float32Array }> {
  const { quadrature: q, formula } = opts;
  const m = q.alphas.length;
  const k = opts.topK ?? 1;
  const D = runner.D, L = w.length;
  if (!Number.isInteger(k) || k < 1 || k > D) throw invalidOption(`top-k must be an integer in 1..${D} (the neurons per layer), got ${opts.topK}`);
  const sets: number[][] = [];
  const steps: LayerStep[] = [];
  let firstLayerGrad: Float32Array = new Float32Array(0);
  for (let l = 0; l < L; l++) {
    const replacements = w.map((wi, i) => (i < l ? scaledNeuron(wi, sets[i], q, D) : i === l ? scaledLayer(wi, q) : undefined));
    const G = await runner.gradients(pixels, target, replacements, m, rowFactors(q));
    if (l === 0) firstLayerGrad = G[0]!;
    const prior = sets.map((p, i) => ({ G: G[i]!, w: w[i], p }));
    const scores = candidateScores(G[l]!, w[l], m, D, formula, prior);
    const neurons = topIndices(scores, k);
    sets.push(neurons);
    const step = { layer: l, neuron: neurons[0], neurons, scores };
    steps.push(step);
    opts.onLayer?.(step, sets.map((s) => s[0]));
  }
  return { steps, firstLayerGrad };
}

/** JAS of a whole path (every block replaced, only its path neuron, or its K neurons, scaled). */
export async function pathJas(runner: Runner, pixels: Float32Array, target: number, w: Float32Array[], path: Neurons[], q: Quadrature, formula: Formula): Promise<number> {
  const D = runner.D, m = q.alphas.length;
  const G = await runner.gradients(pixels, target, w.map((wi, i) => scaledNeuron(wi, path[i], q, D)), m, rowFactors(q));
  return jasFromGradients(G.map((g) => g!), w, path, m, D, formula);
}

export function jasFromGradients(G: Float32Array[], w: Float32Array[], path: Neurons[], m: number, D: number, formula: Formula): number {
  const tokens = w[0].length / D;
  let total = 0;
  for (let t = 0; t < tokens; t++) {
    let gSum = 0, sSum = 0, gs = 0;
    path.forEach((p, l) => {
      for (const j of asSet(p)) {
        const g = G[l][t * D + j], s = w[l][t * D + j] / m;
        gSum += g; sSum += s; gs += g * s;
      }
    });
    total += formula === 'reference' ? gSum * sSum : gs;
  }
  return total;
}

/** Activation baseline: the neuron with the largest activation (summed over readout tokens). */
export function activationPath(summed: Float64Array[]): number[] {
  return summed.map(argmax);
}

export function sumTokens(x: Float32Array | Float64Array, D: number): Float64Array {
  const out = new Float64Array(D);
  for (let i = 0; i < x.length; i++) out[i % D] += x[i];
  return out;
}

/** Per-layer integrated-gradients baseline: each layer on its own, IG_l[j] = s_l[j] * G_l[j]. */
export async function integratedGradientsPath(runner: Runner, pixels: Float32Array, target: number, w: Float32Array[], q: Quadrature,
                                              firstLayerGrad: Float32Array): Promise<{ path: number[]; scores: Float64Array[] }> {
  const D = runner.D, L = w.length, m = q.alphas.length;
  const scores: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    // Layer 0 alone is exactly the locator's first step: reuse its gradient.
    const G = l === 0 ? firstLayerGrad
      : (await runner.gradients(pixels, target, w.map((wi, i) => (i === l ? scaledLayer(wi, q) : undefined)), m, rowFactors(q)))[l]!;
    scores.push(candidateScores(G, w[l], m, D, 'paper', []));
  }
  return { path: scores.map(argmax), scores };
}

/**
 * The influence pattern baseline (docs/method.md#baselines): the image scaled, x_k = alpha_k x, every block live; IP_l[j] is dF/du_l[j]
 * averaged over the steps and the readout tokens, and the path its argmax (the gradient alone).
 * All layers from one batch of m rows and one backward pass.
 */
export async function influencePatternPath(runner: Runner, pixels: Float32Array, target: number, q: Quadrature): Promise<{ path: number[]; scores: Float64Array[] }> {
  const m = q.alphas.length;
  const images = new Float32Array(m * pixels.length);
  q.alphas.forEach((a, k) => { for (let i = 0; i < pixels.length; i++) images[k * pixels.length + i] = a * pixels[i]; });
  const G = await runner.liveGradients(images, target, m, rowFactors(q));
  const scores = G.map((g) => sumTokens(g, runner.D).map((x) => x / (m * runner.K)));
  return { path: scores.map(argmax), scores };
}

/** Seeded uniform random paths (mulberry32), so a random baseline reproduces. */
export function randomPaths(count: number, seed: number, layers: number, D: number): number[][] {
  const next = rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: layers }, () => Math.floor(next() * D)));
}
