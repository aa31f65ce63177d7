// The numeric precision a model is analysed in. Half-precision models (float16, bfloat16) are upcast
// to float32, weights and graph, so gradients and scores are computed as for a float32 export;
// quantized models are refused: their rounding steps have no gradient.
import { AttrType, DataType, ModelFormatError, type GraphProto, type ModelProto, type TensorProto } from './proto';

export type StoredPrecision = 'float32' | 'float16' | 'bfloat16';

const HALF: Record<number, StoredPrecision> = { [DataType.FLOAT16]: 'float16', [DataType.BFLOAT16]: 'bfloat16' };

/** Ops that only appear in quantized graphs (QDQ, QOperator, dynamic quantization, weight-only). */
const QUANTIZED = /^(QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear|QLinear.*|MatMulInteger.*|ConvInteger|DynamicQuantize.*|Q(Gemm|Attention|Ordered.*)|MatMulNBits|MatMulBnb4|GatherBlockQuantized)$/;

export class QuantizedModelError extends ModelFormatError {
  constructor(message: string) { super(message); this.name = 'QuantizedModelError'; }
}

export function refuseQuantized(graph: GraphProto): void {
  const counts = new Map<string, number>();
  let example = '';
  for (const node of graph.node ?? []) {
    if (!QUANTIZED.test(node.opType ?? '')) continue;
    counts.set(node.opType!, (counts.get(node.opType!) ?? 0) + 1);
    example ||= node.name || node.output?.[0] || '';
  }
  if (counts.size === 0) return;
  const found = [...counts].map(([op, n]) => `${n} ${op}`).join(', ');
  throw new QuantizedModelError(`the model is quantized (${found}; e.g. '${example}'). Neuron Path differentiates the model, ` +
    'and quantization rounds every value to an integer step, which has no gradient, so attributions through it would not be ' +
    'the method\'s. Analyse the model before quantization: export it in float32 (or float16/bfloat16, which is upcast) with ' +
    'torch.onnx.export, or use the float model the quantized one was made from.');
}

/**
 * Rewrites a float16/bfloat16 model to float32 in place: initializers, Constant and ConstantOfShape
 * values, Cast targets and the declared input/output/value types. Returns what it was stored in.
 */
export function upcastToFloat32(model: ModelProto): StoredPrecision {
  const graph = model.graph!;
  let found: StoredPrecision = 'float32';
  const convert = (t: TensorProto | null | undefined) => {
    if (!t || HALF[t.dataType ?? 0] === undefined) return;
    found = HALF[t.dataType!];
    t.floatData = [];
    t.rawData = halfToFloat32Bytes(t);
    t.int32Data = [];
    t.dataType = DataType.FLOAT;
  };
  for (const t of graph.initializer ?? []) convert(t);
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.type === AttrType.TENSOR) convert(a.t);
      if (node.opType === 'Cast' && a.name === 'to' && HALF[Number(a.i)] !== undefined) { found = HALF[Number(a.i)]; a.i = DataType.FLOAT; }
    }
  }
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const tt = v.type?.tensorType;
    if (tt && HALF[tt.elemType ?? 0] !== undefined) { found = HALF[tt.elemType!]; tt.elemType = DataType.FLOAT; }
  }
  // Weights stored in half precision and cast to float32 before use are now float32 constants: the
  // Cast is a no-op, and as an Identity the weight is seen as constant (a linear layer's weight).
  const floatConstants = new Set((graph.initializer ?? []).filter((t) => t.dataType === DataType.FLOAT).map((t) => t.name));
  for (const node of graph.node ?? []) {
    if (node.opType === 'Constant' && node.attribute?.[0]?.t?.dataType === DataType.FLOAT) floatConstants.add(node.output![0]);
    const to = node.opType === 'Cast' ? node.attribute?.find((a) => a.name === 'to')?.i : undefined;
    if (to !== undefined && Number(to) === Number(DataType.FLOAT) && floatConstants.has(node.input![0])) {
      node.opType = 'Identity';
      node.attribute = [];
    }
  }
  return found;
}

/** float16 / bfloat16 values (raw bytes, or one per int32_data entry) as float32 little-endian bytes. */
function halfToFloat32Bytes(t: TensorProto): Uint8Array {
  const raw = t.rawData && t.rawData.length > 0 ? Buffer.from(t.rawData) : undefined;
  const count = raw ? raw.length / 2 : (t.int32Data ?? []).length;
  const bits = (i: number) => (raw ? raw.readUInt16LE(2 * i) : Number(t.int32Data![i]) & 0xffff);
  const out = new Float32Array(count);
  const toFloat = t.dataType === DataType.BFLOAT16 ? bfloat16ToFloat : float16ToFloat;
  for (let i = 0; i < count; i++) out[i] = toFloat(bits(i));
  return new Uint8Array(out.buffer);
}

const scratch = new DataView(new ArrayBuffer(4));

function bfloat16ToFloat(h: number): number {
  scratch.setUint32(0, h << 16);
  return scratch.getFloat32(0);
}

function float16ToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
