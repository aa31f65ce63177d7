// Builds small ONNX models in code, for tests of single ops and their backward rules.
import { GraphBuilder } from '../../src/engine/onnx/builder';
import { DataType, onnx, type ModelProto } from '../../src/engine/onnx/proto';

export interface TensorInput { name: string; dims: number[] }

export function makeModel(opset: number, inputs: TensorInput[], build: (b: GraphBuilder) => string): { model: ModelProto; output: string } {
  const graph = onnx.GraphProto.create({
    name: 'test',
    input: inputs.map((i) => onnx.ValueInfoProto.create({
      name: i.name,
      type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: i.dims.map((d) => ({ dimValue: d })) } } },
    })),
    initializer: [],
    node: [],
  });
  const b = new GraphBuilder(graph, opset, 't/');
  const output = build(b);
  b.commit();
  graph.output = [{ name: output }];
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: opset }], graph, producerName: 'neuron-path-test' });
  return { model, output };
}

/** Deterministic pseudo-random values in [-1, 1). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

export const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
