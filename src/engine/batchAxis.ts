// Exports without dynamic axes fold the batch of 1 into Reshape/Expand constants. Where the batch
// is the leading axis of those constants, it can be made dynamic again; the result is kept only if
// a batch of two gives, row by row, exactly what the original gives image by image.
import { GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import { probeModel, probePixels } from './onnx/probe';
import { decodeModel, encodeModel, opsetOf, type ModelProto } from './onnx/proto';
import { tensorValues } from './onnx/tensor';
import { Session, type Feed, type SessionSettings } from './runtime';
import type { ImageInput } from './structure';

const SHAPED = new Set(['Reshape', 'Expand']);

export async function tryDynamicBatch(model: ModelProto, input: ImageInput, settings: SessionSettings): Promise<ModelProto | undefined> {
  const copy = decodeModel(encodeModel(model), 'model');
  const graph = copy.graph!;
  const index = new GraphIndex(graph);
  // Shape operands computed from constants only (torch folds `expand(B, -1, -1)` into such chains).
  const probe = await probeModel(model, { [input.name]: probePixels(input, 1) }, 1, settings);
  const fromInput = new Set([input.name]);
  for (const node of graph.node ?? []) {
    if ((node.input ?? []).some((i) => fromInput.has(i))) for (const o of node.output ?? []) fromInput.add(o);
  }
  const constantShape = (name: string) => {
    const t = index.constantThrough(name);
    if (t) return tensorValues(t);
    return fromInput.has(name) ? undefined : probe.ints.get(name);
  };
  const b = new GraphBuilder(graph, opsetOf(copy), 'np_batch/');
  const batch = b.slice(b.shape(input.name), [0], [1], [0]);
  for (const node of graph.node ?? []) {
    if (!SHAPED.has(node.opType ?? '')) continue;
    const shape = constantShape(node.input![1]);
    if (!shape || shape.length < 2 || shape[0] !== 1) continue;
    node.input![1] = b.op('Concat', [batch, b.int64s(shape.slice(1))], { axis: 0 });
  }
  graph.node = [...b.added, ...(graph.node ?? [])];
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) {
    const dim = v.type?.tensorType?.shape?.dim;
    if (dim && dim.length > 0 && (v.name === input.name || (graph.output ?? []).includes(v))) dim[0] = { dimParam: 'batch' };
  }
  graph.valueInfo = []; // intermediate annotations still say batch 1
  try {
    return (await sameRowByRow(model, copy, input, settings)) ? copy : undefined;
  } catch {
    return undefined; // the rewritten graph does not even run at batch 2: keep the fixed batch
  }
}

async function sameRowByRow(original: ModelProto, dynamic: ModelProto, input: ImageInput, settings: SessionSettings): Promise<boolean> {
  const fixedSession = await Session.create(encodeModel(original), { ...settings, executionProvider: 'cpu' });
  const dynSession = await Session.create(encodeModel(dynamic), { ...settings, executionProvider: 'cpu' });
  try {
    const outputs = fixedSession.outputNames.slice();
    const two = probePixels(input, 2);
    const half = two.data.length / 2;
    const rows: Feed[] = [0, 1].map((r) => ({ type: 'float32', data: (two.data as Float32Array).slice(r * half, (r + 1) * half), dims: [1, ...two.dims.slice(1)] }));
    const together = await dynSession.run({ [input.name]: two }, outputs);
    for (const [r, row] of rows.entries()) {
      const alone = await fixedSession.run({ [input.name]: row }, outputs);
      for (const name of outputs) {
        const a = alone[name].data as Float32Array, t = together[name].data as Float32Array;
        if (t.length !== 2 * a.length) return false;
        const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
        for (let i = 0; i < a.length; i++) if (!(Math.abs(t[r * a.length + i] - a[i]) <= 1e-5 * scale)) return false;
      }
    }
    return true;
  } finally {
    await fixedSession.release();
    await dynSession.release();
  }
}
