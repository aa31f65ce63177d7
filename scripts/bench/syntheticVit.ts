// Generates a ViT as an ONNX model in code (Hugging Face export layout: Conv patch embedding, CLS
// token, learned positions, pre-norm blocks, Erf GELU, final LayerNorm, head on token 0) with seeded
// random weights: benchmark-sized models without downloading or committing weights.
import { GraphBuilder } from '../../src/engine/onnx/builder';
import { DataType, onnx, type ModelProto } from '../../src/engine/onnx/proto';

export interface VitShape {
  image: number | [number, number]; patch: number; width: number; layers: number; heads: number; ffn: number; classes: number;
  opset?: number;            // 17: LayerNormalization op; 14: decomposed LayerNorm
}

export const VIT_B16: VitShape = { image: 224, patch: 16, width: 768, layers: 12, heads: 12, ffn: 3072, classes: 1000 };
export const VIT_S16: VitShape = { image: 224, patch: 16, width: 384, layers: 12, heads: 6, ffn: 1536, classes: 1000 };

export function parameterCount(s: VitShape): number {
  const [h, w] = Array.isArray(s.image) ? s.image : [s.image, s.image];
  const tokens = (h / s.patch) * (w / s.patch) + 1;
  const block = 4 * s.width * s.width + 4 * s.width + 2 * s.width * s.ffn + s.ffn + s.width + 4 * s.width;
  return 3 * s.patch * s.patch * s.width + s.width + s.width + tokens * s.width + s.layers * block + 2 * s.width + s.width * s.classes + s.classes;
}

export function syntheticVit(s: VitShape, seed = 1): ModelProto {
  const opset = s.opset ?? 17;
  const [imageH, imageW] = Array.isArray(s.image) ? s.image : [s.image, s.image];
  const tokens = (imageH / s.patch) * (imageW / s.patch) + 1, E = s.width, hd = E / s.heads;
  let state = seed >>> 0;
  const random = (n: number, scale: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = (state / 2 ** 32 - 0.5) * 2 * scale;
    }
    return out;
  };
  const graph = onnx.GraphProto.create({
    name: 'synthetic_vit', node: [], initializer: [],
    input: [{ name: 'pixel_values', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: imageH }, { dimValue: imageW }] } } } }],
    output: [{ name: 'logits', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: s.classes }] } } } }],
  });
  const b = new GraphBuilder(graph, opset, '');
  const weight = (dims: number[], scale: number) => {
    const name = b.fresh('w');
    const data = random(dims.reduce((x, y) => x * y, 1), scale);
    graph.initializer.push(onnx.TensorProto.create({ name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(data.buffer) }));
    return name;
  };
  const ones = (n: number) => b.floats(Array.from({ length: n }, () => 1), [n]);
  const zeros = (n: number) => b.floats(new Array<number>(n).fill(0), [n]);
  const layerNorm = (x: string) => {
    if (opset >= 17) return b.op('LayerNormalization', [x, ones(E), zeros(E)], { axis: -1, epsilon: { float: 1e-6 } });
    const mean = b.reduceMean(x, [-1], true);
    const xc = b.op('Sub', [x, mean]);
    const variance = b.reduceMean(b.op('Pow', [xc, b.float(2)]), [-1], true);
    const normed = b.op('Div', [xc, b.op('Sqrt', [b.op('Add', [variance, b.float(1e-6)])])]);
    return b.op('Add', [b.op('Mul', [normed, ones(E)]), zeros(E)]);
  };
  const linear = (x: string, inF: number, outF: number) =>
    b.op('Add', [b.op('MatMul', [x, weight([inF, outF], 1 / Math.sqrt(inF))]), weight([outF], 0.02)]);
  const shape4 = b.int64s([0, tokens, s.heads, hd]);

  const conv = b.op('Conv', ['pixel_values', weight([E, 3, s.patch, s.patch], 1 / Math.sqrt(3 * s.patch * s.patch)), weight([E], 0.02)],
    { kernel_shape: [s.patch, s.patch], strides: [s.patch, s.patch] });
  const patches = b.op('Transpose', [b.op('Reshape', [conv, b.int64s([0, E, tokens - 1])])], { perm: [0, 2, 1] });
  const batchDim = b.slice(b.shape('pixel_values'), [0], [1], [0]);
  const cls = b.op('Expand', [weight([1, 1, E], 0.5), b.op('Concat', [batchDim, b.int64s([1, E])], { axis: 0 })]);
  let x = b.op('Add', [b.op('Concat', [cls, patches], { axis: 1 }), weight([1, tokens, E], 0.5)]);
  for (let l = 0; l < s.layers; l++) {
    const h = layerNorm(x);
    const heads = (t: string) => b.op('Transpose', [b.op('Reshape', [t, shape4])], { perm: [0, 2, 1, 3] });
    const q = heads(linear(h, E, E)), k = heads(linear(h, E, E)), v = heads(linear(h, E, E));
    const scores = b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), b.float(1 / Math.sqrt(hd))]);
    const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), b.int64s([0, tokens, E])]);
    x = b.op('Add', [x, linear(merged, E, E)]);
    const f = linear(layerNorm(x), E, s.ffn);
    const gelu = b.op('Mul', [b.op('Mul', [f, b.op('Add', [b.op('Erf', [b.op('Div', [f, b.float(Math.SQRT2)])]), b.float(1)])]), b.float(0.5)]);
    x = b.op('Add', [x, linear(gelu, s.ffn, E)]);
  }
  const pooled = b.op('Gather', [layerNorm(x), b.int64Scalar(0)], { axis: 1 });
  b.node('Add', [b.op('MatMul', [pooled, weight([E, s.classes], 1 / Math.sqrt(E))]), weight([s.classes], 0.02)], {}, ['logits']);
  b.commit();
  return onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph, producerName: 'neuron-path-bench' });
}
