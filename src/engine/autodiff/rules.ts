// Reverse-mode rules: for a node and the gradients of its outputs, the gradients of its inputs.
// Only inputs that carry gradients (`wants`) are computed; weights never are.
import { attrFloat, attrInt, attrInts, attrString, type AttrValue } from '../onnx/builder';
import { AttrType } from '../onnx/proto';
import type { NodeProto } from '../onnx/proto';
import { normAxis, type RuleContext } from './context';

export type Grad = string | undefined;
export type Rule = (c: RuleContext, node: NodeProto, gOut: Grad[], wants: boolean[]) => Grad[];

const ins = (n: NodeProto) => n.input ?? [];
const outs = (n: NodeProto) => n.output ?? [];

const passThrough: Rule = (c, n, [g], wants) => [wants[0] && g ? c.reshapeLike(g, ins(n)[0]) : undefined];
const identity: Rule = (_c, _n, [g]) => [g];

/** y = f(x) elementwise, dx = g * f'(x) with f' built from x and y. */
function unary(derivative: (c: RuleContext, x: string, y: string) => string): Rule {
  return (c, n, [g], wants) => [wants[0] && g ? c.b.op('Mul', [g, derivative(c, ins(n)[0], outs(n)[0])]) : undefined];
}

function binary(dA: (c: RuleContext, g: string, a: string, b: string, y: string) => string,
                dB: (c: RuleContext, g: string, a: string, b: string, y: string) => string): Rule {
  return (c, n, [g], wants) => {
    if (!g) return [];
    const [a, b] = ins(n), y = outs(n)[0];
    return [
      wants[0] ? c.unbroadcast(dA(c, g, a, b, y), a, y) : undefined,
      wants[1] ? c.unbroadcast(dB(c, g, a, b, y), b, y) : undefined,
    ];
  };
}

function reduceAxes(c: RuleContext, n: NodeProto): number[] {
  const x = ins(n)[0], rank = c.rank(x);
  const fromInput = ins(n)[1] ? c.constValues(ins(n)[1]) : undefined;
  const axes = attrInts(n, 'axes') ?? fromInput;
  if (!axes || axes.length === 0) {
    if (attrInt(n, 'noop_with_empty_axes', 0)) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, rank));
}

/** A reduction's output (or its gradient) with the reduced axes as size 1, so it broadcasts against the input. */
function keptDims(c: RuleContext, n: NodeProto, t: string, axes: number[]): string {
  return attrInt(n, 'keepdims', 1) || axes.length === 0 ? t : c.b.unsqueeze(t, axes);
}

function reduceRule(mean: boolean): Rule {
  return (c, n, [g], wants) => {
    if (!wants[0] || !g) return [];
    const x = ins(n)[0];
    const axes = reduceAxes(c, n);
    let dx = c.expandLike(keptDims(c, n, g, axes), x, axes);
    if (mean) {
      const count = axes.reduce((p, a) => p * c.staticDim(n, x, a), 1);
      dx = c.b.op('Mul', [dx, c.b.float(1 / count)]);
    }
    return [dx];
  };
}

/**
 * The other reductions: dx = g * dy/dx, with dy/dx shaped like x, built from x and y (y with the
 * reduced axes kept, so it broadcasts). Axes are an attribute before opset 18 and an input from 18;
 * reduceAxes reads both.
 */
function reduceWith(derivative: (c: RuleContext, x: string, y: string) => string): Rule {
  return (c, n, [g], wants) => {
    if (!wants[0] || !g) return [];
    const x = ins(n)[0], axes = reduceAxes(c, n);
    return [c.b.op('Mul', [keptDims(c, n, g, axes), derivative(c, x, keptDims(c, n, outs(n)[0], axes))])];
  };
}

/** d||x||_2/dx = x / ||x||_2; at a zero norm x is 0 and the floor gives torch's subgradient 0, not 0/0. */
const l2Derivative = (c: RuleContext, x: string, y: string) => c.b.op('Div', [x, c.b.op('Max', [y, c.b.float(1e-30)])]);

/**
 * LpNormalization y = x / ||x||_p along one axis (p 1 or 2): dx = (g - s * sum(g * y)) / ||x||_p,
 * with s = y for p = 2 and sign(x) for p = 1.
 */
const lpNormalization: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const b = c.b, x = ins(n)[0], y = outs(n)[0];
  const axis = normAxis(attrInt(n, 'axis', -1), c.rank(x)), p = attrInt(n, 'p', 2);
  if (p !== 1 && p !== 2) c.fail(n, `p = ${p} (ONNX allows 1 and 2)`);
  const norm = p === 2 ? b.op('Sqrt', [b.reduceSum(b.op('Mul', [x, x]), [axis], true)]) : b.reduceSum(b.op('Abs', [x]), [axis], true);
  const s = p === 2 ? y : b.op('Sign', [x]);
  const inner = b.op('Sub', [g, b.op('Mul', [s, b.reduceSum(b.op('Mul', [g, y]), [axis], true)])]);
  return [b.op('Div', [inner, b.op('Max', [norm, b.float(1e-30)])])];
};

/** Elementwise Max/Min of any inputs: the gradient goes to the inputs equal to the result, shared on ties. */
const extremum: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const b = c.b, y = outs(n)[0];
  const hits = ins(n).map((x) => b.op('Cast', [b.op('Equal', [x, y])], { to: 1 }));
  const share = b.op('Div', [g, hits.length === 1 ? hits[0] : b.op('Sum', hits)]);
  return ins(n).map((x, i) => (wants[i] ? c.unbroadcast(b.op('Mul', [share, hits[i]]), x, y) : undefined));
};

/**
 * Conv, the gradient of its data input: ConvTranspose of g with the same weight (its [out, in/group,
 * k...] layout is ConvTranspose's [in, out/group, k...]), strides, pads, dilations and groups;
 * output_padding restores the input positions a stride skipped.
 */
const conv: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  if (wants[1] || wants[2]) c.fail(n, 'gradients of Conv weights or biases are not supported');
  if (!wants[0]) return [];
  const [x, w] = ins(n);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') c.fail(n, `auto_pad ${autoPad} is not supported (torch exports explicit pads)`);
  const xs = c.shape(x), ys = c.shape(outs(n)[0]), ks = c.shape(w).slice(2), k = ks.length;
  const strides = attrInts(n, 'strides') ?? ks.map(() => 1), dilations = attrInts(n, 'dilations') ?? ks.map(() => 1);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * k).fill(0) : attrInts(n, 'pads') ?? new Array<number>(2 * k).fill(0);
  const outputPadding = ks.map((kk, i) => xs[2 + i] - ((ys[2 + i] - 1) * strides[i] - pads[i] - pads[k + i] + (kk - 1) * dilations[i] + 1));
  return [c.b.op('ConvTranspose', [g, w], { strides, pads, dilations, group: attrInt(n, 'group', 1), output_padding: outputPadding })];
};

/** BatchNormalization in inference mode is per-channel affine: dx = g * scale / sqrt(var + eps) on axis 1. */
const batchNorm: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  if (wants.slice(1).some(Boolean)) c.fail(n, 'gradients of BatchNormalization parameters are not supported');
  if (attrInt(n, 'training_mode', 0)) c.fail(n, 'training mode (batch statistics) is not supported');
  if (!wants[0]) return [];
  const b = c.b, [x, scale, , , variance] = ins(n);
  const factor = b.op('Div', [scale, b.op('Sqrt', [b.op('Add', [variance, b.float(attrFloat(n, 'epsilon', 1e-5))])])]);
  const perChannel = b.op('Reshape', [factor, b.int64s([-1, ...new Array<number>(c.rank(x) - 2).fill(1)])]);
  return [b.op('Mul', [g, perChannel])];
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** d/dx of 0.5 x (1 + erf(x/sqrt2)) = Phi(x) + x phi(x). */
function geluErfDerivative(c: RuleContext, x: string): string {
  const b = c.b;
  const cdf = b.op('Mul', [b.op('Add', [b.op('Erf', [b.op('Mul', [x, b.float(Math.SQRT1_2)])]), b.float(1)]), b.float(0.5)]);
  const pdf = b.op('Mul', [b.op('Exp', [b.op('Mul', [b.op('Mul', [x, x]), b.float(-0.5)])]), b.float(1 / Math.sqrt(2 * Math.PI))]);
  return b.op('Add', [cdf, b.op('Mul', [x, pdf])]);
}

/** d/dx of 0.5 x (1 + tanh(k (x + 0.044715 x^3))). */
function geluTanhDerivative(c: RuleContext, x: string): string {
  const b = c.b;
  const x2 = b.op('Mul', [x, x]);
  const inner = b.op('Mul', [b.op('Mul', [x, b.op('Add', [b.op('Mul', [x2, b.float(0.044715)]), b.float(1)])]), b.float(SQRT_2_OVER_PI)]);
  const t = b.op('Tanh', [inner]);
  const dInner = b.op('Mul', [b.op('Add', [b.op('Mul', [x2, b.float(3 * 0.044715)]), b.float(1)]), b.float(SQRT_2_OVER_PI)]);
  const sech2 = b.op('Sub', [b.float(1), b.op('Mul', [t, t])]);
  const left = b.op('Mul', [b.op('Add', [t, b.float(1)]), b.float(0.5)]);
  return b.op('Add', [left, b.op('Mul', [b.op('Mul', [b.op('Mul', [x, b.float(0.5)]), sech2]), dInner])]);
}

function swapLast(c: RuleContext, name: string): string {
  const r = c.rank(name);
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return c.b.op('Transpose', [name], { perm });
}

const matMul: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const [a, bIn] = ins(n), y = outs(n)[0];
  if (c.rank(a) < 2 || c.rank(bIn) < 2) c.fail(n, 'one-dimensional MatMul operands are not supported');
  // The products below have y's batch dims and the operand's own last two dims.
  const batch = c.shape(y).slice(0, -2);
  return [
    wants[0] ? c.unbroadcastTo(c.b.op('MatMul', [g, swapLast(c, bIn)]), a, [...batch, ...c.shape(a).slice(-2)]) : undefined,
    wants[1] ? c.unbroadcastTo(c.b.op('MatMul', [swapLast(c, a), g]), bIn, [...batch, ...c.shape(bIn).slice(-2)]) : undefined,
  ];
};

const gemm: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const [, bIn, cIn] = ins(n), y = outs(n)[0];
  const alpha = attrFloat(n, 'alpha', 1), beta = attrFloat(n, 'beta', 1);
  if (wants[1]) c.fail(n, 'the gradient of a Gemm weight operand is not supported');
  let dA: Grad;
  if (wants[0]) {
    if (attrInt(n, 'transA', 0)) c.fail(n, 'transA=1 on an activation is not supported');
    dA = c.b.op('MatMul', [g, attrInt(n, 'transB', 0) ? bIn : c.b.op('Transpose', [bIn], { perm: [1, 0] })]);
    if (alpha !== 1) dA = c.b.op('Mul', [dA, c.b.float(alpha)]);
  }
  let dC: Grad;
  if (cIn && wants[2]) dC = c.unbroadcast(beta === 1 ? g : c.b.op('Mul', [g, c.b.float(beta)]), cIn, y);
  return [dA, undefined, dC];
};

const softmax: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const x = ins(n)[0], y = outs(n)[0], rank = c.rank(x);
  const opset = c.b.opset;
  const axis = normAxis(attrInt(n, 'axis', opset >= 13 ? -1 : 1), rank);
  if (opset < 13 && axis !== rank - 1) c.fail(n, 'Softmax before opset 13 is only supported on the last axis');
  const dot = c.b.reduceSum(c.b.op('Mul', [g, y]), [axis], true);
  return [c.b.op('Mul', [y, c.b.op('Sub', [g, dot])])];
};

const layerNorm: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  if (wants[1] || wants[2]) c.fail(n, 'gradients of LayerNormalization scale/bias are not supported');
  if (!wants[0]) return [];
  const [x, scale] = ins(n);
  const rank = c.rank(x);
  const axis = normAxis(attrInt(n, 'axis', -1), rank);
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  return [normalizedGradient(c, x, c.b.op('Mul', [g, scale]), axes, attrFloat(n, 'epsilon', 1e-5))];
};

/**
 * InstanceNormalization (how torch exports GroupNorm: Reshape to [N, groups, -1], normalise each row,
 * Reshape back, scale and shift): y = scale_c * xhat + bias_c, xhat over the spatial axes 2.. of each (n, c).
 */
const instanceNorm: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  if (wants[1] || wants[2]) c.fail(n, 'gradients of InstanceNormalization scale/bias are not supported');
  if (!wants[0]) return [];
  const b = c.b, [x, scale] = ins(n), rank = c.rank(x);
  const perChannel = b.op('Reshape', [scale, b.int64s([-1, ...new Array<number>(rank - 2).fill(1)])]);
  const axes = Array.from({ length: rank - 2 }, (_, i) => 2 + i);
  return [normalizedGradient(c, x, b.op('Mul', [g, perChannel]), axes, attrFloat(n, 'epsilon', 1e-5))];
};

/** xhat = (x - mean) / sqrt(var + eps) over `axes`; given gh = dL/dxhat: dx = (gh - mean(gh) - xhat mean(gh xhat)) / sqrt(var + eps). */
function normalizedGradient(c: RuleContext, x: string, gh: string, axes: number[], eps: number): string {
  const b = c.b;
  const mean = b.reduceMean(x, axes, true);
  const xc = b.op('Sub', [x, mean]);
  const variance = b.reduceMean(b.op('Mul', [xc, xc]), axes, true);
  const inv = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.float(eps)])])]);
  const xhat = b.op('Mul', [xc, inv]);
  const meanG = b.reduceMean(gh, axes, true);
  const meanGX = b.reduceMean(b.op('Mul', [gh, xhat]), axes, true);
  const inner = b.op('Sub', [b.op('Sub', [gh, meanG]), b.op('Mul', [xhat, meanGX])]);
  return b.op('Mul', [inner, inv]);
}

/** Pad in constant mode (timm's 'same' padding of the hybrid stems' Conv and MaxPool): the gradient is g without the padding. */
const pad: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const mode = attrString(n, 'mode', 'constant');
  if (mode !== 'constant') c.fail(n, `mode ${mode} is not supported (only constant padding)`);
  const x = ins(n)[0], shape = c.shape(x), rank = shape.length;
  const pads = c.b.opset < 11 ? attrInts(n, 'pads') : c.constValues(ins(n)[1]);
  if (!pads) return c.fail(n, 'its pads are not constant');
  const axes = (c.b.opset >= 18 && ins(n)[3] ? c.constValues(ins(n)[3]) : undefined)?.map((a) => normAxis(a, rank)) ?? shape.map((_, i) => i);
  if (pads.some((p) => p < 0)) c.fail(n, 'negative pads (cropping) are not supported');
  const padded = axes.map((axis, i) => ({ axis, begin: pads[i], end: pads[axes.length + i] })).filter((p) => p.begin > 0 || p.end > 0);
  if (padded.some((p) => c.shapes.batchAxes(x)[p.axis])) c.fail(n, 'it pads the batch axis');
  if (padded.length === 0) return [g];
  return [c.b.slice(g, padded.map((p) => p.begin), padded.map((p) => p.begin + shape[p.axis]), padded.map((p) => p.axis))];
};

/**
 * MaxPool (the hybrid stems' 3x3 stride-2 pool): the gradient goes to the element each window's
 * maximum came from. The pool is run again with its Indices output (flat positions in x), and g is
 * added there with ScatterElements; overlapping windows may pick the same element, which needs the
 * `add` reduction of opset 16.
 */
const maxPool: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  if (attrInt(n, 'storage_order', 0) !== 0) c.fail(n, 'column-major storage_order is not supported');
  const b = c.b, x = ins(n)[0];
  const kernel = attrInts(n, 'kernel_shape') ?? [], strides = attrInts(n, 'strides') ?? kernel.map(() => 1);
  const dilations = attrInts(n, 'dilations') ?? kernel.map(() => 1);
  const overlapping = kernel.some((k, i) => (k - 1) * dilations[i] + 1 > strides[i]);
  if (overlapping && b.opset < 16) c.fail(n, `its windows overlap, which needs opset 16 (ScatterElements with reduction add); the model has opset ${b.opset}: re-export it with opset 16 or later`);
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) {
    if (a.name) attrs[a.name] = a.type === AttrType.STRING ? Buffer.from(a.s ?? []).toString() : a.ints?.length ? a.ints.map(Number) : Number(a.i ?? 0);
  }
  const [, indices] = b.node('MaxPool', [x], attrs, 2);
  const flat = b.int64s([-1]);
  const zeros = b.zerosLike(b.op('Reshape', [x, flat]));
  const scattered = b.op('ScatterElements', [zeros, b.op('Reshape', [indices, flat]), b.op('Reshape', [g, flat])],
    { axis: 0, ...(overlapping ? { reduction: 'add' } : {}) });
  return [c.reshapeLike(scattered, x)];
};

const transpose: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const rank = c.rank(ins(n)[0]);
  const perm = attrInts(n, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => { inverse[p] = i; });
  return [c.b.op('Transpose', [g], { perm: inverse })];
};

const concat: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const rank = c.rank(outs(n)[0]);
  const axis = normAxis(attrInt(n, 'axis', 0), rank);
  let offset = 0;
  return ins(n).map((x, i) => {
    const len = c.staticDim(n, x, axis);
    const start = offset;
    offset += len;
    return wants[i] ? c.b.slice(g, [start], [start + len], [axis]) : undefined;
  });
};

const split: Rule = (c, n, gOut, wants) => {
  if (!wants[0] || gOut.every((g) => !g)) return [];
  const rank = c.rank(ins(n)[0]);
  const axis = normAxis(attrInt(n, 'axis', 0), rank);
  const parts = outs(n).map((y, i) => gOut[i] ?? c.b.zerosLike(y));
  outs(n).forEach((y) => c.staticDim(n, y, axis));
  return [c.b.op('Concat', parts, { axis })];
};

/** The positions a Slice takes along one axis (ONNX clamping rules, any step). */
function sliceIndices(start: number, end: number, step: number, dim: number): number[] {
  const norm = (v: number) => (v < 0 ? v + dim : v);
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const [begin, stop] = step > 0 ? [clamp(norm(start), 0, dim), clamp(norm(end), 0, dim)] : [clamp(norm(start), 0, dim - 1), clamp(norm(end), -1, dim - 1)];
  const out: number[] = [];
  for (let i = begin; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const slice: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const x = ins(n)[0];
  const shape = c.shape(x), rank = shape.length;
  const opset = c.b.opset;
  const read = (attr: string, idx: number): number[] | undefined =>
    opset < 10 ? attrInts(n, attr) : (ins(n)[idx] ? c.constValues(ins(n)[idx]) : undefined);
  const starts = read('starts', 1), ends = read('ends', 2);
  if (!starts || !ends) return c.fail(n, 'its starts/ends are not constant');
  const axes = (read('axes', 3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = read('steps', 4) ?? starts.map(() => 1);
  const taken = axes.map((axis, i) => sliceIndices(starts[i], ends[i], steps[i], shape[axis]));
  axes.forEach((axis, i) => {
    if (taken[i].length !== shape[axis] && c.shapes.batchAxes(x)[axis]) c.fail(n, `it slices the batch axis ${axis}`);
  });
  if (steps.every((s) => s === 1)) {
    const pads = new Array<number>(2 * rank).fill(0);
    axes.forEach((axis, i) => {
      const idx = taken[i];
      pads[axis] = idx.length ? idx[0] : 0;
      pads[rank + axis] = shape[axis] - (idx.length ? idx[idx.length - 1] + 1 : 0);
    });
    return [c.b.pad(g, pads)];
  }
  // Strided (or reversed) slices: scatter back one axis at a time.
  let dx = g;
  axes.forEach((axis, i) => { dx = scatterAxis(c, dx, axis, rank, taken[i], shape[axis]); });
  return [dx];
};

/**
 * The adjoint of taking positions `idx` along `axis` of a tensor whose axis has size `dim`: g's
 * entries go back to their positions, repeated positions summed, the rest zero. A contiguous
 * ascending run is a Pad; anything else a product with the constant one-hot matrix [n, dim].
 */
function scatterAxis(c: RuleContext, g: string, axis: number, rank: number, idx: number[], dim: number): string {
  if (idx.length > 0 && idx.every((v, k) => v === idx[0] + k)) {
    const pads = new Array<number>(2 * rank).fill(0);
    pads[axis] = idx[0];
    pads[rank + axis] = dim - idx[0] - idx.length;
    return c.b.pad(g, pads);
  }
  const onehot = new Array<number>(idx.length * dim).fill(0);
  idx.forEach((v, k) => { onehot[k * dim + v] = 1; });
  const matrix = c.b.floats(onehot, [idx.length, dim], 'scatter');
  if (axis === rank - 1) return c.b.op('MatMul', [g, matrix]);
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[axis], perm[rank - 1]] = [perm[rank - 1], perm[axis]];
  return c.b.op('Transpose', [c.b.op('MatMul', [c.b.op('Transpose', [g], { perm }), matrix])], { perm });
}

const gather: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const [x, indicesName] = ins(n);
  const shape = c.shape(x), rank = shape.length;
  const axis = normAxis(attrInt(n, 'axis', 0), rank);
  const indices = c.constValues(indicesName);
  const dim = c.staticDim(n, x, axis);
  if (!indices) return c.fail(n, 'its indices are not constant');
  const idx = indices.map((i) => (i < 0 ? i + dim : i));
  const idxShape = c.shape(indicesName);
  // g is [x before axis, indices..., x after axis]: one index axis in x's place.
  let flat = g;
  if (idxShape.length === 0) flat = c.b.unsqueeze(g, [axis]);
  else if (idxShape.length > 1) {
    const after = shape.slice(axis + 1).map((d, i) => (c.shapes.batchAxes(x)[axis + 1 + i] ? c.fail(n, 'the batch axis follows the gathered axis') : d));
    flat = c.b.op('Reshape', [g, c.b.int64s([...shape.slice(0, axis).map(() => 0), idx.length, ...after])]);
  }
  return [scatterAxis(c, flat, axis, rank, idx, dim)];
};

/**
 * An Einsum equation with every index explicit: each ellipsis replaced by letters for the dimensions
 * it covers (aligned on the right, as broadcasting does), and an implicit output (no ->) made
 * explicit (the ellipsis, then the indices used once, in alphabetical order).
 */
function explicitEinsum(c: RuleContext, n: NodeProto): { terms: string[]; out: string } {
  const equation = attrString(n, 'equation', '').replace(/\s/g, '');
  const [lhs, given] = equation.split('->');
  const raw = lhs.split(',');
  const spans = raw.map((t, i) => (t.includes('...') ? c.rank(ins(n)[i]) - (t.length - 3) : 0));
  const widest = Math.max(0, ...spans);
  const fresh = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].filter((ch) => !equation.includes(ch)).slice(0, widest).join('');
  const terms = raw.map((t, i) => t.replace('...', fresh.slice(widest - spans[i])));
  if (given !== undefined) return { terms, out: given.replace('...', fresh) };
  const once = [...new Set(raw.join('').replace(/\./g, ''))].filter((ch) => raw.join('').split(ch).length === 2).sort();
  return { terms, out: (raw.some((t) => t.includes('...')) ? fresh : '') + once.join('') };
}

/** Einsum as torch exports it: each operand's gradient is an Einsum of the output gradient and the other operands. */
const einsum: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const operands = ins(n);
  const { terms, out } = explicitEinsum(c, n);
  const sizes = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((ch, a) => {
    const d = c.shape(operands[i])[a];
    if (sizes.has(ch) && sizes.get(ch) !== d) c.fail(n, `index '${ch}' has sizes ${sizes.get(ch)} and ${d}: broadcasting inside an Einsum is not supported`);
    sizes.set(ch, d);
  }));
  return operands.map((x, i) => {
    if (!wants[i]) return undefined;
    const mine = terms[i];
    if (new Set(mine).size !== mine.length) c.fail(n, `operand ${i} repeats an index (a diagonal), which is not supported`);
    const others = terms.filter((_, k) => k !== i);
    const known = new Set([...out, ...others.join('')]);
    // Indices only this operand has were summed away: the gradient is broadcast along them.
    const kept = [...mine].filter((ch) => known.has(ch)).join('');
    let dx = c.b.op('Einsum', [g, ...operands.filter((_, k) => k !== i)], { equation: `${[out, ...others].join(',')}->${kept}` });
    if (kept.length !== mine.length) {
      const missing = [...mine].map((ch, a) => (known.has(ch) ? -1 : a)).filter((a) => a >= 0);
      dx = c.expandLike(c.b.unsqueeze(dx, missing), x, missing);
    }
    return dx;
  });
};

const where: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  const [cond, a, bIn] = ins(n), y = outs(n)[0];
  const zero = c.b.float(0);
  return [
    undefined,
    wants[1] ? c.unbroadcast(c.b.op('Where', [cond, g, zero]), a, y) : undefined,
    wants[2] ? c.unbroadcast(c.b.op('Where', [cond, zero, g]), bIn, y) : undefined,
  ];
};

const clip: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const x = ins(n)[0];
  const b = c.b;
  const lo = c.b.opset >= 11 ? ins(n)[1] : undefined, hi = c.b.opset >= 11 ? ins(n)[2] : undefined;
  const loName = lo || (c.b.opset < 11 ? b.float(attrFloat(n, 'min', -3.4028234663852886e38)) : undefined);
  const hiName = hi || (c.b.opset < 11 ? b.float(attrFloat(n, 'max', 3.4028234663852886e38)) : undefined);
  let mask: string | undefined;
  if (loName) mask = b.op('Not', [b.op('Less', [x, loName])]);
  if (hiName) {
    const upper = b.op('Not', [b.op('Greater', [x, hiName])]);
    mask = mask ? b.op('And', [mask, upper]) : upper;
  }
  return [mask ? b.op('Where', [mask, g, b.float(0)]) : g];
};

const gelu: Rule = (c, n, [g], wants) => {
  if (!wants[0] || !g) return [];
  const x = ins(n)[0];
  const approximate = attrString(n, 'approximate', 'none');
  return [c.b.op('Mul', [g, approximate === 'tanh' ? geluTanhDerivative(c, x) : geluErfDerivative(c, x)])];
};

const pow: Rule = (c, n, [g], wants) => {
  if (!g) return [];
  if (wants[1]) c.fail(n, 'a Pow exponent that depends on the input is not supported');
  if (!wants[0]) return [];
  const [x, e] = ins(n), y = outs(n)[0];
  const exponent = c.constValues(e);
  const b = c.b;
  let derivative: string;
  if (exponent && exponent.length === 1) {
    const k = exponent[0];
    derivative = k === 2 ? b.op('Mul', [x, b.float(2)])
      : b.op('Mul', [b.op('Pow', [x, b.float(k - 1)]), b.float(k)]);
  } else {
    const eF = b.op('Cast', [e], { to: 1 });
    derivative = b.op('Mul', [b.op('Pow', [x, b.op('Sub', [eF, b.float(1)])]), eF]);
  }
  return [c.unbroadcast(b.op('Mul', [g, derivative]), x, y)];
};

export const RULES: Record<string, Rule> = {
  Add: binary((_c, g) => g, (_c, g) => g),
  Sub: binary((_c, g) => g, (c, g) => c.b.op('Neg', [g])),
  Mul: binary((c, g, _a, b) => c.b.op('Mul', [g, b]), (c, g, a) => c.b.op('Mul', [g, a])),
  Div: binary((c, g, _a, b) => c.b.op('Div', [g, b]),
    (c, g, _a, b, y) => c.b.op('Neg', [c.b.op('Div', [c.b.op('Mul', [g, y]), b])])),
  Sum: (c, n, [g], wants) => ins(n).map((x, i) => (wants[i] && g ? c.unbroadcast(g, x, outs(n)[0]) : undefined)),
  Pow: pow,
  Sqrt: unary((c, _x, y) => c.b.op('Reciprocal', [c.b.op('Mul', [y, c.b.float(2)])])),
  Erf: unary((c, x) => c.b.op('Mul', [c.b.op('Exp', [c.b.op('Neg', [c.b.op('Mul', [x, x])])]), c.b.float(2 / Math.sqrt(Math.PI))])),
  Tanh: unary((c, _x, y) => c.b.op('Sub', [c.b.float(1), c.b.op('Mul', [y, y])])),
  Sigmoid: unary((c, _x, y) => c.b.op('Mul', [y, c.b.op('Sub', [c.b.float(1), y])])),
  Relu: (c, n, [g], wants) => [wants[0] && g ? c.b.op('Where', [c.b.op('Greater', [ins(n)[0], c.b.float(0)]), g, c.b.float(0)]) : undefined],
  Exp: unary((_c, _x, y) => y),
  Log: unary((c, x) => c.b.op('Reciprocal', [x])),
  Neg: (c, _n, [g], wants) => [wants[0] && g ? c.b.op('Neg', [g]) : undefined],
  Sin: unary((c, x) => c.b.op('Cos', [x])),
  Cos: unary((c, x) => c.b.op('Neg', [c.b.op('Sin', [x])])),
  Einsum: einsum,
  Reciprocal: unary((c, _x, y) => c.b.op('Neg', [c.b.op('Mul', [y, y])])),
  Gelu: gelu,
  Clip: clip,
  MatMul: matMul,
  Gemm: gemm,
  Softmax: softmax,
  LayerNormalization: layerNorm,
  ReduceMean: reduceRule(true),
  ReduceSum: reduceRule(false),
  ReduceL2: reduceWith(l2Derivative),
  ReduceL1: reduceWith((c, x) => c.b.op('Sign', [x])),
  ReduceSumSquare: reduceWith((c, x) => c.b.op('Mul', [x, c.b.float(2)])),
  ReduceLogSumExp: reduceWith((c, x, y) => c.b.op('Exp', [c.b.op('Sub', [x, y])])),
  LpNormalization: lpNormalization,
  Abs: unary((c, x) => c.b.op('Sign', [x])),
  Max: extremum,
  Min: extremum,
  Conv: conv,
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  Pad: pad,
  MaxPool: maxPool,
  Reshape: passThrough,
  Flatten: passThrough,
  Squeeze: passThrough,
  Unsqueeze: passThrough,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Expand: (c, n, [g], wants) => [wants[0] && g ? c.unbroadcast(g, ins(n)[0], outs(n)[0]) : undefined],
  Where: where,
  Identity: identity,
  Dropout: identity,
  Cast: identity,
};
