// The only module that touches the ONNX protobuf package: read a model (with its external data)
// and write one back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { EngineError, type EngineErrorCode, type ErrorFacts } from '../errors';
import { MAX_BYTES, openRegular } from '../files';

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
  return typeof v === 'number' ? v : v.toNumber();
}
type Long = { toNumber(): number };

/** A model that cannot be read or instrumented (subclasses narrow the code: not-a-vit). */
export class ModelFormatError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}, code: EngineErrorCode = 'model-format') { super(code, message, facts); this.name = 'ModelFormatError'; }
}

export function decodeModel(bytes: Uint8Array, source: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    // The decoder's own words ("invalid wire type 6 at offset 241") mean nothing to a user: kept in the facts, for a log.
    throw new ModelFormatError(`${source} is not an ONNX model, or it is damaged or incomplete (a download or copy that did not finish)`,
      { file: source, role: 'model', decoder: (e as Error).message });
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new ModelFormatError(`${source} holds no graph: it is not an ONNX model, or it is empty`, { file: source, role: 'model' });
  }
  return model;
}

/** Every tensor of a model, wherever it sits: initializers, sparse initializers, Constant (and any)
 * node attributes, and the same inside subgraphs (If/Loop/Scan bodies) and functions. Iterative. */
export function allTensors(model: ModelProto): { tensor: TensorProto; where: string }[] {
  const out: { tensor: TensorProto; where: string }[] = [];
  const graphs: { g: GraphProto; where: string }[] = model.graph ? [{ g: model.graph, where: 'graph' }] : [];
  const nodeLists: { nodes: NodeProto[]; where: string }[] = (model.functions ?? []).map((f) => ({ nodes: f.node ?? [], where: `function '${f.name}'` }));
  const sparse = (s: onnx.ISparseTensorProto | null | undefined, where: string) => {
    if (s?.values) out.push({ tensor: s.values, where: `${where} (sparse values)` });
    if (s?.indices) out.push({ tensor: s.indices, where: `${where} (sparse indices)` });
  };
  while (graphs.length || nodeLists.length) {
    const next = graphs.pop();
    if (next) {
      const { g, where } = next;
      for (const t of g.initializer ?? []) out.push({ tensor: t, where: `initializer '${t.name}'` });
      for (const s of g.sparseInitializer ?? []) sparse(s, `sparse initializer '${s.values?.name ?? ''}'`);
      nodeLists.push({ nodes: g.node ?? [], where });
      continue;
    }
    const { nodes } = nodeLists.pop()!;
    for (const node of nodes) {
      const at = `${node.opType} node '${node.name || node.output?.[0] || '?'}'`;
      for (const a of node.attribute ?? []) {
        if (a.t) out.push({ tensor: a.t, where: `${at} attribute '${a.name}'` });
        for (const t of a.tensors ?? []) out.push({ tensor: t, where: `${at} attribute '${a.name}'` });
        sparse(a.sparseTensor, `${at} attribute '${a.name}'`);
        for (const st of a.sparseTensors ?? []) sparse(st, `${at} attribute '${a.name}'`);
        if (a.g) graphs.push({ g: a.g, where: `subgraph '${a.name}' of ${at}` });
        for (const g of a.graphs ?? []) graphs.push({ g, where: `subgraph '${a.name}' of ${at}` });
      }
    }
  }
  return out;
}

const isExternal = (t: TensorProto) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0;

/**
 * Reads the external data of every tensor of the model into rawData, so the model is self-contained
 * and onnxruntime never resolves a location itself (it would resolve it against the working folder).
 * A location that leaves the model's folder, a file that is not a regular file, or an offset or
 * length outside the file is refused: a model file must not read files elsewhere.
 */
export function inlineExternalData(model: ModelProto, modelDir: string): void {
  const root = fs.realpathSync(modelDir);
  const opened = new Map<string, { fd: number; size: number }>();
  let total = 0;
  try {
    for (const { tensor: t, where } of allTensors(model)) {
      if (!isExternal(t)) continue;
      const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
      const location = entries.get('location');
      if (!location) throw new ModelFormatError(`${where} has external data without a location`);
      const file = resolveInside(root, location, where);
      let handle = opened.get(file);
      if (!handle) { handle = openRegular(file, 'external-data'); opened.set(file, handle); }
      const offset = byteCount(entries.get('offset') ?? '0', where, 'offset');
      const length = entries.has('length') ? byteCount(entries.get('length')!, where, 'length') : handle.size - offset;
      if (offset + length > handle.size || length < 0) {
        throw new ModelFormatError(`external data '${location}' of ${where} is truncated (bytes ${offset}..${offset + length} of a ${handle.size}-byte file)`, { file, role: 'external-data' });
      }
      total += length;
      if (total > MAX_BYTES.model) throw new ModelFormatError(`the model's external data exceeds ${MAX_BYTES.model} bytes, more than one ONNX model can hold once inlined`);
      const buf = Buffer.alloc(length);
      const read = fs.readSync(handle.fd, buf, 0, length, offset);
      if (read !== length) {
        throw new ModelFormatError(`external data '${location}' of ${where} is truncated (${read} of ${length} bytes)`, { file, role: 'external-data' });
      }
      t.rawData = buf;
      t.externalData = [];
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    }
  } finally {
    for (const { fd } of opened.values()) fs.closeSync(fd);
  }
}

function byteCount(v: string, where: string, key: string): number {
  if (!/^\d{1,15}$/.test(v.trim())) throw new ModelFormatError(`${where} has an external data ${key} of '${v}', not a byte count`);
  return Number(v);
}

function resolveInside(root: string, location: string, where: string): string {
  const candidate = path.resolve(root, location);
  if (path.isAbsolute(location) || !candidate.startsWith(root + path.sep)) {
    throw new ModelFormatError(`${where} points at external data '${location}' outside the model's folder; refused`, { role: 'external-data' });
  }
  if (!fs.existsSync(candidate)) {
    throw new ModelFormatError(`external data file '${location}' of ${where} is missing; it must sit next to the model file`, { file: candidate, role: 'external-data' });
  }
  const real = fs.realpathSync(candidate);
  if (!real.startsWith(root + path.sep)) {
    throw new ModelFormatError(`external data '${location}' of ${where} is a link out of the model's folder; refused`, { role: 'external-data' });
  }
  return real;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function opsetOf(model: ModelProto): number {
  const def = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return def ? toNumber(def.version) : 1;
}
