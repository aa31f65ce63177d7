// Recognises the decomposed forms of LayerNorm and exact GELU that torch exports (opset < 17 / < 20)
// and stands one pseudo node in for each in the list the backward walks. The backward then needs
// only the pattern's input, so the forward intermediates are not kept for it, and onnxruntime is
// free to fuse the forward pattern into one kernel (it does so only for unconsumed intermediates).
import { attrInt } from '../onnx/builder';
import type { GraphIndex } from '../onnx/graph';
import { onnx, type NodeProto } from '../onnx/proto';
import type { RuleContext } from './context';

type Match = { nodes: NodeProto[]; replacement: NodeProto };

const near = (a: number | undefined, b: number, tol = 1e-6) => a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function scalar(ctx: RuleContext, name: string): number | undefined {
  const v = ctx.constValues(name);
  return v && v.length === 1 ? v[0] : undefined;
}

/** The other input of a binary node, if `known` is one of its inputs. */
function other(node: NodeProto, known: string): string | undefined {
  const [a, b] = node.input ?? [];
  return a === known ? b : b === known ? a : undefined;
}

function only(index: GraphIndex, name: string, op: string): NodeProto | undefined {
  const users = index.consumersOf(name);
  return users.length === 1 && users[0].opType === op ? users[0] : undefined;
}

function lastAxisMean(ctx: RuleContext, node: NodeProto | undefined, x: string): boolean {
  if (!node || node.opType !== 'ReduceMean' || node.input![0] !== x) return false;
  const axes = (node.input![1] ? ctx.constValues(node.input![1]) : undefined) ?? attrIntsOf(node);
  const rank = ctx.rank(x);
  return !!axes && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1) && attrInt(node, 'keepdims', 1) === 1;
}

function attrIntsOf(node: NodeProto): number[] | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === 'axes');
  return a ? (a.ints ?? []).map(Number) : undefined;
}

/** mean -> Sub -> Pow 2 -> mean -> Add eps -> Sqrt -> Div -> Mul gamma -> Add beta. */
function layerNorm(ctx: RuleContext, index: GraphIndex, mean: NodeProto): Match | undefined {
  const x = mean.input![0];
  const sub = index.consumersOf(mean.output![0]).find((n) => n.opType === 'Sub' && n.input![0] === x && n.input![1] === mean.output![0]);
  if (!sub || !lastAxisMean(ctx, mean, x)) return undefined;
  const d = sub.output![0];
  const users = index.consumersOf(d);
  const pow = users.find((n) => (n.opType === 'Pow' && n.input![0] === d && near(scalar(ctx, n.input![1]), 2)) || (n.opType === 'Mul' && n.input![0] === d && n.input![1] === d));
  const div = users.find((n) => n.opType === 'Div' && n.input![0] === d);
  if (!pow || !div || users.length !== 2) return undefined;
  const mean2 = only(index, pow.output![0], 'ReduceMean');
  if (!mean2 || !lastAxisMean(ctx, mean2, pow.output![0])) return undefined;
  const addEps = only(index, mean2.output![0], 'Add');
  const eps = addEps && scalar(ctx, other(addEps, mean2.output![0]) ?? '');
  if (!addEps || eps === undefined) return undefined;
  const sqrt = only(index, addEps.output![0], 'Sqrt');
  if (!sqrt || div.input![1] !== sqrt.output![0] || index.consumersOf(sqrt.output![0]).length !== 1) return undefined;
  const mul = only(index, div.output![0], 'Mul');
  const gamma = mul && other(mul, div.output![0]);
  const add = mul && only(index, mul.output![0], 'Add');
  const beta = add && other(add, mul.output![0]);
  if (!mul || !gamma || !add || !beta || !ctx.index.isConstant(gamma) || !ctx.index.isConstant(beta)) return undefined;
  if (index.consumersOf(mean.output![0]).length !== 1) return undefined;
  return {
    nodes: [mean, sub, pow, mean2, addEps, sqrt, div, mul, add],
    replacement: onnx.NodeProto.create({
      opType: 'LayerNormalization', name: `${add.name}/np_pattern`, input: [x, gamma, beta], output: [add.output![0]],
      attribute: [{ name: 'axis', type: 2, i: -1 }, { name: 'epsilon', type: 1, f: eps }],
    }),
  };
}

/** x/sqrt2 (or x*1/sqrt2) -> Erf -> +1 -> times x -> times 0.5, in either multiplication order. */
function geluErf(ctx: RuleContext, index: GraphIndex, erf: NodeProto): Match | undefined {
  const scaled = index.producer.get(erf.input![0]);
  if (!scaled || index.consumersOf(scaled.output![0]).length !== 1) return undefined;
  const [x, k] = scaled.input!;
  const ok = (scaled.opType === 'Div' && near(scalar(ctx, k), Math.SQRT2, 1e-4)) || (scaled.opType === 'Mul' && near(scalar(ctx, k), Math.SQRT1_2, 1e-4));
  if (!ok) return undefined;
  const plus = only(index, erf.output![0], 'Add');
  if (!plus || !near(scalar(ctx, other(plus, erf.output![0]) ?? ''), 1)) return undefined;
  const onePlus = plus.output![0];
  // Order A: (x * (1 + erf)) * 0.5;  order B: (x * 0.5) * (1 + erf).
  const m1 = only(index, onePlus, 'Mul');
  if (!m1) return undefined;
  const partner = other(m1, onePlus)!;
  let nodes: NodeProto[], out: string;
  if (partner === x) {
    const m2 = only(index, m1.output![0], 'Mul');
    if (!m2 || !near(scalar(ctx, other(m2, m1.output![0]) ?? ''), 0.5)) return undefined;
    nodes = [scaled, erf, plus, m1, m2]; out = m2.output![0];
  } else {
    const half = index.producer.get(partner);
    if (!half || half.opType !== 'Mul' || other(half, x) === undefined || !near(scalar(ctx, other(half, x)!), 0.5)) return undefined;
    if (index.consumersOf(half.output![0]).length !== 1) return undefined;
    nodes = [half, scaled, erf, plus, m1]; out = m1.output![0];
  }
  return { nodes, replacement: onnx.NodeProto.create({ opType: 'Gelu', name: `${out}/np_pattern`, input: [x], output: [out] }) };
}

/** The forward node list with recognised patterns replaced, each pseudo node where its output was made. */
export function withPatterns(ctx: RuleContext, index: GraphIndex, nodes: NodeProto[]): NodeProto[] {
  const replaced = new Map<NodeProto, NodeProto | null>();
  for (const node of nodes) {
    if (replaced.has(node)) continue;
    const match = node.opType === 'ReduceMean' ? layerNorm(ctx, index, node) : node.opType === 'Erf' ? geluErf(ctx, index, node) : undefined;
    if (!match || match.nodes.some((n) => replaced.has(n))) continue;
    const last = match.nodes.find((n) => n.output![0] === match.replacement.output![0])!;
    for (const n of match.nodes) replaced.set(n, n === last ? match.replacement : null);
  }
  return nodes.flatMap((n) => { const r = replaced.get(n); return r === undefined ? [n] : r === null ? [] : [r]; });
}
