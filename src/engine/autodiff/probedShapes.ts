// The shapes the backward rules need, learned by running a model at batch 1 and 2 with every tensor
// exposed: an axis whose size changes between the two is a batch axis.
import { GraphIndex } from '../onnx/graph';
import { probeModel, type ProbeResult } from '../onnx/probe';
import { ModelFormatError, type ModelProto } from '../onnx/proto';
import type { Feed, SessionSettings } from '../runtime';
import type { Shapes } from './context';

export interface ProbedShapes extends Shapes {
  isFloat(name: string): boolean;
  rowBytes: number;                 // bytes of the float tensors that grow with each batch row
}

/**
 * `feedsAt(batch)` gives the feeds of one probe; a fixed-batch model is probed at batch 1 only.
 * `atOne` is a batch-1 probe already made with those feeds.
 */
export async function probeShapes(model: ModelProto, feedsAt: (batch: number) => Record<string, Feed>, fixedBatch: boolean,
                                  settings: SessionSettings, atOne?: ProbeResult): Promise<ProbedShapes> {
  const one = atOne ?? await probeModel(model, feedsAt(1), 1, settings);
  const two: ProbeResult = fixedBatch ? one : await probeModel(model, feedsAt(2), 2, settings);
  const constants = new GraphIndex(model.graph!).constants;
  const constShape = (name: string) => {
    const t = constants.get(name);
    return t ? (t.dims ?? []).map(Number) : undefined;
  };
  let rowBytes = 0;
  for (const [name, dims] of one.shapes) {
    const grows = fixedBatch || dims.some((d, i) => d !== two.shapes.get(name)?.[i]);
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
