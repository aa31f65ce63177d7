// Learns the concrete shape of every tensor (and the value of every small integer tensor) by running
// the model once per batch size with all intermediate tensors exposed as outputs. The backward graph
// needs these: which axes a broadcast added, how long each Concat part is, where a Slice starts.
import { Session, type Feed, type SessionSettings } from '../runtime';
import { encodeModel, onnx, type ModelProto } from './proto';

export interface ProbeInput { name: string; channels: number; height: number; width: number }

export interface ProbeResult {
  batch: number;
  shapes: Map<string, number[]>;
  ints: Map<string, number[]>;     // values of integer tensors of at most 64 elements
  floats: Set<string>;             // tensors of float type (the only ones that carry gradients)
}

/** A deterministic, non-degenerate pixel batch (probing only needs shapes and integer values). */
export function probePixels(input: ProbeInput, batch: number): Feed {
  const size = batch * input.channels * input.height * input.width;
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.sin(i * 12.9898) * 0.5;
  return { type: 'float32', data, dims: [batch, input.channels, input.height, input.width] };
}

export async function probeModel(model: ModelProto, feeds: Record<string, Feed>, batch: number, settings: SessionSettings): Promise<ProbeResult> {
  const graph = model.graph!;
  const original = graph.output!;
  const known = new Set([...original.map((o) => o.name), ...(graph.input ?? []).map((i) => i.name)]);
  const extra: onnx.IValueInfoProto[] = [];
  for (const node of graph.node ?? []) {
    for (const o of node.output ?? []) if (o && !known.has(o)) { known.add(o); extra.push({ name: o }); }
  }
  graph.output = [...original, ...extra];
  let bytes: Uint8Array;
  try { bytes = encodeModel(model); } finally { graph.output = original; }

  const session = await Session.create(bytes, { ...settings, executionProvider: 'cpu' });
  try {
    const names = session.outputNames.slice();
    const out = await session.run(feeds, names);
    const result: ProbeResult = { batch, shapes: new Map(), ints: new Map(), floats: new Set() };
    for (const [name, f] of Object.entries(feeds)) {
      result.shapes.set(name, f.dims.slice());
      if (f.type === 'float32') result.floats.add(name);
    }
    for (const name of names) {
      const t = out[name];
      result.shapes.set(name, t.dims.slice());
      if (t.type === 'float32') result.floats.add(name);
      else if ((t.type === 'int64' || t.type === 'int32') && t.data.length <= 64) {
        result.ints.set(name, Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)));
      }
    }
    return result;
  } finally {
    await session.release();
  }
}
