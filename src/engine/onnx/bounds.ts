// Keeps the graph work bounded before instrumenting: Identity nodes (which exports insert around
// weights, and a hostile model can chain by the ten thousand) are removed, and a graph larger than
// any ViT is refused. The shape probe exposes every tensor as an output, so its cost grows with the
// node count; a 50,000-node graph took minutes and gigabytes there.
import { ModelFormatError, type GraphProto, type ModelProto, type NodeProto } from './proto';

/** Nodes analysed at most, subgraphs included. The largest published ViTs (ViT-G, EVA-g) export to about 6,000. */
export const MAX_NODES = 20_000;

/** Every node list of the model: the main graph's and those of subgraphs (If/Loop/Scan bodies). Iterative. */
export function nodeLists(graph: GraphProto): NodeProto[][] {
  const lists: NodeProto[][] = [];
  const stack: GraphProto[] = [graph];
  while (stack.length) {
    const g = stack.pop()!;
    lists.push(g.node ?? []);
    for (const node of g.node ?? []) {
      for (const a of node.attribute ?? []) {
        if (a.g) stack.push(a.g);
        for (const sub of a.graphs ?? []) stack.push(sub);
      }
    }
  }
  return lists;
}

/**
 * Removes the main graph's Identity nodes whose output is not a graph output: every reader
 * (subgraphs included, since they may read outer-scope names) reads the Identity's input instead.
 */
export function removeIdentities(model: ModelProto): number {
  const graph = model.graph!;
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const alias = new Map<string, string>();
  for (const node of graph.node ?? []) {
    if (node.opType === 'Identity' && node.input?.[0] && node.output?.length === 1 && !outputs.has(node.output[0]) && (!node.domain || node.domain === 'ai.onnx')) {
      alias.set(node.output[0], node.input[0]);
    }
  }
  if (!alias.size) return 0;
  // Resolve chains once (iteratively, memoised): a -> b -> c becomes a -> c.
  const resolved = new Map<string, string>();
  const resolve = (name: string): string => {
    const trail: string[] = [];
    let at = name;
    while (alias.has(at) && !resolved.has(at) && trail.length <= alias.size) { trail.push(at); at = alias.get(at)!; }
    const end = resolved.get(at) ?? at;
    for (const t of trail) resolved.set(t, end);
    return end;
  };
  graph.node = (graph.node ?? []).filter((n) => !(n.opType === 'Identity' && alias.has(n.output![0])));
  for (const nodes of nodeLists(graph)) {
    for (const node of nodes) node.input = (node.input ?? []).map((i) => (alias.has(i) ? resolve(i) : i));
  }
  return alias.size;
}

/** Refuses a graph with more nodes than any ViT has. */
export function checkSize(model: ModelProto, source: string): void {
  const count = nodeLists(model.graph!).reduce((n, list) => n + list.length, 0);
  if (count > MAX_NODES) {
    throw new ModelFormatError(`${source} has ${count} nodes (after removing Identity nodes), more than the ${MAX_NODES} analysed; ` +
      'a vision transformer has a few thousand', { nodes: count });
  }
}
