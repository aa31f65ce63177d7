// The instrumented model without its backward part: only the nodes that the probabilities and the
// activations need. onnxruntime runs every node of a graph on each call, whatever is fetched, so the
// passes that need no gradient (clean, remove/enhance, the neuron scan, the pruning check) run this
// copy at forward cost. Its inputs are the instrumented model's, so the same feeds drive both.
import { onnx, type AttributeProto, type GraphProto, type ModelProto, type NodeProto } from './onnx/proto';

/** A copy of `model` computing only `outputs` (the inputs kept as they are; unused initializers dropped). */
export function forwardOnly(model: ModelProto, outputs: string[]): ModelProto {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => { for (const o of n.output ?? []) if (o) producer.set(o, i); });
  const keep = new Set<number>();
  const needed = [...outputs];
  const used = new Set<string>(outputs);
  while (needed.length) {
    const at = producer.get(needed.pop()!);
    if (at === undefined || keep.has(at)) continue;
    keep.add(at);
    for (const name of inputsOf(nodes[at])) if (!used.has(name)) { used.add(name); needed.push(name); }
  }
  const wanted = new Set(outputs);
  const pruned: GraphProto = {
    ...graph,
    node: nodes.filter((_, i) => keep.has(i)),
    initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
    output: (graph.output ?? []).filter((o) => wanted.has(o.name ?? '')),
    valueInfo: (graph.valueInfo ?? []).filter((v) => used.has(v.name ?? '')),
  };
  const missing = outputs.filter((o) => !pruned.output!.some((p) => p.name === o));
  if (missing.length) throw new Error(`forwardOnly: ${missing.join(', ')} are not outputs of the instrumented graph`);
  return onnx.ModelProto.create({ ...model, graph: pruned });
}

/** A node's inputs, and the outer tensors its subgraphs (If, Loop, Scan) read. */
function inputsOf(node: NodeProto): string[] {
  const names = (node.input ?? []).filter((i) => i);
  for (const a of node.attribute ?? []) for (const g of subgraphs(a)) for (const n of g.node ?? []) names.push(...inputsOf(n));
  return names;
}

function subgraphs(a: AttributeProto): GraphProto[] {
  return [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
}
