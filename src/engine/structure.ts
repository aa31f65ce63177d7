// Reads a ViT's structure off its graph: the image input, the logits, every encoder block's FFN
// activation (the neurons) and the readout scope (which tokens the head reads). ALGORITHM §1.
import { EngineError } from './errors';
import type { Scope } from './result';
import { attrInt, attrString } from './onnx/builder';
import type { GraphIndex } from './onnx/graph';
import { DataType, ModelFormatError, toNumber, type GraphProto, type NodeProto } from './onnx/proto';
import type { ProbeResult } from './onnx/probe';

export interface ImageInput { name: string; channels: number; height: number; width: number; fixedBatch: boolean }

export interface NeuronSite { layer: number; tensor: string; nodeIndex: number; activation: string }

export interface Structure {
  input: ImageInput;
  logits: string;                    // the tensor F is the softmax of
  output: string;                    // the model output it was read from
  outputIsSoftmax: boolean;          // the model already ends in a softmax
  numClasses: number;
  sites: NeuronSite[];
  tokens: number;
  neurons: number;
  scope: Scope;
  detectedScope: Scope | undefined;
}

export class NotAViTError extends ModelFormatError {
  constructor(message: string) { super(message, {}, 'not-a-vit'); this.name = 'NotAViTError'; }
}

export function imageInput(graph: GraphProto, sizeHint?: [number, number]): ImageInput {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) {
    throw new NotAViTError(`the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); ` +
      'an image classifier with a single pixel input [batch, channels, height, width] is expected.');
  }
  const input = inputs[0];
  if (input.type?.tensorType?.elemType !== DataType.FLOAT) {
    throw new NotAViTError(`input '${input.name}' is not float32; Neuron Path needs a float32 model (export without half precision).`);
  }
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  if (dims.length !== 4) {
    throw new NotAViTError(`input '${input.name}' has rank ${dims.length}; a pixel input [batch, channels, height, width] is expected.`);
  }
  const fixed = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue as number) > 0
    ? toNumber(d.dimValue as number) : undefined));
  const height = fixed[2] ?? sizeHint?.[0];
  const width = fixed[3] ?? sizeHint?.[1];
  if (!height || !width) {
    throw new EngineError('preprocessing', `input '${input.name}' does not fix its height and width, and no input size is given ` +
      '(preprocessor_config.json "size", or a size override)', { field: 'size' });
  }
  const channels = fixed[1] ?? 3;
  if (fixed[0] !== undefined && fixed[0] !== 1) {
    throw new NotAViTError(`input '${input.name}' has a fixed batch of ${fixed[0]}; export with batch 1 or a dynamic batch axis.`);
  }
  return { name: input.name ?? '', channels, height, width, fixedBatch: fixed[0] === 1 };
}

/**
 * The logits: the [batch, classes] output (named *logit* if several). A model that already ends in
 * a softmax is read before it, since F is the softmax of the logits (ALGORITHM §2).
 */
export function logitsOutput(graph: GraphProto, index: GraphIndex, probe: ProbeResult): { name: string; output: string; softmaxed: boolean; numClasses: number } {
  const outputs = graph.output ?? [];
  const ranked = outputs.filter((o) => probe.shapes.get(o.name ?? '')?.length === 2);
  const chosen = ranked.find((o) => /logit/i.test(o.name ?? '')) ?? ranked[0];
  if (!chosen) throw new NotAViTError('no model output has the shape [batch, classes]; a classifier is expected.');
  if (!probe.floats.has(chosen.name ?? '')) {
    throw new NotAViTError(`output '${chosen.name}' is not float32; Neuron Path needs a float32 model (export without half precision).`);
  }
  const producer = index.producerThrough(chosen.name ?? '');
  const softmaxed = producer?.opType === 'Softmax';
  const output = chosen.name ?? '';
  return { name: softmaxed ? producer.input![0] : output, output, softmaxed, numClasses: probe.shapes.get(output)![1] };
}

const ELEMENTWISE = new Set(['Mul', 'Add', 'Div', 'Sub', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Gelu', 'Pow', 'Identity', 'Cast']);
const NONLINEAR: Record<string, string> = { Erf: 'gelu-erf', Tanh: 'gelu-tanh', Sigmoid: 'quickgelu', Relu: 'relu', Gelu: 'gelu' };
const LINEAR = new Set(['MatMul', 'Gemm']);

/**
 * An FFN activation output is the data input of a linear layer (fc2) that is produced by a chain of
 * elementwise ops containing a nonlinearity, whose only non-constant source is another linear layer
 * (fc1). That is true of GELU in every export form, tanh-GELU, QuickGELU and ReLU, and of nothing
 * else in a ViT (attention reads MatMul outputs through Softmax/Reshape, the head reads a LayerNorm).
 */
export function findSites(graph: GraphProto, index: GraphIndex, probe: ProbeResult): NeuronSite[] {
  const nodes = graph.node ?? [];
  const position = new Map(nodes.map((n, i) => [n, i]));
  const seen = new Set<string>();
  const sites: NeuronSite[] = [];
  for (const node of nodes) {
    if (!LINEAR.has(node.opType ?? '') || !index.isConstant(node.input![1])) continue;
    const tensor = node.input![0];
    if (seen.has(tensor)) continue;
    const kind = activationChain(tensor, index);
    if (!kind) continue;
    const shape = probe.shapes.get(tensor);
    if (!shape || shape.length !== 3) continue;
    seen.add(tensor);
    sites.push({ layer: 0, tensor, nodeIndex: position.get(index.producer.get(tensor)!)!, activation: kind });
  }
  sites.sort((a, b) => a.nodeIndex - b.nodeIndex);
  sites.forEach((s, i) => { s.layer = i; });
  return sites;
}

/** Depth-first walk from a tensor up through its producers; `visit` says whether to go further up. */
function walkUp(index: GraphIndex, start: string, visit: (name: string, node: NodeProto | undefined) => 'up' | 'stop' | 'fail'): boolean {
  const stack = [start];
  const visited = new Set<string>();
  while (stack.length) {
    const name = stack.pop()!;
    if (visited.has(name)) continue;
    visited.add(name);
    const node = index.producer.get(name);
    const step = visit(name, node);
    if (step === 'fail') return false;
    if (step === 'up' && node) for (const i of node.input ?? []) if (i && !index.isConstant(i)) stack.push(i);
  }
  return true;
}

function activationChain(tensor: string, index: GraphIndex): string | undefined {
  let kind: string | undefined;
  const sources = new Set<string>();
  const ok = walkUp(index, tensor, (name, node) => {
    if (!node) return 'fail';
    const op = node.opType ?? '';
    if (LINEAR.has(op)) { sources.add(name); return 'stop'; }
    if (!ELEMENTWISE.has(op)) return 'fail';
    if (NONLINEAR[op]) kind = op === 'Gelu' && attrString(node, 'approximate', 'none') === 'tanh' ? 'gelu-tanh' : NONLINEAR[op];
    return 'up';
  });
  // fc1 + bias Add is reached through the Add, leaving the MatMul as the single source.
  return ok && kind && sources.size === 1 ? kind : undefined;
}

/**
 * Walks back from the logits to where the token axis disappears: Gather(index 0) or Slice(0:1) on
 * the token axis reads the CLS token; a mean over Slice(1:) reads the patch tokens.
 */
export function detectScope(index: GraphIndex, probe: ProbeResult, logits: string, tokens: number): Scope | undefined {
  const found = new Set<Scope | 'other'>();
  walkUp(index, logits, (_name, node) => {
    if (!node) return 'stop';
    const tokenInput = (node.input ?? []).find((i) => { const s = probe.shapes.get(i); return s && s.length === 3 && s[1] === tokens; });
    const outShape = probe.shapes.get(node.output![0]) ?? [];
    if (tokenInput && !(outShape.length === 3 && outShape[1] === tokens)) {
      found.add(classifyReadout(node, index, probe, tokens));
      return 'stop';
    }
    return 'up';
  });
  if (found.size !== 1 || found.has('other')) return undefined;
  return [...found][0] as Scope;
}

function classifyReadout(node: NodeProto, index: GraphIndex, probe: ProbeResult, tokens: number): Scope | 'other' {
  const op = node.opType;
  const value = (name: string | undefined) => {
    if (!name) return undefined;
    const t = index.constantThrough(name);
    if (t) return Number(t.int64Data?.[0] ?? (t.rawData && t.rawData.length >= 8 ? Buffer.from(t.rawData).readBigInt64LE(0) : t.int32Data?.[0]));
    return probe.ints.get(name)?.[0];
  };
  if (op === 'Gather' && attrInt(node, 'axis', 0) === 1 && value(node.input![1]) === 0) return 'cls';
  if (op === 'Slice') {
    const start = value(node.input![1]), end = value(node.input![2]), axis = node.input![3] ? value(node.input![3]) : 0;
    if (axis !== 1) return 'other';
    if (start === 0 && end === 1) return 'cls';
    if (start === 1 && end !== undefined && end >= tokens) {
      const next = index.consumersOf(node.output![0]);
      if (next.length === 1 && next[0].opType === 'ReduceMean') return 'patches';
    }
  }
  return 'other';
}
