// Where a neuron lives in the ONNX graph, as Netron names the nodes: its block, and the FFN's fc2
// (the neuron is one of its inputs), fc1 (or gate/up) and activation nodes. Each name is selectable;
// a Copy button hands the whole line to the host's clipboard. The image panel's path card and the
// neuron view both show it.
import type { FfnNodes } from '../src/engine/result';
import { h, type Child } from './dom';

/** The line as text (what Copy puts on the clipboard). */
export function locationText(layer: number, neuron: number, nodes: FfnNodes | undefined, gated: boolean): string {
  const head = `Neuron #${neuron} of block ${layer}`;
  if (!nodes) return head;
  return `${head}: input ${neuron} of fc2 ${nodes.fc2} · ${nodes.linears.map((l) => `${gated ? 'gate/up' : 'fc1'} ${l}`).join(' · ')} · activation ${nodes.activation}`;
}

/** The line as nodes: the names in selectable code, and Copy where the graph's names are known. */
export function locationParts(layer: number, neuron: number, nodes: FfnNodes | undefined, gated: boolean, copy: (text: string) => void): Child[] {
  const head = `Neuron #${neuron} of block ${layer}`;
  if (!nodes) return [head];
  const name = (label: string, node: string): Child[] => [`${label} `, h('code', { class: 'node-name', title: 'Select to copy' }, node)];
  return [head, ': input ', String(neuron), ' of ', ...name('fc2', nodes.fc2), ' · ',
    // A gated FFN's two linears (or one fused) are not told apart by the graph: both are named gate/up.
    ...nodes.linears.flatMap((l) => [...name(gated ? 'gate/up' : 'fc1', l), ' · ']),
    ...name('activation', nodes.activation), ' ',
    h('button', {
      class: 'link copy', type: 'button', 'data-testid': 'copy-location', title: 'Copy the block and the node names',
      onclick: () => copy(locationText(layer, neuron, nodes, gated)),
    }, 'Copy')];
}
