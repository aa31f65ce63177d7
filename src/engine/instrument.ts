// Turns a ViT into the model the locator runs (docs/method.md, replacing a layer): per block, the readout row(s) of the
// FFN activation can be replaced by an input vector (switch on) or scaled live (manipulation), and
// every row scaled live (an intervention at all rows); the
// target class is an input; the outputs are the probabilities, the clean activations and, from one
// backward graph, dF/d(replacement) of every block summed over the batch, and the same gradient
// un-switched (dF/d(readout activation) of a live pass, for the influence pattern, docs/method.md#baselines).
import { buildBackward } from './autodiff/backward';
import { probeShapes } from './autodiff/probedShapes';
import { tryDynamicBatch } from './batchAxis';
import { GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import type { StoredPrecision } from './onnx/precision';
import { probeModel, probePixels, type ProbeResult } from './onnx/probe';
import { resolvedScope } from './options';
import { DataType, ModelFormatError, onnx, opsetOf, type GraphProto, type ModelProto, type NodeProto } from './onnx/proto';
import { graphReadout, resolveReadout, runsOf } from './readout';
import type { FfnNodes, ScopeSetting } from './result';
import type { Feed, SessionSettings } from './runtime';
import { findPatchGrid, findSites, imageInput, logitsOutput, NotAViTError, type FfnKind, type ImageInput, type NeuronSite } from './structure';

export const NAMES = {
  switch: 'np_switch',
  replace: (l: number) => `np_replace_${l}`,
  scale: (l: number) => `np_scale_${l}`,
  scaleAll: (l: number) => `np_scale_all_${l}`,
  onehot: 'np_onehot',
  probs: 'np_probs',
  act: (l: number) => `np_act_${l}`,
  grad: (l: number) => `np_grad_${l}`,
  liveGrad: (l: number) => `np_live_grad_${l}`,
};

export interface InstrumentOptions {
  scope?: ScopeSetting;
  sizeHint?: [number, number];
  precision?: StoredPrecision;        // what the model was stored in before it was upcast to float32
  settings: SessionSettings;
}

/** What the locator needs to know about an instrumented model; cached beside it as JSON. */
export interface InstrumentedInfo {
  input: ImageInput;
  logits: string;                     // the tensor F is the softmax of
  output: string;                     // the model output it was read from
  outputIsSoftmax: boolean;           // the model already ends in a softmax
  numClasses: number;
  tokens: number;
  neurons: number;
  activation: string;                 // gelu-erf, gelu-tanh, quickgelu, relu, silu, swiglu, geglu, ...
  ffn: FfnKind;
  readoutRows: number[];              // token rows that are replaced and scaled, ascending
  readoutSource: 'graph' | 'setting'; // found from the graph (scope auto) or set by the user
  scope: string;                      // a name for the rows: cls, patches, all, or ranges such as 0,5:21
  graphRows: number[];                // the rows the head reads according to the graph, whatever the setting
  grid: [number, number];             // the patch grid: the last gh*gw tokens
  gridSource: 'graph' | 'image size';
  head: string[];                     // fc2 nodes of FFNs after the blocks over a learned query's rows: not blocks
  blocks: FfnNodes[];                 // per block, the ONNX nodes of its FFN
  leftOut?: string;                   // why `head` is left out of the path, in words
  precision: StoredPrecision;         // the model's stored precision; the analysis always runs in float32
  opset: number;
  batchRewritten: boolean;            // a fixed-batch export whose batch axis was made dynamic (verified)
  rowBytes: number;                   // bytes of the forward tensors that grow with each batch row
}

/** The model as every instrumented graph starts from it: batch axis made dynamic where it can be, probed once, its logits and blocks found. */
export interface PreparedModel {
  model: ModelProto;
  input: ImageInput;
  batchRewritten: boolean;
  clean: ProbeResult;                 // every tensor's shape at batch 1
  logits: ReturnType<typeof logitsOutput>;
  sites: NeuronSite[];
  head: NeuronSite[];
  leftOut?: string;
  tokens: number;
  neurons: number;
  grid: [number, number];
  gridSource: 'graph' | 'image size';
}

export async function prepareModel(exported: ModelProto, sizeHint: [number, number] | undefined, settings: SessionSettings): Promise<PreparedModel> {
  const opset = opsetOf(exported);
  if (opset < 11) throw new ModelFormatError(`the model uses opset ${opset}; re-export it with opset 11 or newer.`);
  let input = imageInput(exported.graph!, sizeHint);
  let model = exported;
  let batchRewritten = false;
  if (input.fixedBatch) {
    const dynamic = await tryDynamicBatch(exported, input, settings);
    if (dynamic) { model = dynamic; input = { ...input, fixedBatch: false }; batchRewritten = true; }
  }
  const graph = model.graph!;
  const clean = await probeModel(model, { [input.name]: probePixels(input, 1) }, 1, settings);
  const index = new GraphIndex(graph);
  const logits = logitsOutput(graph, index, clean);
  const { sites, head, leftOut, rejected } = findSites(graph, index, clean);
  if (sites.length === 0) throw new NotAViTError(noFfnMessage(graph, clean, rejected));
  if (!clean.floats.has(sites[0].tensor)) throw new NotAViTError(`block 0's FFN (${sites[0].fc2}) does not compute in float; Neuron Path needs a float model (float32, or float16/bfloat16, which is upcast).`);
  const [, tokens, neurons] = clean.shapes.get(sites[0].tensor)!;
  const odd = sites.find((s) => { const sh = clean.shapes.get(s.tensor)!; return sh[1] !== tokens || sh[2] !== neurons; });
  if (odd) {
    throw new NotAViTError(`block ${odd.layer}'s FFN (${odd.fc2}) reads [${clean.shapes.get(odd.tensor)!.join(',')}], unlike block 0's ` +
      `[1,${tokens},${neurons}] (${sites[0].fc2}); blocks with different token counts or widths are not supported.`);
  }
  const { grid, source: gridSource } = findPatchGrid(graph, clean, sites[0], tokens, input);
  return { model, input, batchRewritten, clean, logits, sites, head, leftOut, tokens, neurons, grid, gridSource };
}

export async function instrument(exported: ModelProto, options: InstrumentOptions): Promise<{ model: ModelProto; info: InstrumentedInfo }> {
  const prepared = await prepareModel(exported, options.sizeHint, options.settings);
  const { model, input, batchRewritten, clean, sites, head, leftOut, tokens, neurons, grid, gridSource } = prepared;
  const { name: logits, output, softmaxed, numClasses } = prepared.logits;
  const graph = model.graph!;
  const index = new GraphIndex(graph);
  const opset = opsetOf(model);
  const graphRows = await graphReadout(model, input, sites[sites.length - 1], logits, options.settings, clean);
  const readout = resolveReadout(resolvedScope(options), graphRows, tokens, grid);
  if (readout.rows.length === 0) throw new NotAViTError(`the logits do not depend on any token of the last block's FFN (${sites[sites.length - 1].fc2}).`);
  const rows = readout.rows;
  const L = sites.length, K = rows.length, D = neurons, C = numClasses;

  // Forward instrumentation, spliced in right after each activation's producer: the readout rows
  // (contiguous runs, sliced and concatenated) are mixed, the other rows pass unchanged.
  const runs = runsOf(rows);
  const b = new GraphBuilder(graph, opset);
  const mixed: string[] = [];
  const switches: string[] = [];
  const inserts = new Map<NodeProto, NodeProto[]>();
  for (const site of sites) {
    const producer = index.producer.get(site.tensor)!;
    const orig = `${site.tensor}/np_orig`;
    producer.output = producer.output!.map((o) => (o === site.tensor ? orig : o));
    const l = site.layer;
    const live = b.op('Mul', [orig, NAMES.scaleAll(l)]);
    const pieces = runs.map(([start, end]) => b.slice(live, [start], [end], [1]));
    const row = pieces.length === 1 ? pieces[0] : b.op('Concat', pieces, { axis: 1 });
    const scaled = b.op('Mul', [row, NAMES.scale(l)]);
    const sw = b.slice(NAMES.switch, [l], [l + 1], [0]);
    const mix = b.op('Add', [b.op('Mul', [sw, NAMES.replace(l)]), b.op('Mul', [b.op('Sub', [b.float(1), sw]), scaled])]);
    b.node('Concat', reassemble(b, live, mix, runs, tokens), { axis: 1 }, [site.tensor]);
    b.node('Identity', [orig], {}, [NAMES.act(l)]);
    mixed.push(mix);
    switches.push(sw);
    inserts.set(producer, b.added.splice(0));
  }
  graph.node = (graph.node ?? []).flatMap((n) => [n, ...(inserts.get(n) ?? [])]);
  b.node('Softmax', [logits], { axis: 1 }, [NAMES.probs]);
  const forwardNodes = [...graph.node, ...b.added];
  graph.node = forwardNodes;
  b.added.length = 0;

  const dyn = (p: string) => ({ dimParam: p });
  const fixed = (v: number) => ({ dimValue: v });
  const floatInput = (name: string, dims: onnx.TensorShapeProto.IDimension[]) => onnx.ValueInfoProto.create({
    name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims } } },
  });
  graph.input!.push(floatInput(NAMES.switch, [fixed(L)]), floatInput(NAMES.onehot, [dyn('onehot_batch'), fixed(C)]));
  for (let l = 0; l < L; l++) {
    graph.input!.push(floatInput(NAMES.replace(l), [dyn(`replace_batch_${l}`), fixed(K), fixed(D)]),
      floatInput(NAMES.scale(l), [dyn(`scale_batch_${l}`), fixed(1), fixed(D)]),
      floatInput(NAMES.scaleAll(l), [dyn(`scale_all_batch_${l}`), fixed(1), fixed(D)]));
  }
  graph.output = [{ name: NAMES.probs }, ...sites.map((s) => ({ name: NAMES.act(s.layer) }))];

  const info: InstrumentedInfo = {
    input, logits, output, outputIsSoftmax: softmaxed, numClasses: C, tokens, neurons: D,
    activation: sites[0].activation, ffn: sites[0].ffn, readoutRows: rows, readoutSource: readout.source, scope: readout.scope,
    graphRows, grid, gridSource, head: head.map((s) => s.fc2), blocks: sites.map((s) => ({ fc2: s.fc2, linears: s.linears, activation: s.activationNode })), leftOut, precision: options.precision ?? 'float32',
    opset, batchRewritten, rowBytes: 0,
  };
  const shapes = await probeShapes(model, (batch) => neutralFeeds(info, L, probePixels(info.input, batch)), info.input.fixedBatch, options.settings);
  info.rowBytes = shapes.rowBytes;

  // Backward: F = probs[target] per batch row, so the seed of probs is the one-hot input.
  const backIndex = new GraphIndex(graph);
  const grads = buildBackward(b, backIndex, shapes, {
    nodes: forwardNodes, sources: mixed, seeds: new Map([[NAMES.probs, NAMES.onehot]]),
    isFloat: (name) => shapes.isFloat(name),
  });
  for (let l = 0; l < L; l++) {
    const g = grads.get(mixed[l]);
    if (!g) throw new ModelFormatError(`block ${l}'s activation does not reach the logits; the graph is not a ViT classifier.`);
    // dF/dr = sw * dF/dmix, summed over the batch (the m integration steps).
    b.node('Identity', [b.reduceSum(b.op('Mul', [g, switches[l]]), [0], false)], {}, [NAMES.grad(l)]);
    // With every switch off, dF/dmix is the live gradient w.r.t. the readout activation.
    b.node('Identity', [b.reduceSum(g, [0], false)], {}, [NAMES.liveGrad(l)]);
  }
  b.commit();
  graph.output.push(...sites.map((s) => ({ name: NAMES.grad(s.layer) })), ...sites.map((s) => ({ name: NAMES.liveGrad(s.layer) })));
  return { model, info };
}

/** The token axis rebuilt in order: the original rows between the runs, the mixed rows in them. */
function reassemble(b: GraphBuilder, orig: string, mix: string, runs: [number, number][], tokens: number): string[] {
  const parts: string[] = [];
  let at = 0, offset = 0;
  for (const [start, end] of runs) {
    if (start > at) parts.push(b.slice(orig, [at], [start], [1]));
    parts.push(runs.length === 1 ? mix : b.slice(mix, [offset], [offset + end - start], [1]));
    offset += end - start;
    at = end;
  }
  if (at < tokens) parts.push(b.slice(orig, [at], [tokens], [1]));
  return parts;
}

/** Says what was looked at when no block FFN was recognised. */
function noFfnMessage(graph: GraphProto, probe: ProbeResult, rejected: string[]): string {
  const attention = (graph.node ?? []).filter((n) => {
    const s = n.opType === 'Softmax' ? probe.shapes.get(n.output![0]) : undefined;
    return s && s.length === 4 && s[2] === s[3];
  }).length;
  const shown = rejected.slice(0, 12).map((r) => `\n  - ${r}`).join('');
  const more = rejected.length > 12 ? `\n  (and ${rejected.length - 12} more)` : '';
  if (rejected.length === 0) {
    return 'no transformer FFN was found: the graph has no linear layer (MatMul/Gemm with a constant weight) over ' +
      `[batch, tokens, width] and ${attention} attention softmaxes. Neuron Path analyses vision transformers, whose blocks end in an FFN.`;
  }
  return `no transformer FFN was recognised (fc1 -> activation -> fc2, or a gated act(gate) * up -> fc2). The graph has ${attention} ` +
    `attention softmaxes; the ${rejected.length} linear layers over [batch, tokens, width] were looked at:${shown}${more}\n` +
    'If this is a vision transformer, please report the export with this message.';
}

/** Neutral feeds: switches off, replacement zeros, scales one (the model computes as exported). */
export function neutralFeeds(info: InstrumentedInfo, layers: number, pixels: Feed): Record<string, Feed> {
  const K = info.readoutRows.length, D = info.neurons;
  const feeds: Record<string, Feed> = {
    [info.input.name]: pixels,
    [NAMES.switch]: { type: 'float32', data: new Float32Array(layers), dims: [layers] },
    [NAMES.onehot]: { type: 'float32', data: new Float32Array(info.numClasses), dims: [1, info.numClasses] },
  };
  const zeros = new Float32Array(K * D);
  const ones = new Float32Array(D).fill(1);
  for (let l = 0; l < layers; l++) {
    feeds[NAMES.replace(l)] = { type: 'float32', data: zeros, dims: [1, K, D] };
    feeds[NAMES.scale(l)] = { type: 'float32', data: ones, dims: [1, 1, D] };
    feeds[NAMES.scaleAll(l)] = { type: 'float32', data: ones, dims: [1, 1, D] };
  }
  return feeds;
}

