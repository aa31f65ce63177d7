// Indexes of a graph: who produces and who consumes each tensor, constants by name.
import { getAttr } from './builder';
import type { GraphProto, NodeProto, TensorProto } from './proto';

export class GraphIndex {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly constants = new Map<string, TensorProto>();

  constructor(readonly graph: GraphProto) {
    for (const t of graph.initializer ?? []) this.constants.set(t.name ?? '', t);
    for (const node of graph.node ?? []) {
      for (const o of node.output ?? []) this.producer.set(o, node);
      for (const i of node.input ?? []) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(node); else this.consumers.set(i, [node]);
      }
      if (node.opType === 'Constant') {
        const value = getAttr(node, 'value');
        if (value?.t) this.constants.set(node.output![0], value.t);
      }
    }
  }

  consumersOf(name: string): NodeProto[] { return this.consumers.get(name) ?? []; }

  /** The producing node, looking through Identity/Cast/Dropout (which exports insert around weights). */
  producerThrough(name: string): NodeProto | undefined {
    let node = this.producer.get(name);
    for (let seen = 0; node && (node.opType === 'Identity' || node.opType === 'Dropout') && seen <= this.producer.size; seen++) node = this.producer.get(node.input![0]);
    return node;
  }

  isConstant(name: string): boolean {
    return this.constantThrough(name) !== undefined;
  }

  /** The constant a tensor is, looking through chains of Identity (a loop: chains can be long). */
  constantThrough(name: string): TensorProto | undefined {
    for (let at = name, seen = 0; seen <= this.producer.size; seen++) {
      const t = this.constants.get(at);
      if (t) return t;
      const node = this.producer.get(at);
      if (!node || node.opType !== 'Identity') return undefined;
      at = node.input![0];
    }
    return undefined; // an Identity cycle
  }
}
