// The readout rows: which token rows of the blocks' FFN neurons the classifier head reads
// (docs/method.md). Found from the graph as the rows where the gradient of the summed logits with
// respect to the last block's neurons is not zero, whatever the head does with them (token 0, the
// class and distillation tokens, a mean over the patch tokens after registers, an attention pool);
// or set by the user: cls, patches, all, or a token range.
import { buildBackward } from './autodiff/backward';
import { probeShapes } from './autodiff/probedShapes';
import { GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import { probePixels, type ProbeResult } from './onnx/probe';
import { DataType, encodeModel, ModelFormatError, onnx, opsetOf, type ModelProto } from './onnx/proto';
import type { ScopeSetting } from './result';
import { Session, type SessionSettings } from './runtime';
import { invalidOption } from './errors';
import { SCOPE_RANGE } from './scope';
import type { ImageInput, NeuronSite } from './structure';


export interface Readout {
  rows: number[];                    // ascending token rows; readout vectors are [rows.length * D] in this order
  source: 'graph' | 'setting';
  scope: string;                     // a name for the rows: cls, patches, all, or ranges such as 0,5:21
}

/** The rows the setting asks for; `auto` takes the rows the graph gives. */
export function resolveReadout(setting: ScopeSetting, graphRows: number[], tokens: number, grid: [number, number]): Readout {
  const patches = grid[0] * grid[1];
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  let rows: number[];
  if (setting === 'auto') rows = graphRows;
  else if (setting === 'cls') rows = [0];
  else if (setting === 'patches') rows = range(tokens - patches, tokens);
  else if (setting === 'all') rows = range(0, tokens);
  else {
    const [, a, b] = SCOPE_RANGE.exec(setting) ?? [];
    if (a === undefined) throw invalidOption(`scope '${setting}' is not auto, cls, patches, all or a token range a:b`);
    const start = Number(a), end = b === '' ? tokens : Number(b);
    if (!(start < end && end <= tokens)) {
      throw invalidOption(`scope '${setting}' is not a token range of this model: it has ${tokens} tokens (0..${tokens - 1}); use a:b with a < b <= ${tokens}.`);
    }
    rows = range(start, end);
  }
  return { rows, source: setting === 'auto' ? 'graph' : 'setting', scope: scopeName(rows, tokens, patches) };
}

export function scopeName(rows: number[], tokens: number, patches: number): string {
  const same = (a: number, b: number) => rows.length === b - a && rows.every((r, i) => r === a + i);
  if (same(0, 1)) return 'cls';
  if (same(tokens - patches, tokens)) return 'patches';
  if (same(0, tokens)) return 'all';
  return runsOf(rows).map(([a, b]) => (b === a + 1 ? `${a}` : `${a}:${b}`)).join(',');
}

/** Maximal runs [start, end) of consecutive rows. */
export function runsOf(rows: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const r of rows) {
    const last = runs[runs.length - 1];
    if (last && last[1] === r) last[1] = r + 1; else runs.push([r, r + 1]);
  }
  return runs;
}

/**
 * The rows of the last block's neurons through which the logits depend on them: one backward pass
 * of the summed logits (two probe images where the batch is dynamic), rows with any nonzero
 * gradient. The head's own gather/mean/pooling decides which rows those are, so no pattern list is
 * needed. The model is left as it was.
 */
export async function graphReadout(model: ModelProto, input: ImageInput, site: NeuronSite, logits: string, settings: SessionSettings,
                                   clean: ProbeResult): Promise<number[]> {
  const graph = model.graph!;
  const feedsAt = (batch: number) => ({ [input.name]: probePixels(input, batch) });
  const shapes = await probeShapes(model, feedsAt, input.fixedBatch, settings, clean);
  const nodes = graph.node ?? [], outputs = graph.output ?? [], initializers = (graph.initializer ??= []).length;
  const b = new GraphBuilder(graph, opsetOf(model), 'np_readout/');
  const one = onnx.TensorProto.create({ dataType: DataType.FLOAT, dims: [1], floatData: [1] });
  const seed = b.node('ConstantOfShape', [b.shape(logits)], { value: { tensor: one } })[0];
  const grads = buildBackward(b, new GraphIndex(graph), shapes, {
    nodes, sources: [site.tensor], seeds: new Map([[logits, seed]]), isFloat: (name) => shapes.isFloat(name),
  });
  const g = grads.get(site.tensor);
  if (!g) throw new ModelFormatError(`the logits '${logits}' do not depend on the last block's FFN (${site.fc2}); the graph is not a ViT classifier.`);
  const perRow = b.reduceSum(b.op('Abs', [g]), [0, 2], false);
  graph.node = [...nodes, ...b.added];
  graph.output = [{ name: perRow }];
  let bytes: Uint8Array;
  try { bytes = encodeModel(model); } finally {
    graph.node = nodes; graph.output = outputs; graph.initializer.length = initializers;
  }
  const session = await Session.create(bytes, { ...settings, executionProvider: 'cpu' });
  try {
    const out = await session.run(feedsAt(input.fixedBatch ? 1 : 2), [perRow]);
    const values = out[perRow].data as Float32Array;
    return Array.from(values.keys()).filter((t) => values[t] !== 0);
  } finally { await session.release(); }
}

/** The readout rows of a block's activation [T*D]: [rows.length * D], in row order. */
export function readoutValues(acts: Float32Array, rows: number[], D: number): Float32Array {
  const out = new Float32Array(rows.length * D);
  rows.forEach((r, k) => out.set(acts.subarray(r * D, (r + 1) * D), k * D));
  return out;
}
