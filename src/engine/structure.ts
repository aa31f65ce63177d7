// Reads a ViT's structure off its graph: the image input, the logits, every encoder block's FFN
// neurons (fc2's input, plain or gated) and the patch grid. See docs/method.md. The readout
// rows are found by readout.ts.
import { EngineError } from './errors';
import { attrInt, attrInts, attrString } from './onnx/builder';
import type { GraphIndex } from './onnx/graph';
import { DataType, ModelFormatError, toNumber, type GraphProto, type NodeProto } from './onnx/proto';
import type { ProbeResult } from './onnx/probe';
import { tensorValues } from './onnx/tensor';

export interface ImageInput { name: string; channels: number; height: number; width: number; fixedBatch: boolean }

export type FfnKind = 'plain' | 'gated';

/**
 * A block's neurons: the tensor fc2 reads (for a gated FFN, the product act(gate) * up), and for a
 * plain FFN the activation's input (fc1's output, before a separate bias), which the activation
 * rises with wherever it is positive.
 */
export interface NeuronSite {
  layer: number; tensor: string; nodeIndex: number; activation: string; ffn: FfnKind;
  fc2: string;                        // the output projection's node name (its output when unnamed)
  linears: string[];                  // the FFN's input linear(s): fc1, or gate and up (or the fused one)
  activationNode: string;             // the nonlinearity's node name
  preActivation?: string;             // a plain FFN's activation input
}

export class NotAViTError extends ModelFormatError {
  constructor(message: string) { super(message, {}, 'not-a-vit'); this.name = 'NotAViTError'; }
}

/** A transformer the method does not define a path for (token rows that change between blocks). */
export class MethodUndefinedError extends ModelFormatError {
  constructor(message: string) { super(message, {}, 'method-undefined'); this.name = 'MethodUndefinedError'; }
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
    throw new NotAViTError(`input '${input.name}' has ONNX element type ${input.type?.tensorType?.elemType}, not float; Neuron Path needs float pixel ` +
      'values (a float32 model, or float16/bfloat16, which is upcast): export the model with a float pixel input, normalisation inside or not.');
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
 * a softmax is read before it, since F is the softmax of the logits.
 */
export function logitsOutput(graph: GraphProto, index: GraphIndex, probe: ProbeResult): { name: string; output: string; softmaxed: boolean; numClasses: number } {
  const outputs = graph.output ?? [];
  const ranked = outputs.filter((o) => probe.shapes.get(o.name ?? '')?.length === 2);
  const chosen = ranked.find((o) => /logit/i.test(o.name ?? '')) ?? ranked[0];
  if (!chosen) throw new NotAViTError('no model output has the shape [batch, classes]; a classifier is expected.');
  if (!probe.floats.has(chosen.name ?? '')) {
    throw new NotAViTError(`output '${chosen.name}' is not float; Neuron Path needs float logits (a float32 model, or float16/bfloat16, which is upcast).`);
  }
  const producer = index.producerThrough(chosen.name ?? '');
  const softmaxed = producer?.opType === 'Softmax';
  const output = chosen.name ?? '';
  return { name: softmaxed ? producer.input![0] : output, output, softmaxed, numClasses: probe.shapes.get(output)![1] };
}

const LINEAR = new Set(['MatMul', 'Gemm']);
/** Ops an FFN's hidden units pass through between fc1 (or gate and up) and fc2: activations, the gating product, an optional norm. */
const FFN_OPS = new Set(['Mul', 'Add', 'Div', 'Sub', 'Neg', 'Pow', 'Sqrt', 'Reciprocal', 'Erf', 'Tanh', 'Sigmoid', 'HardSigmoid',
  'HardSwish', 'Softplus', 'Relu', 'Gelu', 'Identity', 'Cast', 'Dropout', 'LayerNormalization']);
const NONLINEAR = new Set(['Erf', 'Tanh', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Softplus', 'Relu', 'Gelu']);

/** A linear layer: MatMul or Gemm with a constant weight (attention's MatMuls multiply two activations). */
function isLinear(node: NodeProto | undefined, index: GraphIndex): boolean {
  return !!node && LINEAR.has(node.opType ?? '') && index.isConstant(node.input![1]);
}

const describe = (node: NodeProto) => `${node.opType} '${node.name || node.output![0]}'`;

type FfnChain = { activation: string; ffn: FfnKind; linears: string[]; activationNode: string; preActivation?: string } | { reason: string };

/**
 * What a linear layer's input is made of. An FFN's fc2 reads, through elementwise ops (and at most a
 * norm), a nonlinearity of one linear layer's output (plain: fc1), or the product of two branches
 * (gated: act(gate(x)) * up(x)), where gate and up are two linears reading the same tensor or two
 * chunks (Split, or Slice along the last axis) of one fused linear. Attention outputs reach Softmax,
 * Transpose and Reshape; a head reads a token Gather or a mean over tokens; neither passes.
 */
function ffnChain(tensor: string, index: GraphIndex, probe: ProbeResult): FfnChain {
  const origins = new Map<string, string>();         // linear or chunk output -> the linear it comes from
  const nonlinear: NodeProto[] = [];
  let reason = '';
  walkUp(index, tensor, (name, node) => {
    if (!node) { reason = `it depends on the graph input '${name}' without a linear layer in between`; return 'fail'; }
    const op = node.opType ?? '';
    if (isLinear(node, index)) { origins.set(name, node.name || name); return 'stop'; }
    const chunkOf = op === 'Split' || op === 'Slice' ? chunkSource(node, index, probe) : undefined;
    if (chunkOf) { origins.set(name, chunkOf); return 'stop'; }
    if (op === 'ReduceMean' && lastAxisOnly(node, index, probe)) return 'up';
    if (!FFN_OPS.has(op)) { reason = `it is made through ${describe(node)}, which is not part of an FFN`; return 'fail'; }
    if (NONLINEAR.has(op)) nonlinear.push(node);
    return 'up';
  });
  if (reason) return { reason };
  if (nonlinear.length === 0) return { reason: 'there is no activation between it and the linear layer(s) before it' };
  const linears = [...new Set(origins.values())];
  const activationNode = nonlinear[0].name || nonlinear[0].output![0];
  if (origins.size === 1 && linears.length === 1 && !isChunk(index, [...origins.keys()][0])) {
    return { activation: plainActivation(nonlinear[0], index), ffn: 'plain', linears, activationNode, preActivation: [...origins.keys()][0] };
  }
  if (origins.size === 2) {
    const [a, b] = [...origins.keys()];
    const fused = isChunk(index, a) && isChunk(index, b) && linears.length === 1;
    const pair = !isChunk(index, a) && !isChunk(index, b) && index.producer.get(a)!.input![0] === index.producer.get(b)!.input![0];
    if (fused || pair) return { activation: gatedActivation(nonlinear[0], index), ffn: 'gated', linears, activationNode };
  }
  return { reason: `it combines ${origins.size} linear outputs (${[...origins.keys()].map((o) => `'${o}'`).join(', ')}), not one (plain FFN) or a gate/up pair of the same input (gated FFN)` };
}

function isChunk(index: GraphIndex, name: string): boolean {
  const op = index.producer.get(name)?.opType;
  return op === 'Split' || op === 'Slice';
}

/** The linear a Split/Slice along the last axis chunks (through its bias Add), or undefined. */
function chunkSource(node: NodeProto, index: GraphIndex, probe: ProbeResult): string | undefined {
  let x = node.input![0];
  const rank = probe.shapes.get(x)?.length ?? 0;
  const axis = node.opType === 'Split' ? attrInt(node, 'axis', 0) : constInts(index, probe, node.input![3]);
  const axes = typeof axis === 'number' ? [axis] : axis;
  if (!axes || axes.length !== 1 || (axes[0] !== -1 && axes[0] !== rank - 1)) return undefined;
  for (let producer = index.producer.get(x); producer && !isLinear(producer, index); producer = index.producer.get(x)) {
    const op = producer.opType;
    const varying = (producer.input ?? []).filter((i) => i && !index.isConstant(i));
    if (!(op === 'Add' || op === 'Identity' || op === 'Cast') || varying.length !== 1) return undefined;
    x = varying[0];
  }
  const linear = index.producer.get(x);
  return linear && isLinear(linear, index) ? linear.name || x : undefined;
}

function lastAxisOnly(node: NodeProto, index: GraphIndex, probe: ProbeResult): boolean {
  const axes = attrInts(node, 'axes') ?? constInts(index, probe, node.input![1]);
  const rank = probe.shapes.get(node.input![0])?.length ?? 0;
  return !!axes && axes.length === 1 && (axes[0] === -1 || axes[0] === rank - 1);
}

function constInts(index: GraphIndex, probe: ProbeResult, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = index.constantThrough(name);
  return t ? tensorValues(t) : probe.ints.get(name);
}

function plainActivation(node: NodeProto, index: GraphIndex): string {
  switch (node.opType) {
    case 'Erf': return 'gelu-erf';
    case 'Tanh': return 'gelu-tanh';
    case 'Gelu': return attrString(node, 'approximate', 'none') === 'tanh' ? 'gelu-tanh' : 'gelu';
    case 'Relu': return 'relu';
    case 'Sigmoid': {
      // QuickGELU is x * sigmoid(1.702 x); SiLU is x * sigmoid(x).
      const scaled = index.producer.get(node.input![0]);
      const k = scaled?.opType === 'Mul' ? (scaled.input ?? []).map((i) => index.constantThrough(i)).find(Boolean) : undefined;
      return k && Math.abs(tensorValues(k)[0] - 1.702) < 1e-3 ? 'quickgelu' : 'silu';
    }
    default: return (node.opType ?? '').toLowerCase();
  }
}

function gatedActivation(node: NodeProto, index: GraphIndex): string {
  const act = plainActivation(node, index);
  return act === 'silu' ? 'swiglu' : act.startsWith('gelu') ? 'geglu' : act === 'relu' ? 'reglu' : `${act}-glu`;
}

export interface SiteSearch {
  sites: NeuronSite[];               // the blocks' FFNs, in graph order
  head: NeuronSite[];                // FFNs after the blocks over a learned query's rows: not blocks, left out of the path
  leftOut?: string;                  // why `head` is left out, in words (when it is not empty)
  rejected: string[];                // every other linear over [batch, rows, width] and why it is not an fc2
}

/** The tensors computed from the image input: the only ones a block's tokens can be. */
function imageDependent(graph: GraphProto, index: GraphIndex): Set<string> {
  const dependent = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => !index.isConstant(n)));
  for (const node of graph.node ?? []) {
    if ((node.input ?? []).some((i) => dependent.has(i))) for (const o of node.output ?? []) if (o) dependent.add(o);
  }
  return dependent;
}

/**
 * The neurons of every block: the input of each FFN's output projection fc2 (docs/method.md), found as
 * the data input of a linear layer over [batch, tokens, width] that `ffnChain` recognises and that is
 * computed from the image. An MLP inside attention over a constant table (timm's relative-position
 * MLP over log coordinates, Swin-V2's continuous position bias) computes a parameter of the attention,
 * the same for every image: it is not a block's FFN over the token rows.
 */
export function findSites(graph: GraphProto, index: GraphIndex, probe: ProbeResult): SiteSearch {
  const nodes = graph.node ?? [];
  const position = new Map(nodes.map((n, i) => [n, i]));
  const fromImage = imageDependent(graph, index);
  const seen = new Set<string>();
  const found: NeuronSite[] = [];
  const rejected: string[] = [];
  for (const node of nodes) {
    if (!isLinear(node, index)) continue;
    const tensor = node.input![0];
    const shape = probe.shapes.get(tensor);
    if (seen.has(tensor) || !shape || shape.length !== 3) continue;
    seen.add(tensor);
    if (!fromImage.has(tensor)) {
      rejected.push(`${describe(node)} reads '${tensor}' [${shape.join(',')}]: it does not depend on the image (an MLP over a constant table, ` +
        'such as a relative-position MLP inside attention, computes a parameter, not the tokens)');
      continue;
    }
    const chain = ffnChain(tensor, index, probe);
    if ('reason' in chain) { rejected.push(`${describe(node)} reads '${tensor}' [${shape.join(',')}]: ${chain.reason}`); continue; }
    const producer = index.producer.get(tensor)!;
    found.push({ layer: 0, tensor, nodeIndex: position.get(producer)!, activation: chain.activation, ffn: chain.ffn, fc2: node.name || node.output![0],
      linears: chain.linears, activationNode: chain.activationNode, preActivation: chain.preActivation });
  }
  found.sort((a, b) => a.nodeIndex - b.nodeIndex);
  if (found.length === 0) return { sites: [], head: [], rejected };
  // The blocks: the longest run of consecutive FFNs over the same rows.
  const rows = (s: NeuronSite) => probe.shapes.get(s.tensor)![1];
  let start = 0, end = 0;
  for (let i = 0, j = 0; i < found.length; i = j) {
    for (j = i + 1; j < found.length && rows(found[j]) === rows(found[i]); j++);
    if (j - i > end - start) { start = i; end = j; }
  }
  const sites = found.slice(start, end), head = found.slice(end);
  sites.forEach((s, i) => { s.layer = i; });
  const width = (s: NeuronSite) => probe.shapes.get(fc2Output(s, index))?.at(-1);
  const blocks = `${sites.length} blocks (${sites[0].fc2} .. ${sites[sites.length - 1].fc2}) read ${rows(sites[0])} token rows of width ${width(sites[0])}`;
  // After the blocks, FFNs over the rows of a learned query token of the blocks' width, which reads
  // the token rows through attention (CaiT's and XCiT's class-attention blocks, an attention-pool
  // head), are left out of the path; any other FFN means the token rows themselves change.
  const queryRows = learnedTokenRows(index, width(sites[0]));
  const stray = [...found.slice(0, start), ...head.filter((h) => !(rows(h) < rows(sites[0]) && width(h) === width(sites[0]) && queryRows.has(rows(h))))][0];
  if (stray) {
    throw new MethodUndefinedError('the token rows change between blocks (tokens merged or pooled between stages, as in Swin or PiT), and the ' +
      'influential neuron path is defined for one sequence of blocks over the same token rows (one FFN neuron per block, read at the same rows): ' +
      `${blocks}, but the FFN ${stray.fc2} ${found.indexOf(stray) < start ? 'before' : 'after'} them reads [${probe.shapes.get(stray.tensor)!.join(',')}] ` +
      `and writes width ${width(stray)}.`);
  }
  if (head.length === 0) return { sites, head, rejected };
  const leftOut = `${head.length} FFN${head.length > 1 ? 's' : ''} after the ${sites.length} blocks (${head.map((h) => h.fc2).join(', ')}) ` +
    `read ${rows(head[0])} row${rows(head[0]) > 1 ? 's' : ''} of a learned query token, not the ${rows(sites[0])} token rows: ` +
    'class-attention blocks (as in CaiT and XCiT) or an attention-pool head, which read the tokens through attention. ' +
    'The path runs through the blocks over the token rows; these FFNs\' neurons are not on it.';
  return { sites, head, leftOut, rejected };
}

/** The tensor an FFN's fc2 writes (its MatMul or Gemm output). */
function fc2Output(site: NeuronSite, index: GraphIndex): string {
  return index.consumersOf(site.tensor).find((n) => isLinear(n, index))!.output![0];
}

/** Row counts of the learned tokens of a given width: constants [1, rows, width] (class tokens, latent queries). */
function learnedTokenRows(index: GraphIndex, width: number | undefined): Set<number> {
  const found = new Set<number>();
  for (const t of index.constants.values()) {
    const dims = (t.dims ?? []).map(Number);
    if (dims.length === 3 && dims[0] === 1 && dims[2] === width) found.add(dims[1]);
  }
  return found;
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

/**
 * The patch grid [gh, gw]: the spatial output of the patch embedding, the last Conv before block
 * 0's FFN whose gh*gw fits in the tokens. Without one (a Linear patch embedding), the finest grid of
 * square patches that divides the image and fits in the tokens.
 */
export function findPatchGrid(graph: GraphProto, probe: ProbeResult, firstSite: NeuronSite, tokens: number, input: ImageInput): { grid: [number, number]; source: 'graph' | 'image size' } {
  const nodes = (graph.node ?? []).slice(0, firstSite.nodeIndex);
  for (const node of nodes.reverse()) {
    if (node.opType !== 'Conv') continue;
    const s = probe.shapes.get(node.output![0]);
    if (s && s.length === 4 && s[2] * s[3] <= tokens) return { grid: [s[2], s[3]], source: 'graph' };
  }
  for (let p = 1; p <= Math.min(input.height, input.width); p++) {
    if (input.height % p || input.width % p) continue;
    const grid: [number, number] = [input.height / p, input.width / p];
    if (grid[0] * grid[1] <= tokens) return { grid, source: 'image size' };
  }
  return { grid: [1, tokens], source: 'image size' };
}
