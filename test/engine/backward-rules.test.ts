// Every backward rule against central finite differences: L = sum(out * R) for a fixed random R,
// dL/dx from the built backward graph vs (L(x + e) - L(x - e)) / 2e, element by element.
import assert from 'node:assert/strict';
import test from 'node:test';
import { buildBackward } from '../../src/engine/autodiff/backward';
import { RuleContext } from '../../src/engine/autodiff/context';
import { withPatterns } from '../../src/engine/autodiff/patterns';
import { GraphBuilder } from '../../src/engine/onnx/builder';
import { GraphIndex } from '../../src/engine/onnx/graph';
import { probeModel } from '../../src/engine/onnx/probe';
import { encodeModel, type NodeProto } from '../../src/engine/onnx/proto';
import { Session, type Feed } from '../../src/engine/runtime';
import { makeModel, seeded, size, type TensorInput } from '../helpers/graphs';

// float32 forward passes: eps 1e-2 keeps rounding error ~1e-5 and the truncation error of the
// central difference ~eps^2 * f''' ; 2e-3 of the largest gradient (plus 2e-4 absolute) bounds both.
const EPS = 1e-2, REL = 2e-3, ABS = 2e-4;

/** n distinct values 0.1 apart, in a scrambled order (7919 is a prime larger than every n used). */
function spaced(_name: string, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) * 0.1 - n * 0.05);
}

interface Case {
  name: string;
  opset?: number;
  inputs: TensorInput[];
  /** Values per input; default seeded in [-1, 1). */
  values?: (name: string, n: number) => Float32Array;
  build: (b: GraphBuilder, inputs: string[]) => string;
  /** Inputs to differentiate (default: all). */
  wrt?: string[];
  /**
   * Axis 0 of every input is the batch: declared dynamic, probed at batches 1 and 2 as the engine
   * does, and the gradients checked at the batch of `inputs` (so shapes the rules write must follow it).
   */
  dynamicBatch?: boolean;
  /** Further checks on the forward and backward nodes. */
  inspect?: (forward: NodeProto[], backward: NodeProto[]) => void;
}

async function check(c: Case): Promise<void> {
  const opset = c.opset ?? 17;
  const { model, output } = makeModel(opset, c.inputs, (b) => b.op('Identity', [c.build(b, c.inputs.map((i) => i.name))]));
  const values = c.inputs.map((inp, k) => c.values?.(inp.name, size(inp.dims)) ?? seeded(size(inp.dims), 17 + k));
  const feeds = (vals: Float32Array[]): Record<string, Feed> =>
    Object.fromEntries(c.inputs.map((inp, k) => [inp.name, { type: 'float32' as const, data: vals[k], dims: inp.dims }]));
  let probe = await probeModel(model, feeds(values), 1, {});
  let batchAxes = (n: string) => (probe.shapes.get(n) ?? []).map(() => false);
  if (c.dynamicBatch) {
    for (const input of model.graph!.input!) input.type!.tensorType!.shape!.dim![0] = { dimParam: 'batch' };
    const at = async (batch: number) => probeModel(model, Object.fromEntries(c.inputs.map((inp, k) => {
      const dims = [batch, ...inp.dims.slice(1)];
      return [inp.name, { type: 'float32' as const, data: seeded(size(dims), 31 + k), dims }];
    })), batch, {});
    const [one, two] = [await at(1), await at(2)];
    probe = two;
    batchAxes = (n) => (two.shapes.get(n) ?? []).map((d, i) => d !== one.shapes.get(n)?.[i]);
  }
  const outDims = (await probeModel(model, feeds(values), 1, {})).shapes.get(output)!;
  const R = seeded(size(outDims), 99);
  const graph = model.graph!;
  const b = new GraphBuilder(graph, opset, 'bw/');
  const seedName = b.floats(Array.from(R), outDims, 'seed');
  const wrt = c.wrt ?? c.inputs.map((i) => i.name);
  const grads = buildBackward(b, new GraphIndex(graph), {
    shape: (n) => probe.shapes.get(n) ?? (graph.initializer ?? []).find((t) => t.name === n)!.dims!.map(Number),
    batchAxes,
    ints: (n) => probe.ints.get(n),
  }, { nodes: graph.node!.slice(), sources: wrt, seeds: new Map([[output, seedName]]), isFloat: (n) => probe.floats.has(n) });
  const backwardNodes = b.added.slice();
  b.commit();
  c.inspect?.(graph.node!.filter((n) => !backwardNodes.includes(n)), backwardNodes);
  const gradOutputs = wrt.map((w) => { const g = grads.get(w); assert.ok(g, `no gradient for ${w}`); return g; });
  graph.output = [{ name: output }, ...gradOutputs.map((g, k) => { const id = `grad_${k}`; graph.node!.push({ opType: 'Identity', input: [g], output: [id], name: id }); return { name: id }; })];
  const session = await Session.create(encodeModel(model), { threads: 1 });
  try {
    const loss = async (vals: Float32Array[]) => {
      const out = (await session.run(feeds(vals), [output]))[output].data as Float32Array;
      let s = 0;
      for (let i = 0; i < out.length; i++) s += out[i] * R[i];
      return s;
    };
    const analytic = await session.run(feeds(values), wrt.map((_, k) => `grad_${k}`));
    for (const [k, name] of wrt.entries()) {
      const idx = c.inputs.findIndex((i) => i.name === name);
      const g = analytic[`grad_${k}`].data as Float32Array;
      assert.deepEqual(Array.from(analytic[`grad_${k}`].dims), c.inputs[idx].dims, `${c.name}: gradient shape of ${name}`);
      const scale = Math.max(...Array.from(g, Math.abs));
      for (let i = 0; i < g.length; i++) {
        const plus = values.map((v) => v.slice()), minus = values.map((v) => v.slice());
        plus[idx][i] += EPS; minus[idx][i] -= EPS;
        const fd = (await loss(plus) - await loss(minus)) / (2 * EPS);
        assert.ok(Math.abs(fd - g[i]) <= REL * scale + ABS, `${c.name}: d/d${name}[${i}] analytic ${g[i]} vs finite difference ${fd}`);
      }
    }
  } finally {
    await session.release();
  }
}

const positive = (_n: string, n: number) => Float32Array.from(seeded(n, 5), (v) => 1.5 + v);
const away = (_n: string, n: number) => Float32Array.from(seeded(n, 7), (v) => (v >= 0 ? 0.3 + v : v - 0.3)); // kinks at 0 avoided
const x234 = [{ name: 'x', dims: [2, 3, 4] }];

/** A reduction as the opset writes it: axes an attribute before opset 18, an input from 18. */
const reduce = (b: GraphBuilder, op: string, x: string, axes: number[], keepdims: boolean) =>
  (b.opset >= 18 ? b.op(op, [x, b.int64s(axes)], { keepdims: keepdims ? 1 : 0 }) : b.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 }));
/** CLIP's zero-shot head on image features [2, 4]: normalised, times fixed normalised text embeddings [4, 3], times exp(logit_scale). */
const zeroShot = (b: GraphBuilder, normalised: string) => {
  const text = b.floats(Array.from(seeded(12, 8), (v, i) => v / (1 + (i % 4))), [4, 3]);
  return b.op('Mul', [b.op('MatMul', [normalised, text]), b.op('Exp', [b.float(Math.log(1 / 0.07))])]);
};

const CASES: Case[] = [
  { name: 'Add broadcast', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4] }], build: (b, [x, y]) => b.op('Add', [x, y]) },
  { name: 'Sub broadcast', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [3, 1] }], build: (b, [x, y]) => b.op('Sub', [x, y]) },
  { name: 'Mul broadcast', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [1, 3, 1] }], build: (b, [x, y]) => b.op('Mul', [x, y]) },
  { name: 'Div', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [2, 3, 4] }], values: (n, k) => (n === 'y' ? positive(n, k) : seeded(k, 3)), build: (b, [x, y]) => b.op('Div', [x, y]) },
  { name: 'Sum', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4] }], build: (b, [x, y]) => b.op('Sum', [x, y, x]) },
  { name: 'Pow 2', inputs: x234, build: (b, [x]) => b.op('Pow', [x, b.float(2)]) },
  { name: 'Pow 3', inputs: x234, build: (b, [x]) => b.op('Pow', [x, b.float(3)]) },
  { name: 'Sqrt', inputs: x234, values: positive, build: (b, [x]) => b.op('Sqrt', [x]) },
  { name: 'Erf', inputs: x234, build: (b, [x]) => b.op('Erf', [x]) },
  { name: 'Tanh', inputs: x234, build: (b, [x]) => b.op('Tanh', [x]) },
  { name: 'Sigmoid', inputs: x234, build: (b, [x]) => b.op('Sigmoid', [x]) },
  { name: 'Relu', inputs: x234, values: away, build: (b, [x]) => b.op('Relu', [x]) },
  { name: 'Exp', inputs: x234, build: (b, [x]) => b.op('Exp', [x]) },
  { name: 'Log', inputs: x234, values: positive, build: (b, [x]) => b.op('Log', [x]) },
  { name: 'Neg', inputs: x234, build: (b, [x]) => b.op('Neg', [x]) },
  { name: 'Sin', inputs: x234, build: (b, [x]) => b.op('Sin', [x]) },
  { name: 'Cos', inputs: x234, build: (b, [x]) => b.op('Cos', [x]) },
  { name: 'Reciprocal', inputs: x234, values: positive, build: (b, [x]) => b.op('Reciprocal', [x]) },
  { name: 'Gelu erf (opset 20)', opset: 20, inputs: x234, build: (b, [x]) => b.op('Gelu', [x]) },
  { name: 'Gelu tanh (opset 20)', opset: 20, inputs: x234, build: (b, [x]) => b.op('Gelu', [x], { approximate: 'tanh' }) },
  { name: 'Clip', inputs: x234, values: (_n, k) => Float32Array.from(seeded(k, 11), (v) => v * 2 + (Math.abs(v * 2 - 0.5) < 0.05 ? 0.2 : 0)), build: (b, [x]) => b.op('Clip', [x, b.float(-0.5), b.float(0.5)]) },
  { name: 'MatMul 3D x 3D', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [2, 4, 5] }], build: (b, [x, y]) => b.op('MatMul', [x, y]) },
  { name: 'MatMul broadcast 3D x 2D', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4, 5] }], build: (b, [x, y]) => b.op('MatMul', [x, y]) },
  { name: 'MatMul 4D attention', inputs: [{ name: 'x', dims: [1, 2, 3, 4] }, { name: 'y', dims: [1, 2, 4, 3] }], build: (b, [x, y]) => b.op('MatMul', [x, y]) },
  { name: 'Gemm transB with bias', inputs: [{ name: 'x', dims: [2, 4] }, { name: 'c', dims: [5] }], wrt: ['x', 'c'], build: (b, [x, c]) => b.op('Gemm', [x, b.floats(Array.from(seeded(20, 4)), [5, 4]), c], { transB: 1, alpha: { float: 0.7 }, beta: { float: 1.3 } }) },
  { name: 'Gemm', inputs: [{ name: 'x', dims: [2, 4] }], build: (b, [x]) => b.op('Gemm', [x, b.floats(Array.from(seeded(20, 4)), [4, 5])]) },
  { name: 'Softmax last axis', inputs: x234, build: (b, [x]) => b.op('Softmax', [x], { axis: -1 }) },
  { name: 'Softmax axis 1', inputs: x234, build: (b, [x]) => b.op('Softmax', [x], { axis: 1 }) },
  { name: 'Softmax opset 11', opset: 11, inputs: x234, build: (b, [x]) => b.op('Softmax', [x], { axis: 2 }) },
  { name: 'LayerNormalization', inputs: x234, build: (b, [x]) => b.op('LayerNormalization', [x, b.floats([1, 0.5, -2, 1.5], [4]), b.floats([0.1, 0, 0, 0.3], [4])], { axis: -1, epsilon: { float: 1e-5 } }) },
  { name: 'ReduceMean keepdims (opset 13)', opset: 13, inputs: x234, build: (b, [x]) => b.reduceMean(x, [-1], true) },
  { name: 'ReduceMean no keepdims (opset 18)', opset: 18, inputs: x234, build: (b, [x]) => b.reduceMean(x, [1], false) },
  { name: 'ReduceSum (opset 13)', opset: 13, inputs: x234, build: (b, [x]) => b.reduceSum(x, [0, 2], false) },
  { name: 'ReduceSum (opset 11)', opset: 11, inputs: x234, build: (b, [x]) => b.reduceSum(x, [1], true) },
  { name: 'ReduceL2 keepdims (opset 13, axes attribute)', opset: 13, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceL2', x, [-1], true) },
  { name: 'ReduceL2 no keepdims (opset 18, axes input)', opset: 18, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceL2', x, [0, 2], false) },
  { name: 'ReduceL2 over every axis (no axes)', opset: 13, inputs: x234, build: (b, [x]) => b.op('ReduceL2', [x], { keepdims: 0 }) },
  { name: 'ReduceL1 (opset 13)', opset: 13, inputs: x234, values: away, build: (b, [x]) => reduce(b, 'ReduceL1', x, [1], true) },
  { name: 'ReduceL1 (opset 18)', opset: 18, inputs: x234, values: away, build: (b, [x]) => reduce(b, 'ReduceL1', x, [-1], false) },
  { name: 'ReduceSumSquare (opset 13)', opset: 13, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceSumSquare', x, [2], false) },
  { name: 'ReduceSumSquare (opset 18)', opset: 18, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceSumSquare', x, [0, 1], true) },
  { name: 'ReduceLogSumExp (opset 13)', opset: 13, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceLogSumExp', x, [-1], true) },
  { name: 'ReduceLogSumExp (opset 18)', opset: 18, inputs: x234, build: (b, [x]) => reduce(b, 'ReduceLogSumExp', x, [1], false) },
  { name: 'LpNormalization p=2', inputs: x234, build: (b, [x]) => b.op('LpNormalization', [x], { axis: -1, p: 2 }) },
  { name: 'LpNormalization p=1 axis 1', inputs: x234, values: away, build: (b, [x]) => b.op('LpNormalization', [x], { axis: 1, p: 1 }) },
  { name: 'Abs', inputs: x234, values: away, build: (b, [x]) => b.op('Abs', [x]) },
  { name: 'Max with a constant floor (a norm clamped to eps)', inputs: x234, values: away, build: (b, [x]) => b.op('Max', [x, b.float(0.1)]) },
  { name: 'Min of two tensors, broadcast', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4] }],
    values: (n, k) => (n === 'y' ? Float32Array.from([0, 0.1, -0.1, 0.05]) : away(n, k)), build: (b, [x, y]) => b.op('Min', [x, y]) },
  { name: 'chain: zero-shot head, F.normalize (ReduceL2, Clip min eps, Expand, Div)', inputs: [{ name: 'x', dims: [2, 4] }], build: (b, [x]) => {
    const norm = b.op('Expand', [b.op('Clip', [reduce(b, 'ReduceL2', x, [-1], true), b.float(1e-12)]), b.int64s([2, 4])]);
    return zeroShot(b, b.op('Div', [x, norm]));
  } },
  { name: 'chain: zero-shot head, x / sqrt(sum(x^2)) (Pow, ReduceSum, Sqrt, Max eps)', inputs: [{ name: 'x', dims: [2, 4] }], build: (b, [x]) =>
    zeroShot(b, b.op('Div', [x, b.op('Max', [b.op('Sqrt', [b.reduceSum(b.op('Pow', [x, b.float(2)]), [1], true)]), b.float(1e-12)])])) },
  { name: 'chain: zero-shot head, LpNormalization', inputs: [{ name: 'x', dims: [2, 4] }], build: (b, [x]) => zeroShot(b, b.op('LpNormalization', [x], { axis: 1, p: 2 })) },
  { name: 'Conv depthwise 3x3, pad 1 (XCiT local patch interaction)', inputs: [{ name: 'x', dims: [1, 3, 4, 5] }], build: (b, [x]) =>
    b.op('Conv', [x, b.floats(Array.from(seeded(27, 6)), [3, 1, 3, 3]), b.floats([0.1, -0.2, 0.3], [3])], { group: 3, pads: [1, 1, 1, 1], kernel_shape: [3, 3] }) },
  { name: 'Conv stride 2, groups 2, dilation, uneven pads (output_padding)', inputs: [{ name: 'x', dims: [2, 4, 8, 7] }], build: (b, [x]) =>
    b.op('Conv', [x, b.floats(Array.from(seeded(72, 9)), [6, 2, 2, 3])], { group: 2, strides: [2, 2], dilations: [2, 1], pads: [1, 0, 0, 1] }) },
  { name: 'Conv kernel = stride 4, no pads (a ViT patch embedding, differentiated to the pixels)', inputs: [{ name: 'x', dims: [2, 3, 8, 12] }], build: (b, [x]) =>
    b.op('Conv', [x, b.floats(Array.from(seeded(5 * 3 * 16, 10)), [5, 3, 4, 4]), b.floats([0.1, -0.2, 0.3, 0, 0.05], [5])], { strides: [4, 4], kernel_shape: [4, 4] }) },
  { name: 'InstanceNormalization', inputs: [{ name: 'x', dims: [2, 3, 3, 4] }], build: (b, [x]) =>
    b.op('InstanceNormalization', [x, b.floats([1.2, 0.7, -0.5], [3]), b.floats([0.1, 0, -0.3], [3])], { epsilon: { float: 1e-5 } }) },
  { name: 'chain: GroupNorm as torch exports it (Reshape to groups, InstanceNormalization, Reshape back, scale, shift)', inputs: [{ name: 'x', dims: [2, 4, 3, 3] }], build: (b, [x]) => {
    const grouped = b.op('Reshape', [x, b.int64s([0, 2, -1])]);
    const normed = b.op('InstanceNormalization', [grouped, b.floats([1, 1], [2]), b.floats([0, 0], [2])], { epsilon: { float: 1e-5 } });
    const back = b.op('Reshape', [normed, b.int64s([2, 4, 3, 3])]);
    return b.op('Add', [b.op('Mul', [back, b.floats([1.5, -0.5, 0.8, 1], [4, 1, 1])]), b.floats([0.2, 0.1, -0.1, 0], [4, 1, 1])]);
  } },
  { name: 'Pad constant (timm\'s \'same\' padding), uneven', inputs: [{ name: 'x', dims: [2, 3, 4, 5] }], build: (b, [x]) =>
    b.op('Pad', [x, b.int64s([0, 0, 1, 2, 0, 0, 2, 1]), b.float(0.25)], { mode: 'constant' }) },
  // Distinct values 0.1 apart: the finite differences never change which element is a window's maximum.
  { name: 'chain: Pad -inf + MaxPool 3x3 stride 2 (the hybrid stem\'s \'same\' pool: overlapping windows)', inputs: [{ name: 'x', dims: [2, 3, 7, 7] }],
    values: spaced, build: (b, [x]) =>
      b.op('MaxPool', [b.op('Pad', [x, b.int64s([0, 0, 0, 0, 0, 0, 1, 1]), b.float(-Infinity)], { mode: 'constant' })], { kernel_shape: [3, 3], strides: [2, 2] }) },
  { name: 'MaxPool 3x3 stride 2 pad 1 (torch\'s nn.MaxPool2d stem)', inputs: [{ name: 'x', dims: [1, 2, 6, 5] }], values: spaced, build: (b, [x]) =>
    b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'MaxPool 2x2 stride 2 at opset 13 (windows apart: no reduction needed)', opset: 13, inputs: [{ name: 'x', dims: [2, 2, 4, 6] }], values: spaced, build: (b, [x]) =>
    b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }) },
  { name: 'BatchNormalization (inference)', inputs: [{ name: 'x', dims: [2, 3, 2, 2] }], build: (b, [x]) =>
    b.op('BatchNormalization', [x, b.floats([1.2, 0.7, -0.5], [3]), b.floats([0.1, 0, -0.3], [3]), b.floats([0.2, -0.1, 0.4], [3]), b.floats([0.5, 1.5, 0.9], [3])], { epsilon: { float: 1e-5 } }) },
  { name: 'Reshape', inputs: x234, build: (b, [x]) => b.op('Reshape', [x, b.int64s([2, 2, 6])]) },
  { name: 'Flatten', inputs: x234, build: (b, [x]) => b.op('Flatten', [x], { axis: 1 }) },
  { name: 'Squeeze/Unsqueeze', inputs: x234, build: (b, [x]) => b.op('Squeeze', [b.unsqueeze(x, [1]), b.int64s([1])]) },
  { name: 'Transpose', inputs: x234, build: (b, [x]) => b.op('Transpose', [x], { perm: [2, 0, 1] }) },
  { name: 'Concat', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [2, 1, 4] }], build: (b, [x, y]) => b.op('Concat', [y, x, y], { axis: 1 }) },
  { name: 'Split', inputs: x234, build: (b, [x]) => { const [p, , r] = b.node('Split', [x, b.int64s([1, 2, 1])], { axis: 2 }, 3); return b.op('Mul', [p, r]); } },
  { name: 'Slice', inputs: x234, build: (b, [x]) => b.slice(x, [1, -3], [3, 100], [1, 2]) },
  { name: 'Slice step 2 (RoPE even/odd)', inputs: x234, build: (b, [x]) =>
    b.op('Mul', [b.op('Slice', [x, b.int64s([0]), b.int64s([100]), b.int64s([-1]), b.int64s([2])]), b.op('Slice', [x, b.int64s([1]), b.int64s([100]), b.int64s([-1]), b.int64s([2])])]) },
  { name: 'Slice strided on two axes', inputs: [{ name: 'x', dims: [2, 5, 7] }], build: (b, [x]) =>
    b.op('Slice', [x, b.int64s([1, 0]), b.int64s([5, 6]), b.int64s([1, 2]), b.int64s([3, 2])]) },
  { name: 'Slice reversed (negative step)', inputs: [{ name: 'x', dims: [2, 3, 6] }], build: (b, [x]) =>
    b.op('Slice', [x, b.int64s([-1]), b.int64s([-1e9]), b.int64s([2]), b.int64s([-2])]) },
  { name: 'chain: timm RoPE rotation stack([-x[..., 1::2], x[..., ::2]], -1).reshape, times Sin/Cos tables', inputs: [{ name: 'x', dims: [1, 2, 3, 4] }], build: (b, [x]) => {
    const odd = b.op('Slice', [x, b.int64s([1]), b.int64s([100]), b.int64s([3]), b.int64s([2])]);
    const even = b.op('Slice', [x, b.int64s([0]), b.int64s([100]), b.int64s([3]), b.int64s([2])]);
    const rotated = b.op('Reshape', [b.op('Concat', [b.unsqueeze(b.op('Neg', [odd]), [4]), b.unsqueeze(even, [4])], { axis: 4 }), b.int64s([1, 2, 3, 4])]);
    const angles = b.floats(Array.from({ length: 12 }, (_, i) => 0.3 * i), [3, 4]);
    return b.op('Add', [b.op('Mul', [x, b.op('Cos', [angles])]), b.op('Mul', [rotated, b.op('Sin', [angles])])]);
  } },
  { name: 'Gather scalar index', inputs: x234, build: (b, [x]) => b.op('Gather', [x, b.int64Scalar(0)], { axis: 1 }) },
  { name: 'Gather index range', inputs: x234, build: (b, [x]) => b.op('Gather', [x, b.int64s([1, 2])], { axis: 2 }) },
  { name: 'Gather any indices (unordered, repeated, negative)', inputs: x234, build: (b, [x]) => b.op('Gather', [x, b.int64s([3, 0, -1, 1])], { axis: 2 }) },
  { name: 'Gather 2-D indices', inputs: x234, build: (b, [x]) => b.op('Gather', [x, b.op('Reshape', [b.int64s([2, 0, 2, 1]), b.int64s([2, 2])])], { axis: 1 }) },
  { name: 'Einsum attention scores bhid,bhjd->bhij', inputs: [{ name: 'x', dims: [1, 2, 3, 4] }, { name: 'y', dims: [1, 2, 5, 4] }], build: (b, [x, y]) => b.op('Einsum', [x, y], { equation: 'bhid,bhjd->bhij' }) },
  { name: 'Einsum with ellipsis ...id,...jd->...ij', inputs: [{ name: 'x', dims: [2, 2, 3, 4] }, { name: 'y', dims: [2, 2, 5, 4] }], build: (b, [x, y]) => b.op('Einsum', [x, y], { equation: '...id,...jd->...ij' }) },
  { name: 'Einsum with ellipsis on one operand ...ij,jk', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4, 5] }], build: (b, [x, y]) => b.op('Einsum', [x, y], { equation: '...ij,jk' }) },
  { name: 'Einsum with an implicit output ij,jk', inputs: [{ name: 'x', dims: [3, 4] }, { name: 'y', dims: [4, 5] }], build: (b, [x, y]) => b.op('Einsum', [x, y], { equation: 'ij,jk' }) },
  { name: 'Einsum with a summed-away index ij,k->ik', inputs: [{ name: 'x', dims: [3, 4] }, { name: 'y', dims: [5] }], build: (b, [x, y]) => b.op('Einsum', [x, y], { equation: 'ij,k->ik' }) },
  { name: 'Expand', inputs: [{ name: 'x', dims: [1, 3, 1] }], build: (b, [x]) => b.op('Expand', [x, b.int64s([2, 3, 4])]) },
  { name: 'Where', inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'y', dims: [4] }], build: (b, [x, y]) => b.op('Where', [b.op('Greater', [x, b.float(0)]), x, y]) },
  { name: 'reshapes and reductions with a dynamic batch axis (run at batch 3, built from batches 1 and 2)', dynamicBatch: true,
    inputs: [{ name: 'x', dims: [3, 2, 4] }], build: (b, [x]) => {
      const flat = b.op('Flatten', [b.unsqueeze(x, [1])], { axis: 1 });                        // [B, 8]
      const r = b.op('Reshape', [b.op('Squeeze', [b.unsqueeze(flat, [2]), b.int64s([2])]), b.int64s([-1, 4, 2])]); // [B, 4, 2]
      const perRow = b.reduceMean(r, [2], true);                                                  // [B, 4, 1]
      const overBatch = b.reduceSum(r, [0], true);                                               // [1, 4, 2]
      return b.op('Add', [b.op('Mul', [r, perRow]), b.op('Mul', [r, overBatch])]);
    },
    // Only the sum over the batch needs the forward tensor's runtime shape; every other shape is a constant.
    inspect: (forward, backward) => {
      const made = new Set(forward.flatMap((n) => n.output ?? []));
      const shapeReads = backward.filter((n) => n.opType === 'Shape' && made.has(n.input![0]));
      assert.equal(shapeReads.length, 1, `Shape of forward tensors in the backward: ${shapeReads.map((n) => n.input![0]).join(',')}`);
    } },
  { name: 'Cast/Identity/Dropout', inputs: x234, build: (b, [x]) => b.op('Dropout', [b.op('Identity', [b.op('Cast', [x], { to: 1 })])]) },
  { name: 'pattern: decomposed LayerNorm (torch opset < 17)', opset: 13, inputs: x234, build: (b, [x]) => {
    const d = b.op('Sub', [x, b.reduceMean(x, [-1], true)]);
    const sd = b.op('Sqrt', [b.op('Add', [b.reduceMean(b.op('Pow', [d, b.float(2)]), [-1], true), b.float(1e-5)])]);
    return b.op('Add', [b.op('Mul', [b.op('Div', [d, sd]), b.floats([1, 0.5, -2, 1.5], [4])]), b.floats([0.1, 0, 0, 0.3], [4])]);
  } },
  { name: 'pattern: Erf GELU, (x * (1 + erf(x / sqrt2))) * 0.5', inputs: x234, build: (b, [x]) =>
    b.op('Mul', [b.op('Mul', [x, b.op('Add', [b.op('Erf', [b.op('Div', [x, b.float(Math.SQRT2)])]), b.float(1)])]), b.float(0.5)]) },
  { name: 'pattern: Erf GELU, (x * 0.5) * (1 + erf(x * 1/sqrt2))', inputs: x234, build: (b, [x]) =>
    b.op('Mul', [b.op('Mul', [x, b.float(0.5)]), b.op('Add', [b.op('Erf', [b.op('Mul', [x, b.float(Math.SQRT1_2)])]), b.float(1)])]) },
  { name: 'chain: x*sigmoid(1.702x) (QuickGELU)', inputs: x234, build: (b, [x]) => b.op('Mul', [x, b.op('Sigmoid', [b.op('Mul', [x, b.float(1.702)])])]) },
];

for (const c of CASES) test(`backward rule: ${c.name}`, () => check(c));

test('MaxPool with overlapping windows below opset 16 is refused, saying which opset it needs', async () => {
  await assert.rejects(check({ name: 'MaxPool', opset: 13, inputs: [{ name: 'x', dims: [1, 1, 5, 5] }], values: spaced,
    build: (b, [x]) => b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }) }), /cannot differentiate MaxPool node .*its windows overlap, which needs opset 16 .*the model has opset 13/);
});

test('an op without a rule is a clear error naming the op and node', async () => {
  await assert.rejects(check({ name: 'Atan', inputs: x234, build: (b, [x]) => b.op('Atan', [x]) }), /cannot differentiate Atan node .*no gradient rule/);
});

test('decomposed LayerNorm and Erf GELU are recognised (the backward then needs only their input)', async () => {
  for (const [name, op] of [['pattern: decomposed LayerNorm (torch opset < 17)', 'LayerNormalization'],
    ['pattern: Erf GELU, (x * (1 + erf(x / sqrt2))) * 0.5', 'Gelu'], ['pattern: Erf GELU, (x * 0.5) * (1 + erf(x * 1/sqrt2))', 'Gelu']] as const) {
    const c = CASES.find((k) => k.name === name)!;
    const { model } = makeModel(c.opset ?? 17, c.inputs, (b) => c.build(b, c.inputs.map((i) => i.name)));
    const probe = await probeModel(model, { x: { type: 'float32', data: seeded(24, 1), dims: [2, 3, 4] } }, 1, {});
    const graph = model.graph!;
    const ctx = new RuleContext(new GraphBuilder(graph, c.opset ?? 17), new GraphIndex(graph),
      { shape: (n) => probe.shapes.get(n) ?? [], batchAxes: () => [], ints: (n) => probe.ints.get(n) });
    const nodes = withPatterns(ctx, new GraphIndex(graph), graph.node!);
    assert.deepEqual(nodes.map((n) => n.opType), [op], `${name}: ${nodes.map((n) => n.opType).join(',')}`);
  }
});
