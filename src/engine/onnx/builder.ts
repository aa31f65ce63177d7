// Appends nodes and constants to a graph, emitting each op in the form the model's opset expects
// (axes as attribute before opset 13/18, as input after), so the original nodes keep their meaning.
import { AttrType, DataType, onnx, type AttributeProto, type GraphProto, type NodeProto } from './proto';

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { tensor: onnx.ITensorProto };

export class GraphBuilder {
  private counter = 0;
  readonly added: NodeProto[] = [];

  constructor(readonly graph: GraphProto, readonly opset: number, private readonly prefix = 'np/') {}

  fresh(hint: string): string { return `${this.prefix}${hint}_${this.counter++}`; }

  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: number | string[], domain = ''): string[] {
    const outNames = Array.isArray(outputs) ? outputs
      : Array.from({ length: outputs ?? 1 }, () => this.fresh(op.toLowerCase()));
    const node: NodeProto = onnx.NodeProto.create({
      opType: op, input: inputs, output: outNames, name: this.fresh(`n_${op}`), domain,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    this.added.push(node);
    return outNames;
  }

  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs)[0];
  }

  int64s(values: number[], hint = 'i64'): string {
    return this.initializer(hint, onnx.TensorProto.create({
      dataType: DataType.INT64, dims: [values.length], int64Data: values,
    }));
  }

  int64Scalar(value: number, hint = 'i64s'): string {
    return this.initializer(hint, onnx.TensorProto.create({ dataType: DataType.INT64, dims: [], int64Data: [value] }));
  }

  float(value: number, hint = 'f'): string {
    return this.initializer(hint, onnx.TensorProto.create({ dataType: DataType.FLOAT, dims: [], floatData: [value] }));
  }

  floats(values: number[], dims: number[], hint = 'fs'): string {
    return this.initializer(hint, onnx.TensorProto.create({ dataType: DataType.FLOAT, dims, floatData: values }));
  }

  private initializer(hint: string, t: onnx.ITensorProto): string {
    t.name = this.fresh(hint);
    (this.graph.initializer ??= []).push(t);
    return t.name;
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    if (this.opset >= 13) return this.op('ReduceSum', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceSum', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, this.int64s(axes)]);
    return this.op('Unsqueeze', [x], { axes });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[]): string {
    return this.op('Slice', [x, this.int64s(starts), this.int64s(ends), this.int64s(axes)]);
  }

  /** Zero padding; pads are [begin per axis..., end per axis...] as in ONNX Pad. */
  pad(x: string, pads: number[]): string {
    if (pads.every((p) => p === 0)) return x;
    return this.op('Pad', [x, this.int64s(pads)], { mode: 'constant' });
  }

  shape(x: string): string { return this.op('Shape', [x]); }
  zerosLike(x: string): string {
    const zero = onnx.TensorProto.create({ dataType: DataType.FLOAT, dims: [1], floatData: [0] });
    return this.node('ConstantOfShape', [this.shape(x)], { value: { tensor: zero } })[0];
  }
  reshapeLike(x: string, like: string): string { return this.op('Reshape', [x, this.shape(like)]); }

  /** Appends the collected nodes to the graph (they were built in dependency order). */
  commit(): void {
    (this.graph.node ??= []).push(...this.added);
    this.added.length = 0;
  }
}

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if ('float' in v) return { name, type: AttrType.FLOAT, f: v.float };
  if ('tensor' in v) return { name, type: AttrType.TENSOR, t: v.tensor };
  return { name, type: AttrType.FLOATS, floats: v.floats };
}

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? Number(a.i ?? 0) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? (a.ints ?? []).map((x) => Number(x)) : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttr(node, name);
  return a?.s ? Buffer.from(a.s).toString() : fallback;
}
