// The gradient of one objective with respect to the model's input pixels, in a graph of its own:
// the model cut after the objective's tensor (a block's FFN activation, or the logits) plus the
// backward graph down to the pixels. The analysis graph stays as it is, and no slower.
import { buildBackward } from './autodiff/backward';
import { probeShapes } from './autodiff/probedShapes';
import { EngineError } from './errors';
import { prepareModel } from './instrument';
import { GraphBuilder } from './onnx/builder';
import { GraphIndex } from './onnx/graph';
import { probePixels } from './onnx/probe';
import { DataType, encodeModel, onnx, opsetOf, type GraphProto, type ModelProto } from './onnx/proto';
import { Session, type SessionSettings } from './runtime';
import type { ImageInput } from './structure';

/**
 * What is differentiated: a neuron summed over token rows (its value, or with `preActivation` the
 * activation's input where the FFN is plain), or a class logit.
 */
export type Objective =
  | { kind: 'neuron'; layer: number; neuron: number; rows: number[]; preActivation?: boolean }
  | { kind: 'class'; class: number };

const SEED = 'np_objective_seed';
const GRAD = 'np_input_grad';

export class InputGradient {
  private constructor(private readonly session: Session, readonly input: ImageInput, private readonly target: string,
                      private readonly seed: Float32Array, private readonly seedDims: number[],
                      /** The neuron's pre-activation is differentiated, not its value. */
                      readonly preActivation: boolean) {}

  /** `model`: as readModel gives it (it is changed here). */
  static async build(model: ModelProto, sizeHint: [number, number] | undefined, objective: Objective, settings: SessionSettings): Promise<InputGradient> {
    const prepared = await prepareModel(model, sizeHint, settings);
    const { input, sites, tokens, neurons } = prepared;
    const { numClasses } = prepared.logits;
    let target: string, seed: Float32Array, preActivation = false;
    if (objective.kind === 'neuron') {
      const { layer, neuron, rows } = objective;
      if (!(Number.isInteger(layer) && layer >= 0 && layer < sites.length)) invalid(`layer ${layer} is out of range: the model has blocks 0..${sites.length - 1}`, 'layer');
      if (!(Number.isInteger(neuron) && neuron >= 0 && neuron < neurons)) invalid(`neuron ${neuron} is out of range: a block has neurons 0..${neurons - 1}`, 'neuron');
      if (rows.length === 0 || rows.some((r) => !(Number.isInteger(r) && r >= 0 && r < tokens))) invalid(`the token rows must be in 0..${tokens - 1}`, 'rows');
      const pre = sites[layer].preActivation;
      preActivation = !!objective.preActivation && !!pre && sameShape(prepared.clean.shapes.get(pre), prepared.clean.shapes.get(sites[layer].tensor));
      target = preActivation ? pre! : sites[layer].tensor;
      seed = new Float32Array(tokens * neurons);
      for (const r of rows) seed[r * neurons + neuron] = 1;
    } else {
      if (!(Number.isInteger(objective.class) && objective.class >= 0 && objective.class < numClasses)) invalid(`class ${objective.class} is out of range (0..${numClasses - 1})`, 'class');
      target = prepared.logits.name;
      seed = new Float32Array(numClasses);
      seed[objective.class] = 1;
    }
    const m = prepared.model, graph = m.graph!;
    graph.node = ancestors(graph, target);
    graph.output = [{ name: target }];
    const shapes = await probeShapes(m, (batch) => ({ [input.name]: probePixels(input, batch) }), input.fixedBatch, settings);
    const b = new GraphBuilder(graph, opsetOf(m));
    const dims = shapes.shape(target).map((d, i) => (i === 0 ? { dimParam: 'batch' } : { dimValue: d }));
    graph.input!.push(onnx.ValueInfoProto.create({ name: SEED, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims } } } }));
    const grads = buildBackward(b, new GraphIndex(graph), shapes, {
      nodes: graph.node.slice(), sources: [input.name], seeds: new Map([[target, SEED]]), isFloat: (n) => shapes.isFloat(n),
    });
    const g = grads.get(input.name);
    if (!g) throw new EngineError('model-format', `the ${objective.kind === 'class' ? 'logits do' : `activation of block ${objective.layer} does`} not depend on the input '${input.name}'`);
    b.node('Identity', [g], {}, [GRAD]);
    b.commit();
    graph.output.push({ name: GRAD });
    return new InputGradient(await Session.create(encodeModel(m), settings), input, target, seed, shapes.shape(target).slice(1), preActivation);
  }

  /** The objective of each of `batch` images [batch, C, H, W] and its gradient with respect to them. */
  async run(pixels: Float32Array, batch: number): Promise<{ values: number[]; grad: Float32Array }> {
    const { channels, height, width, name } = this.input;
    const seeds = new Float32Array(batch * this.seed.length);
    for (let k = 0; k < batch; k++) seeds.set(this.seed, k * this.seed.length);
    const out = await this.session.run({
      [name]: { type: 'float32', data: pixels, dims: [batch, channels, height, width] },
      [SEED]: { type: 'float32', data: seeds, dims: [batch, ...this.seedDims] },
    }, [this.target, GRAD]);
    const t = out[this.target].data as Float32Array;
    const values = Array.from({ length: batch }, (_, k) => {
      let v = 0;
      for (let i = 0; i < this.seed.length; i++) if (this.seed[i] !== 0) v += this.seed[i] * t[k * this.seed.length + i];
      return v;
    });
    return { values, grad: out[GRAD].data as Float32Array };
  }

  async release(): Promise<void> { await this.session.release(); }
}

const sameShape = (a: number[] | undefined, b: number[] | undefined) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

function invalid(message: string, field: string): never {
  throw new EngineError('invalid-option', message, { field });
}

/** The nodes `target` is computed from, in their order. */
function ancestors(graph: GraphProto, target: string): onnx.INodeProto[] {
  const nodes = graph.node ?? [];
  const needed = new Set([target]);
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let k = nodes.length - 1; k >= 0; k--) {
    if ((nodes[k].output ?? []).some((o) => needed.has(o))) {
      keep[k] = true;
      for (const i of nodes[k].input ?? []) if (i) needed.add(i);
    }
  }
  return nodes.filter((_, k) => keep[k]);
}
