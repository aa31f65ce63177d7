// What a backward rule may use: the builder to emit nodes, constants, and the probed shapes.
import { EngineError } from '../errors';
import type { GraphBuilder } from '../onnx/builder';
import type { GraphIndex } from '../onnx/graph';
import type { NodeProto } from '../onnx/proto';
import { tensorValues } from '../onnx/tensor';

export class UnsupportedOpError extends EngineError {
  constructor(readonly op: string, readonly nodeName: string, detail = '') {
    super('unsupported-op', `cannot differentiate ${op} node '${nodeName}'${detail ? `: ${detail}` : ''}. ` +
      'Neuron Path builds gradients from standard ONNX ops; re-export the model with plain ops ' +
      '(torch.onnx.export, no onnxruntime-specific fusions) or report the op.', { op, node: nodeName });
    this.name = 'UnsupportedOpError';
  }
}

export interface Shapes {
  /** Shape at the largest probed batch (what broadcasting decisions are made on). */
  shape(name: string): number[];
  /** Per axis: does this dimension change with the batch size? */
  batchAxes(name: string): boolean[];
  /** Value of a small integer tensor, if known. */
  ints(name: string): number[] | undefined;
}

export class RuleContext {
  constructor(readonly b: GraphBuilder, readonly index: GraphIndex, readonly shapes: Shapes) {}

  shape(name: string): number[] { return this.shapes.shape(name); }
  rank(name: string): number { return this.shape(name).length; }

  fail(node: NodeProto, detail: string): never {
    throw new UnsupportedOpError(node.opType ?? '?', node.name || node.output?.[0] || '?', detail);
  }

  /** Numbers of a constant input (initializer, Constant node, or a probed integer tensor). */
  constValues(name: string): number[] | undefined {
    const t = this.index.constantThrough(name);
    if (t) return tensorValues(t);
    return this.shapes.ints(name);
  }

  /** A static size along an axis; refuses axes whose size follows the batch. */
  staticDim(node: NodeProto, name: string, axis: number): number {
    if (this.shapes.batchAxes(name)[axis]) this.fail(node, `axis ${axis} of '${name}' changes with the batch size`);
    return this.shape(name)[axis];
  }

  /**
   * x's probed shape as a constant, `batchValue` on the axis that follows the batch (-1: Reshape
   * infers it; 1: Expand keeps g's); undefined when several axes follow it or a size is 0. A backward
   * node that read Shape(x) would keep the forward tensor x alive until the backward reaches it.
   */
  private constShape(x: string, batchValue: number): string | undefined {
    const dims = this.shape(x), batch = this.shapes.batchAxes(x);
    if (dims.some((d) => d <= 0) || batch.filter(Boolean).length > 1) return undefined;
    return this.b.int64s(dims.map((d, i) => (batch[i] ? batchValue : d)));
  }

  /** g (as many elements as x) reshaped to forward tensor x's shape. */
  reshapeLike(g: string, x: string): string {
    const shape = this.constShape(x, -1);
    return shape ? this.b.op('Reshape', [g, shape]) : this.b.reshapeLike(g, x);
  }

  /** g broadcast to forward tensor x's shape; `ones`: the axes where g has size 1 and x may not. */
  expandLike(g: string, x: string, ones: number[]): string {
    const shape = ones.some((a) => this.shapes.batchAxes(x)[a]) ? undefined : this.constShape(x, 1);
    return this.b.op('Expand', [g, shape ?? this.b.shape(x)]);
  }

  /** Sums a gradient of the broadcast result back to the shape of input x. */
  unbroadcast(g: string, x: string, out: string): string {
    return this.unbroadcastTo(g, x, this.shape(out));
  }

  /** As unbroadcast, with the shape of g given (when g is not shaped like a forward tensor). */
  unbroadcastTo(g: string, x: string, so: number[]): string {
    const sx = this.shape(x);
    const lead = so.length - sx.length;
    const axes: number[] = [];
    for (let a = 0; a < so.length; a++) {
      if (a < lead || (sx[a - lead] === 1 && so[a] !== 1)) axes.push(a);
    }
    if (axes.length === 0) return g;
    const summed = this.b.reduceSum(g, axes, true);
    return lead === 0 ? summed : this.reshapeLike(summed, x);
  }
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
