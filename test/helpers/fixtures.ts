// The PyTorch-made fixtures (scripts/python/make_fixtures.py): tiny ViTs in several export styles
// with what the PyTorch reference implementation of docs/method.md computed for them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');
export const REPO = path.resolve(__dirname, '..', '..', '..');

export interface FixtureCase {
  target: number;
  targetProbability: number;
  clean: number[][];
  reference: { path: number[]; jas: number; layerScores: number[][]; layerGrads: number[][][] };
  paper: { path: number[]; jas: number; layerScores: number[][] };
  jasOf: { path: number[]; reference: number; paper: number; grads: number[][] }[];
  baselines: {
    activation: { path: number[]; jasReference: number; jasPaper: number; remove: number; enhance: number };
    integratedGradients: { path: number[]; jasReference: number; jasPaper: number; remove: number; enhance: number; scores: number[][] };
  };
  manipulation: { remove: number; enhance: number };
  /** Added by scripts/python/extend_fixtures.py (absent until it has run on a regenerated fixture). */
  influencePattern?: { path: number[]; jasReference: number; jasPaper: number; remove: number; enhance: number; scores: number[][] };
  topK?: {
    k: number;
    reference: TopKReference & { remove: number; enhance: number };
    paper: TopKReference;
  };
}

export interface TopKReference { sets: number[][]; jasReference: number; jasPaper: number; layerScores: number[][] }

export interface Fixture {
  name: string; layers: number; neurons: number; tokens: number; numClasses: number;
  scope: string;                    // cls, patches, tokens (another row set), ...
  readout: number[];                // the token rows the head reads, ascending; vectors are [K*D] in this order
  grid: [number, number];           // the patch grid: the last gh*gw tokens
  ffn: 'plain' | 'gated';
  family?: string; opset?: number; dynamic?: boolean;
  precision?: 'float16' | 'bfloat16';   // stored in half precision (the reference is of its float32 upcast)
  leftOut?: number;                 // FFNs after the blocks over the class token (class-attention blocks), not on the path
  fixedBatch: boolean; activation: string; steps: number;
  input: { shape: number[]; data: number[] };
  probs: number[];
  cases: FixtureCase[];
}

/** Every fixture with PyTorch reference results (not the ones that exist to be refused). */
export function vitFixtures(): { name: string; model: string; ref: Fixture }[] {
  return fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'reference.json'))).sort()
    .map((d) => ({ name: d, model: path.join(FIXTURES, d, 'model.onnx'), ref: JSON.parse(fs.readFileSync(path.join(FIXTURES, d, 'reference.json'), 'utf8')) as Fixture }))
    .filter((f) => Array.isArray(f.ref.cases));
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `neuron-path-${prefix}-`));
}

/** |a - b| <= rel * max|b| + abs, elementwise; returns the worst normalised error for messages. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= rel * scale + abs)) {
      throw new Error(`${what}[${i}]: ${actual[i]} vs reference ${expected[i]} (error ${err}, allowed ${rel * scale + abs})`);
    }
  }
}

/**
 * Deep equality where numbers may differ by `rel` relative (+ 1e-15): summaries of the same records
 * in another order (shard files vs one file) differ in the last bits of their sums.
 */
export function assertSameSummary(actual: unknown, expected: unknown, what: string, rel = 1e-12): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Number.isNaN(expected) ? !Number.isNaN(actual) : !(Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-15)) {
      throw new Error(`${what}: ${actual} vs ${expected}`);
    }
  } else if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object') throw new Error(`${what}: ${JSON.stringify(actual)} vs an object`);
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const k of keys) assertSameSummary((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${what}.${k}`, rel);
  } else if (actual !== expected) {
    throw new Error(`${what}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  }
}
