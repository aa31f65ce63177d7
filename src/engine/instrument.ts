// Turns a ViT into the model the locator runs (ALGORITHM §4): per block, the readout row(s) of the
// FFN activation can be replaced by an input vector (switch on) or scaled live (manipulation); the
// target class is an input; the outputs are the probabilities, the clean activations and, from one
// backward graph, dF/d(replacement) of every block summed over the batch, and the same gradient
// un-switched (dF/d(readout activation) of a live pass, for the influence pattern, ALGORITHM §6).
import { buildBackward } from './autodiff/backward';
import { tryDynamicBatch } from './batchAxis';
import type { Shapes } from './autodiff/context';
import { GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import { probeModel, probePixels, type ProbeResult } from './onnx/probe';
import { DataType, ModelFormatError, onnx, opsetOf, type ModelProto, type NodeProto } from './onnx/proto';
import type { Feed, SessionSettings } from './runtime';
import type { Scope } from './result';
import { detectScope, findSites, imageInput, logitsOutput, NotAViTError, type Structure } from './structure';

export const NAMES = {
  switch: 'np_switch',
  replace: (l: number) => `np_replace_${l}`,
  scale: (l: number) => `np_scale_${l}`,
  onehot: 'np_onehot',
  probs: 'np_probs',
  act: (l: number) => `np_act_${l}`,
  grad: (l: number) => `np_grad_${l}`,
  liveGrad: (l: number) => `np_live_grad_${l}`,
};

export interface InstrumentOptions {
  scope?: 'auto' | Scope;
  sizeHint?: [number, number];
  settings: SessionSettings;
}

/** What the locator needs to know about an instrumented model; cached beside it as JSON. */
export interface InstrumentedInfo extends Omit<Structure, 'sites'> {
  activation: string;
  readout: [number, number];          // token rows [start, end) that are replaced and scaled
  opset: number;
  batchRewritten: boolean;            // a fixed-batch export whose batch axis was made dynamic (verified)
  rowBytes: number;                   // bytes of the forward tensors that grow with each batch row
}

export async function instrument(exported: ModelProto, options: InstrumentOptions): Promise<{ model: ModelProto; info: InstrumentedInfo }> {
  const opset = opsetOf(exported);
  if (opset < 11) throw new ModelFormatError(`the model uses opset ${opset}; re-export it with opset 11 or newer.`);
  let input = imageInput(exported.graph!, options.sizeHint);
  let model = exported;
  let batchRewritten = false;
  if (input.fixedBatch) {
    const dynamic = await tryDynamicBatch(exported, input, options.settings);
    if (dynamic) { model = dynamic; input = { ...input, fixedBatch: false }; batchRewritten = true; }
  }
  const graph = model.graph!;
  const clean = await probeModel(model, { [input.name]: probePixels(input, 1) }, 1, options.settings);
  const index = new GraphIndex(graph);
  const { name: logits, output, softmaxed, numClasses } = logitsOutput(graph, index, clean);
  const sites = findSites(graph, index, clean);
  if (sites.length === 0) {
    throw new NotAViTError('no transformer FFN (linear -> GELU/ReLU/QuickGELU -> linear over [batch, tokens, width]) was found; ' +
      'Neuron Path analyses vision transformers.');
  }
  if (!clean.floats.has(sites[0].tensor)) throw new NotAViTError('the FFN activations are not float32; Neuron Path needs a float32 model.');
  const [, tokens, neurons] = clean.shapes.get(sites[0].tensor)!;
  const odd = sites.find((s) => { const sh = clean.shapes.get(s.tensor)!; return sh[1] !== tokens || sh[2] !== neurons; });
  if (odd) throw new NotAViTError(`block ${odd.layer}'s FFN activation has shape [${clean.shapes.get(odd.tensor)}], unlike block 0's [1,${tokens},${neurons}].`);
  const detected = detectScope(index, clean, logits, tokens);
  const scope = options.scope && options.scope !== 'auto' ? options.scope : detected;
  if (!scope) {
    throw new NotAViTError('could not tell whether the head reads the CLS token or the mean of the patch tokens; ' +
      'set the scope explicitly (neuronPath.scope / --scope cls|patches).');
  }
  const readout: [number, number] = scope === 'cls' ? [0, 1] : [1, tokens];
  const L = sites.length, K = readout[1] - readout[0], D = neurons, C = numClasses;

  // Forward instrumentation, spliced in right after each activation's producer.
  const b = new GraphBuilder(graph, opset);
  const mixed: string[] = [];
  const switches: string[] = [];
  const inserts = new Map<NodeProto, NodeProto[]>();
  for (const site of sites) {
    const producer = index.producer.get(site.tensor)!;
    const orig = `${site.tensor}/np_orig`;
    producer.output = producer.output!.map((o) => (o === site.tensor ? orig : o));
    const l = site.layer;
    const row = b.slice(orig, [readout[0]], [readout[1]], [1]);
    const live = b.op('Mul', [row, NAMES.scale(l)]);
    const sw = b.slice(NAMES.switch, [l], [l + 1], [0]);
    const mix = b.op('Add', [b.op('Mul', [sw, NAMES.replace(l)]), b.op('Mul', [b.op('Sub', [b.float(1), sw]), live])]);
    const parts = scope === 'cls' ? [mix, b.slice(orig, [1], [tokens], [1])] : [b.slice(orig, [0], [1], [1]), mix];
    b.node('Concat', parts, { axis: 1 }, [site.tensor]);
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
      floatInput(NAMES.scale(l), [dyn(`scale_batch_${l}`), fixed(1), fixed(D)]));
  }
  graph.output = [{ name: NAMES.probs }, ...sites.map((s) => ({ name: NAMES.act(s.layer) }))];

  const info: InstrumentedInfo = {
    input, logits, output, outputIsSoftmax: softmaxed, numClasses: C, tokens, neurons: D, scope, detectedScope: detected,
    activation: sites[0].activation, readout, opset, batchRewritten, rowBytes: 0,
  };
  const shapes = await probeShapes(model, info, L, options.settings);
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

/** Neutral feeds: switches off, replacement zeros, scale one (the model computes as exported). */
export function neutralFeeds(info: InstrumentedInfo, layers: number, pixels: Feed): Record<string, Feed> {
  const K = info.readout[1] - info.readout[0], D = info.neurons;
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
  }
  return feeds;
}

async function probeShapes(model: ModelProto, info: InstrumentedInfo, layers: number, settings: SessionSettings): Promise<Shapes & { isFloat(name: string): boolean; rowBytes: number }> {
  const run = (batch: number) => probeModel(model, neutralFeeds(info, layers, probePixels(info.input, batch)), batch, settings);
  const one = await run(1);
  const two: ProbeResult = info.input.fixedBatch ? one : await run(2);
  const constants = new GraphIndex(model.graph!).constants;
  const constShape = (name: string) => {
    const t = constants.get(name);
    return t ? (t.dims ?? []).map(Number) : undefined;
  };
  let rowBytes = 0;
  for (const [name, dims] of one.shapes) {
    const grows = info.input.fixedBatch || dims.some((d, i) => d !== two.shapes.get(name)?.[i]);
    if (grows && one.floats.has(name)) rowBytes += 4 * dims.reduce((a, b) => a * b, 1);
  }
  return {
    rowBytes,
    shape(name) {
      const s = two.shapes.get(name) ?? constShape(name);
      if (!s) throw new ModelFormatError(`no shape is known for tensor '${name}'`);
      return s;
    },
    batchAxes(name) {
      const a = one.shapes.get(name), c = two.shapes.get(name);
      return (c ?? a ?? []).map((d, i) => !!a && d !== a[i]);
    },
    ints: (name) => two.ints.get(name),
    isFloat: (name) => two.floats.has(name),
  };
}
