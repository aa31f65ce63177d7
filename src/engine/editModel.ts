// An intervention built into a plain ONNX model, so any onnxruntime runs the edited model without
// Neuron Path: at every row the factors are folded into fc2's weight (the neuron j is fc2's input
// unit j: row j of a MatMul weight [D, W], column j of a Gemm weight with transB); at the readout
// rows a constant mask [T, D] multiplies fc2's input. Inputs and outputs stay as they were.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError, invalidOption } from './errors';
import { readRegular, sameFile, writeAtomic } from './files';
import { checkIntervention, type Intervention } from './intervene';
import { removeIdentities } from './onnx/bounds';
import { attrInt, GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import { refuseQuantized, upcastToFloat32 } from './onnx/precision';
import { probeModel, probePixels } from './onnx/probe';
import { DataType, decodeModel, encodeModel, inlineExternalData, opsetOf, toNumber, type NodeProto, type TensorProto } from './onnx/proto';
import { findSites, imageInput } from './structure';
import type { ModelInfo } from './api';
import { FILES } from './modelFolder';
import { locateModel } from './modelLocation';

/** What the edited model was told to do, as its metadata records it. */
export const EDIT_METADATA_KEY = 'neuron-path.intervention';

export interface EditTarget {
  modelPath: string;
  sha256: string;               // of the model file, recorded in the metadata
  readoutRows: number[];        // the rows the engine reads the neurons at (its scope)
  tokens: number;
  neurons: number;
  layers: number;
  sizeHint?: [number, number];
}

export interface EditedModel {
  bytes: Uint8Array;
  /** Per edited block: its factors folded into fc2's weight, or a Mul inserted before fc2. */
  blocks: { layer: number; fc2: string; how: 'weights' | 'mask' }[];
}

export async function editModel(target: EditTarget, intervention: Intervention): Promise<EditedModel> {
  const { layers, neurons: D, tokens: T } = target;
  checkIntervention(intervention, layers, D);
  const file = path.resolve(target.modelPath);
  const model = decodeModel(readRegular(file, 'model'), file);
  inlineExternalData(model, path.dirname(file));
  refuseQuantized(model.graph!);
  const precision = upcastToFloat32(model);
  if (precision !== 'float32') {
    throw new EngineError('invalid-option', `the model is stored in ${precision}; an edited model is written for float32 models only ` +
      '(export the model in float32 and edit that)', { field: 'model' });
  }
  removeIdentities(model);
  const graph = model.graph!;
  const input = imageInput(graph, target.sizeHint);
  const probe = await probeModel(model, { [input.name]: probePixels(input, 1) }, 1, { threads: 1 });
  const { sites } = findSites(graph, new GraphIndex(graph), probe);
  if (sites.length !== layers) {
    throw new EngineError('model-format', `the model's ${sites.length} FFN blocks are not the ${layers} the analysis found; edit the model the analysis opened`);
  }
  const index = new GraphIndex(graph);
  const b = new GraphBuilder(graph, opsetOf(model), 'np_edit/');
  const inserts = new Map<NodeProto, NodeProto[]>();
  const blocks: EditedModel['blocks'] = [];
  for (const site of sites) {
    const mine = intervention.settings.filter((s) => s.layer === site.layer);
    if (!mine.length) continue;
    const fc2 = index.consumersOf(site.tensor).find((n) => (n.name || n.output![0]) === site.fc2)!;
    const factors = new Float32Array(D).fill(1);
    for (const s of mine) factors[s.neuron] = s.factor;
    if (intervention.rows === 'all' && foldIntoWeight(fc2, index, factors)) {
      blocks.push({ layer: site.layer, fc2: site.fc2, how: 'weights' });
      continue;
    }
    // A Mul right after the activation's producer, as the instrumented model does it.
    const mask = intervention.rows === 'all' ? Array.from(factors) : rowMask(factors, target.readoutRows, T);
    const producer = index.producer.get(site.tensor)!;
    const orig = `${site.tensor}/np_edit_in`;
    producer.output = producer.output!.map((o) => (o === site.tensor ? orig : o));
    b.node('Mul', [orig, b.floats(mask, intervention.rows === 'all' ? [D] : [T, D], 'factors')], {}, [site.tensor]);
    inserts.set(producer, b.added.splice(0));
    blocks.push({ layer: site.layer, fc2: site.fc2, how: 'mask' });
  }
  graph.node = (graph.node ?? []).flatMap((n) => [n, ...(inserts.get(n) ?? [])]);
  (model.metadataProps ??= []).push({
    key: EDIT_METADATA_KEY,
    value: JSON.stringify({ source: path.basename(file), sourceSha256: target.sha256, rows: intervention.rows, readoutRows: target.readoutRows, settings: intervention.settings, blocks }),
  });
  return { bytes: encodeModel(model), blocks };
}

/** Factors [D] at the readout rows, ones elsewhere: [T, D] row-major. */
function rowMask(factors: Float32Array, rows: number[], T: number): number[] {
  const D = factors.length;
  const mask = new Array<number>(T * D).fill(1);
  for (const r of rows) for (let j = 0; j < D; j++) mask[r * D + j] = factors[j];
  return mask;
}

/**
 * Scales fc2's weight in place where it is a float32 initializer that only fc2 reads: input unit j
 * is row j of a MatMul weight [D, W] (and of Gemm without transB), column j of Gemm with transB.
 * Returns false where it is not (a shared or computed weight): the caller inserts a Mul instead.
 */
function foldIntoWeight(fc2: NodeProto, index: GraphIndex, factors: Float32Array): boolean {
  const name = fc2.input![1];
  const weight = index.constants.get(name);
  if (!weight || weight.dataType !== DataType.FLOAT || index.consumersOf(name).length !== 1) return false;
  if (!index.graph.initializer?.includes(weight)) return false;
  const dims = (weight.dims ?? []).map((d) => toNumber(d as number));
  if (dims.length !== 2) return false;
  const transposed = fc2.opType === 'Gemm' && attrInt(fc2, 'transB', 0) === 1;
  const [rows, cols] = dims;
  if ((transposed ? cols : rows) !== factors.length) return false;
  const values = floatValues(weight);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] *= factors[transposed ? c : r];
  weight.floatData = [];
  weight.rawData = new Uint8Array(values.buffer);
  return true;
}

function floatValues(t: TensorProto): Float32Array {
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(t.floatData ?? []);
}

/**
 * Writes the edited model to `out` (through a temporary file, never over the model or its configs)
 * and copies the configs the model is read with (preprocessing, labels; the nearest of each name,
 * as the model folder is read) beside it, so it opens as the original does. A config already there
 * with other content is not overwritten.
 */
export async function writeEditedModel(engine: { info: ModelInfo; editedModel(intervention: Intervention): Promise<EditedModel> }, intervention: Intervention, out: string): Promise<EditedModel & { out: string; copied: string[] }> {
  const target = path.resolve(out);
  const source = engine.info.path;
  const { dirs } = locateModel(source);
  const configs = Object.values(FILES).flatMap((name) => {
    const found = dirs.map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
    return found ? [found] : [];
  });
  if ([source, ...configs].some((i) => i === target || sameFile(i, target))) {
    throw invalidOption(`${target} is the model or one of its configs: write the edited model to another file`, 'out');
  }
  const outDir = path.dirname(target);
  const copies = configs.filter((f) => path.dirname(f) !== outDir);
  for (const f of copies) {
    const there = path.join(outDir, path.basename(f));
    if (fs.existsSync(there) && !fs.readFileSync(there).equals(fs.readFileSync(f))) {
      throw invalidOption(`${there} exists and differs from the model's ${f}: write the edited model to another folder`, 'out');
    }
  }
  const edited = await engine.editedModel(intervention);
  writeAtomic(target, 'output', [edited.bytes]);
  for (const f of copies) writeAtomic(path.join(outDir, path.basename(f)), 'output', [readRegular(f, 'preprocessor')]);
  return { ...edited, out: target, copied: copies.map((f) => path.basename(f)) };
}
