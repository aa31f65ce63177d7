// Runs batches of the instrumented model: clean passes, replaced passes with gradients, scaled
// passes. A fixed-batch export is run one row at a time and its gradients summed here, so callers
// never see the difference. Passes that need no gradient run the forward-only session.
import { CancelledError } from './errors';
import { NAMES, neutralFeeds, type InstrumentedInfo } from './instrument';
import type { InterventionRows } from './options';
import type { Feed, Session } from './runtime';

/**
 * The two sessions of an instrumented model: `gradient` runs the whole graph (forward and backward),
 * `forward` the same graph without its backward part (same inputs), for the passes that only read
 * probabilities and activations: onnxruntime runs every node of a graph whatever is fetched.
 */
export interface ModelSessions { gradient: Session; forward: Session }

/** Forward bytes per run that the row chunking aims at (the backward roughly doubles it). */
const ROW_BUDGET_BYTES = 128 * 1024 * 1024;

export interface Counters { forwardPasses: number; backwardPasses: number }

export class Runner {
  readonly counters: Counters = { forwardPasses: 0, backwardPasses: 0 };
  readonly K: number;
  readonly D: number;

  /**
   * Rows per run. Large models run a few rows at a time: the activations kept for the backward pass
   * grow with every row, and measured on ViT-S/16 one row per run was no slower than twenty.
   */
  maxRows: number;

  constructor(private readonly sessions: ModelSessions, readonly info: InstrumentedInfo, readonly layers: number,
              private readonly signal?: AbortSignal) {
    this.K = info.readoutRows.length;
    this.D = info.neurons;
    this.maxRows = Math.max(1, Math.floor(ROW_BUDGET_BYTES / Math.max(info.rowBytes, 1)));
  }

  /** One clean pass: probabilities and every block's full activation [T*D]. */
  async clean(pixels: Float32Array): Promise<{ probs: Float32Array; acts: Float32Array[] }> {
    const acts = Array.from({ length: this.layers }, (_, l) => NAMES.act(l));
    const out = await this.run(this.sessions.forward, this.feeds(pixels, 1), [NAMES.probs, ...acts]);
    this.counters.forwardPasses += 1;
    return { probs: out[NAMES.probs], acts: acts.map((n) => out[n]) };
  }

  /**
   * Replaced passes (the locator's gradient step): `replacements[l]` holds `batch` rows of K*D values for
   * every switched block, undefined for the others. Returns G_l (summed over the batch) per switched block;
   * with `rowFactors`, row k's gradient is multiplied by rowFactors[k] before the sum (a weighted rule).
   */
  async gradients(pixels: Float32Array, target: number, replacements: (Float32Array | undefined)[], batch: number, rowFactors?: Float32Array): Promise<(Float32Array | undefined)[]> {
    const switched = replacements.map((r) => r !== undefined);
    const fetches = switched.flatMap((on, l) => (on ? [NAMES.grad(l)] : []));
    const rows = this.rowsPerRun(batch);
    const sums: (Float32Array | undefined)[] = switched.map((on) => (on ? new Float32Array(this.K * this.D) : undefined));
    for (let start = 0; start < batch; start += rows) {
      const n = Math.min(rows, batch - start);
      const feeds = this.feeds(pixels, n, this.seed(target, rowFactors?.subarray(start, start + n)));
      feeds[NAMES.switch] = { type: 'float32', data: Float32Array.from(switched, Number), dims: [this.layers] };
      replacements.forEach((r, l) => {
        if (r) feeds[NAMES.replace(l)] = { type: 'float32', data: r.subarray(start * this.K * this.D, (start + n) * this.K * this.D), dims: [n, this.K, this.D] };
      });
      const out = await this.run(this.sessions.gradient, feeds, fetches);
      sums.forEach((s, l) => { if (s) addInto(s, out[NAMES.grad(l)]); });
      this.counters.forwardPasses += n;
      this.counters.backwardPasses += 1;
    }
    return sums;
  }

  /**
   * Live passes of `batch` different images (`images`: batch rows of C*H*W), every switch off: the
   * gradient of F w.r.t. every block's readout activation, summed over the batch (the influence pattern, docs/method.md#baselines).
   */
  async liveGradients(images: Float32Array, target: number, batch: number, rowFactors?: Float32Array): Promise<Float32Array[]> {
    const fetches = Array.from({ length: this.layers }, (_, l) => NAMES.liveGrad(l));
    const size = images.length / batch;
    const rows = this.rowsPerRun(batch);
    const sums = fetches.map(() => new Float32Array(this.K * this.D));
    for (let start = 0; start < batch; start += rows) {
      const n = Math.min(rows, batch - start);
      const seed = this.seed(target, rowFactors?.subarray(start, start + n));
      const out = await this.run(this.sessions.gradient, this.feeds(images.subarray(start * size, (start + n) * size), n, seed, true), fetches);
      sums.forEach((s, l) => addInto(s, out[fetches[l]]));
      this.counters.forwardPasses += n;
      this.counters.backwardPasses += 1;
    }
    return sums;
  }

  /** Live passes with the activations at the readout rows (or at every row) multiplied by `scales[l]` (N rows of D each). */
  async scaled(pixels: Float32Array, scales: Float32Array[], batch: number, at: InterventionRows = 'readout'): Promise<Float32Array> {
    const input = at === 'all' ? NAMES.scaleAll : NAMES.scale;
    const C = this.info.numClasses;
    const rows = this.rowsPerRun(batch);
    const probs = new Float32Array(batch * C);
    for (let start = 0; start < batch; start += rows) {
      const n = Math.min(rows, batch - start);
      const feeds = this.feeds(pixels, n);
      scales.forEach((s, l) => {
        feeds[input(l)] = { type: 'float32', data: s.subarray(start * this.D, (start + n) * this.D), dims: [n, 1, this.D] };
      });
      const out = await this.run(this.sessions.forward, feeds, [NAMES.probs]);
      probs.set(out[NAMES.probs], start * C);
      this.counters.forwardPasses += n;
    }
    return probs;
  }

  /**
   * Live passes of different images, one per row (the neuron scan): `images[i]` is row i's pixels;
   * `scales[l]`, where given, one row of D per row (as `scaled`). Returns the probabilities
   * [rows x classes] and the full activations [rows x T*D] of the blocks in `actLayers`.
   */
  async images(images: Float32Array[], scales: (Float32Array | undefined)[], actLayers: number[]): Promise<{ probs: Float32Array; acts: Map<number, Float32Array> }> {
    const C = this.info.numClasses, TD = this.info.tokens * this.D;
    const batch = images.length, rows = this.rowsPerRun(batch);
    const probs = new Float32Array(batch * C);
    const acts = new Map(actLayers.map((l) => [l, new Float32Array(batch * TD)]));
    const { channels, height, width } = this.info.input;
    for (let start = 0; start < batch; start += rows) {
      const n = Math.min(rows, batch - start);
      const pixels = new Float32Array(n * images[0].length);
      for (let i = 0; i < n; i++) pixels.set(images[start + i], i * images[0].length);
      const feeds = neutralFeeds(this.info, this.layers, { type: 'float32', data: pixels, dims: [n, channels, height, width] });
      scales.forEach((s, l) => {
        if (s) feeds[NAMES.scale(l)] = { type: 'float32', data: s.subarray(start * this.D, (start + n) * this.D), dims: [n, 1, this.D] };
      });
      const out = await this.run(this.sessions.forward, feeds, [NAMES.probs, ...actLayers.map(NAMES.act)]);
      probs.set(out[NAMES.probs], start * C);
      for (const [l, a] of acts) a.set(out[NAMES.act(l)], start * TD);
      this.counters.forwardPasses += n;
    }
    return { probs, acts };
  }

  rowsPerRun(batch: number): number {
    return this.info.input.fixedBatch ? 1 : Math.max(1, Math.min(batch, this.maxRows));
  }

  /**
   * The backward's seed dF/d(probabilities): the target's one-hot, one row for all rows, or with
   * `factors` one row per batch row scaled by its factor (the gradient is linear in the seed).
   */
  private seed(target: number, factors?: Float32Array): Feed {
    const C = this.info.numClasses, rows = factors?.length ?? 1;
    const data = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) data[r * C + target] = factors ? factors[r] : 1;
    return { type: 'float32', data, dims: [rows, C] };
  }

  /** `pixels` is one image repeated `rows` times, or with `perRow` already `rows` images; `seed`: the backward's, for gradient passes. */
  private feeds(pixels: Float32Array, rows: number, seed?: Feed, perRow = false): Record<string, Feed> {
    const { channels, height, width } = this.info.input;
    const image = rows === 1 || perRow ? pixels : repeat(pixels, rows);
    const feeds = neutralFeeds(this.info, this.layers, { type: 'float32', data: image, dims: [rows, channels, height, width] });
    if (seed) feeds[NAMES.onehot] = seed;
    return feeds;
  }

  private async run(session: Session, feeds: Record<string, Feed>, fetches: string[]): Promise<Record<string, Float32Array>> {
    if (this.signal?.aborted) throw new CancelledError();
    const out = await session.run(feeds, fetches);
    if (this.signal?.aborted) throw new CancelledError();
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  }
}

function repeat(data: Float32Array, times: number): Float32Array {
  const out = new Float32Array(data.length * times);
  for (let i = 0; i < times; i++) out.set(data, i * data.length);
  return out;
}

function addInto(target: Float32Array, source: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}
