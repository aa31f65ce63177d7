// The only module that touches the ONNX protobuf package: read a model (with its external data)
// and write one back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';

export { onnx };
export type ModelProto = onnx.ModelProto;
export type GraphProto = onnx.IGraphProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export type AttributeProto = onnx.IAttributeProto;
export type ValueInfoProto = onnx.IValueInfoProto;

export const DataType = onnx.TensorProto.DataType;
export const AttrType = onnx.AttributeProto.AttributeType;

/** protobufjs decodes int64 as Long objects; everything we read is well inside 2^53. */
export function toNumber(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : (v as Long).toNumber();
}
type Long = { toNumber(): number };

export class ModelFormatError extends Error {
  constructor(message: string) { super(message); this.name = 'ModelFormatError'; }
}

export function decodeModel(bytes: Uint8Array, source: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${source} is not a readable ONNX model (${(e as Error).message}). ` +
      'Check that the file is complete and was exported with torch.onnx.export or optimum.');
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new ModelFormatError(`${source} holds no graph: it is not an ONNX model, or it is empty.`);
  }
  return model;
}

/**
 * Reads the external data of every initializer into rawData, so the model is self-contained.
 * A location that leaves the model's folder is refused: a model file must not read files elsewhere.
 */
export function inlineExternalData(model: ModelProto, modelDir: string): void {
  const root = fs.realpathSync(modelDir);
  const opened = new Map<string, number>();
  try {
    for (const t of model.graph!.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
      const location = entries.get('location');
      if (!location) throw new ModelFormatError(`initializer '${t.name}' has external data without a location`);
      const file = resolveInside(root, location, t.name ?? '');
      let fd = opened.get(file);
      if (fd === undefined) { fd = fs.openSync(file, 'r'); opened.set(file, fd); }
      const offset = Number(entries.get('offset') ?? 0);
      const length = entries.has('length') ? Number(entries.get('length')) : fs.fstatSync(fd).size - offset;
      const buf = Buffer.alloc(length);
      const read = fs.readSync(fd, buf, 0, length, offset);
      if (read !== length) {
        throw new ModelFormatError(`external data '${location}' of '${t.name}' is truncated (${read} of ${length} bytes)`);
      }
      t.rawData = buf;
      t.externalData = [];
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    }
  } finally {
    for (const fd of opened.values()) fs.closeSync(fd);
  }
}

function resolveInside(root: string, location: string, tensor: string): string {
  const candidate = path.resolve(root, location);
  if (path.isAbsolute(location) || !candidate.startsWith(root + path.sep)) {
    throw new ModelFormatError(`initializer '${tensor}' points at external data '${location}' outside the model's ` +
      'folder; refused. Keep the data files next to the model.');
  }
  if (!fs.existsSync(candidate)) {
    throw new ModelFormatError(`external data file '${location}' of initializer '${tensor}' is missing; ` +
      'copy it next to the model file.');
  }
  const real = fs.realpathSync(candidate);
  if (!real.startsWith(root + path.sep)) {
    throw new ModelFormatError(`external data '${location}' of '${tensor}' is a link out of the model's folder; refused.`);
  }
  return real;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function opsetOf(model: ModelProto): number {
  const def = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return def ? toNumber(def.version as number) : 1;
}
