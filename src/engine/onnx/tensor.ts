// Reads the numbers of a TensorProto (initializer or Constant attribute), wherever they are stored.
import { DataType, ModelFormatError, toNumber, type TensorProto } from './proto';

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

export function tensorValues(t: TensorProto): number[] {
  const raw = t.rawData && t.rawData.length > 0 ? Buffer.from(t.rawData) : undefined;
  switch (t.dataType) {
    case DataType.FLOAT:
      if (raw) return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
      return (t.floatData ?? []).slice();
    case DataType.DOUBLE:
      if (raw) return Array.from(new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
      return (t.doubleData ?? []).slice();
    case DataType.INT64:
      if (raw) return Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), Number);
      return (t.int64Data ?? []).map((v) => toNumber(v as number));
    case DataType.INT32:
      if (raw) return Array.from(new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
      return (t.int32Data ?? []).slice();
    default:
      throw new ModelFormatError(`tensor '${t.name}' has data type ${t.dataType}, which is not read here`);
  }
}

export function tensorSize(t: TensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}
