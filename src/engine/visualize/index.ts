// `Engine.visualize`: the request, its record, and the input-gradient graph it is computed with.
import { EngineError } from '../errors';
import { InputGradient, type Objective } from '../inputGradient';
import type { InstrumentedInfo } from '../instrument';
import type { Preprocessing } from '../preprocessing';
import { readModel } from '../modelStore';
import type { SessionSettings } from '../runtime';
import { VISUALIZE_DEFAULTS } from '../options';
import { ascend, type TileActivation } from './optimize';

export const VISUALIZATION_SCHEMA = 'neuron-path/visualization-1';

/** A neuron (`layer`, `neuron`, at the readout rows or summed over the patch tokens), or a class logit (`class`). */
export interface VisualizeRequest {
  layer?: number;
  neuron?: number;
  rows?: 'readout' | 'patches';
  class?: number;
  steps?: number;
  seed?: number;
  /** [height, width] of an image larger than the model's input: tiled, optimised through a random input-sized window per step. */
  size?: [number, number];
}

export interface VisualizationRecord {
  schema: typeof VISUALIZATION_SCHEMA;
  model: { path: string; sha256: string; inputSize: [number, number]; channels: number };
  objective: { kind: 'neuron'; layer: number; neuron: number; rows: 'readout' | 'patches'; rowIndices: number[]; ascended: 'pre-activation' | 'activation' }
    | { kind: 'class'; class: number; label: string };
  settings: { steps: number; seed: number; learningRate: number; parameterization: string; transforms: string; size?: [number, number] };
  image: { path: string; width: number; height: number };
  /** A tiled image: the activation of its input-sized windows at the corners and the centre, each fed as it is (no resize). */
  tiles?: TileActivation[];
  /** What is ascended (a plain FFN's pre-activation, a gated one's value, a logit) at every step, on that step's randomly transformed image. */
  objectivePerStep: number[];
  /** The neuron's activation (its value summed over the rows; for a class, the logit) on the written PNG, read back and preprocessed as any image. */
  finalActivation: number;
  timing: { seconds: number; perStep: number };
}

export interface VisualizeContext {
  model: { path: string; sha256: string; labels: string[] };
  internal: InstrumentedInfo;
  prep: Preprocessing;
  settings: SessionSettings;
  /** The neuron's value summed over `rows`, from a clean pass of the analysis model. */
  activation(pixels: Float32Array, layer: number, neuron: number, rows: number[]): Promise<number>;
}

export async function visualize(ctx: VisualizeContext, request: VisualizeRequest, out: string,
                                onStep: (step: number, steps: number, value: number) => void, signal?: AbortSignal): Promise<VisualizationRecord> {
  const objective = resolveObjective(ctx.internal, request);
  const steps = request.steps ?? VISUALIZE_DEFAULTS.steps, seed = request.seed ?? VISUALIZE_DEFAULTS.seed;
  const { model } = readModel(ctx.model.path, () => undefined);
  const graph = await InputGradient.build(model, [ctx.internal.input.height, ctx.internal.input.width], objective, ctx.settings);
  try {
    const measure = async (pixels: Float32Array) => (objective.kind === 'neuron'
      ? ctx.activation(pixels, objective.layer, objective.neuron, objective.rows) : (await graph.run(pixels, 1)).values[0]);
    const result = await ascend(graph, ctx.prep, { steps, seed, learningRate: VISUALIZE_DEFAULTS.learningRate, size: request.size }, out, measure, (k, v) => onStep(k, steps, v), signal);
    const { height, width, channels } = ctx.internal.input;
    const [imageHeight, imageWidth] = request.size ?? [height, width];
    return {
      schema: VISUALIZATION_SCHEMA,
      model: { path: ctx.model.path, sha256: ctx.model.sha256, inputSize: [height, width], channels },
      objective: objective.kind === 'neuron'
        ? { kind: 'neuron', layer: objective.layer, neuron: objective.neuron, rows: request.rows ?? 'readout', rowIndices: objective.rows,
          ascended: graph.preActivation ? 'pre-activation' : 'activation' }
        : { kind: 'class', class: objective.class, label: ctx.model.labels[objective.class] },
      settings: {
        steps, seed, learningRate: VISUALIZE_DEFAULTS.learningRate,
        parameterization: 'Fourier spectrum scaled by 1/frequency, decorrelated colour, sigmoid',
        transforms: `per step: ${result.tiles ? 'a random window of the input\'s size, then ' : ''}shift up to 12/224 of the size, scale 0.95..1.05, rotation up to 10 degrees, bilinear, grey outside`,
        ...(request.size ? { size: request.size } : {}),
      },
      image: { path: out, width: imageWidth, height: imageHeight },
      ...(result.tiles ? { tiles: result.tiles } : {}),
      objectivePerStep: result.objectivePerStep,
      finalActivation: result.measured,
      timing: { seconds: result.seconds, perStep: result.seconds / steps },
    };
  } finally {
    await graph.release();
  }
}

function resolveObjective(info: InstrumentedInfo, r: VisualizeRequest): Objective {
  if (r.class !== undefined) {
    if (r.layer !== undefined || r.neuron !== undefined) throw new EngineError('invalid-option', 'give a class, or a layer and neuron, not both', { field: 'class' });
    return { kind: 'class', class: r.class };
  }
  if (r.layer === undefined || r.neuron === undefined) throw new EngineError('invalid-option', 'a visualization needs a layer and a neuron, or a class', { field: 'layer' });
  const patches = info.grid[0] * info.grid[1];
  const rows = r.rows === 'patches' ? Array.from({ length: patches }, (_, i) => info.tokens - patches + i) : info.readoutRows;
  // A plain FFN's pre-activation is ascended: GELU falls towards 0 as its input falls below -0.75,
  // so ascending the activation itself from a start where it is negative drives it to 0, not up.
  return { kind: 'neuron', layer: r.layer, neuron: r.neuron, rows, preActivation: true };
}
