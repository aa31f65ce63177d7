// Builds the backward graph: walks the forward nodes in reverse, applies each op's rule, and sums
// the gradients of tensors used more than once. Gradients flow only into tensors that depend on
// the `sources`, so weights and the part of the network below the first source get none.
import type { GraphBuilder } from '../onnx/builder';
import type { GraphIndex } from '../onnx/graph';
import type { NodeProto } from '../onnx/proto';
import { RuleContext, UnsupportedOpError, type Shapes } from './context';
import { withPatterns } from './patterns';
import { RULES } from './rules';

export interface BackwardRequest {
  nodes: NodeProto[];              // forward nodes in topological order
  sources: string[];               // tensors whose gradients are wanted
  seeds: Map<string, string>;      // output tensor -> its gradient tensor
  isFloat: (name: string) => boolean;
}

export function buildBackward(b: GraphBuilder, index: GraphIndex, shapes: Shapes, req: BackwardRequest): Map<string, string> {
  const ctx = new RuleContext(b, index, shapes);
  const nodes = withPatterns(ctx, index, req.nodes);
  const carries = new Set(req.sources);
  for (const node of nodes) {
    if ((node.input ?? []).some((i) => carries.has(i))) {
      for (const o of node.output ?? []) if (o && req.isFloat(o)) carries.add(o);
    }
  }

  const pending = new Map<string, string[]>();
  const add = (name: string, g: string) => {
    const list = pending.get(name);
    if (list) list.push(g); else pending.set(name, [g]);
  };
  const take = (name: string): string | undefined => {
    const list = pending.get(name);
    if (!list) return undefined;
    const total = list.length === 1 ? list[0] : b.op('Sum', list);
    pending.set(name, [total]);
    return total;
  };
  for (const [name, g] of req.seeds) add(name, g);

  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    const inputs = node.input ?? [];
    const wants = inputs.map((i) => !!i && carries.has(i));
    if (!wants.some(Boolean)) continue;
    const gOut = (node.output ?? []).map((o) => (o ? take(o) : undefined));
    if (gOut.every((g) => g === undefined)) continue;
    const rule = RULES[node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType ?? ''];
    if (!rule) throw new UnsupportedOpError(node.opType ?? '?', node.name || node.output?.[0] || '?', 'no gradient rule for this op');
    const gIn = rule(ctx, node, gOut, wants);
    inputs.forEach((name, i) => { const g = gIn[i]; if (g && wants[i]) add(name, g); });
  }

  const result = new Map<string, string>();
  for (const s of req.sources) { const g = take(s); if (g) result.set(s, g); }
  return result;
}
