// The readable summary `neuron-path analyze` prints on stdout.
import * as path from 'node:path';
import { methodRows, type MethodRow } from '../engine/methods';
import type { AnalysisResult } from '../engine/result';
import { formatNumber as f, formatSigned as signed, stepsText } from '../format';
import { safeLine as name } from './terminal';

const pad = (s: string | number, n: number) => String(s).padEnd(n);

function methodName(row: MethodRow): string {
  switch (row.key) {
    case 'path': return 'path';
    case 'topk': return `top-${row.k} path (all ${row.k})`;
    case 'activation': return 'activation';
    case 'ig': return 'per-layer IG';
    case 'ip': return 'influence pattern';
    case 'random': return `random (${row.paths}, mean)`;
  }
}

export function summary(r: AnalysisResult): string {
  const lines: string[] = [];
  const m = r.model;
  lines.push(`Model      ${name(m.path)} (${m.layers} layers x ${m.neuronsPerLayer} neurons, scope ${m.scope}, ${m.inputSize.join('x')} input)`);
  if (m.readout) {
    const from = m.readout.source === 'graph' ? 'read by the head, found from the graph' : 'set by --scope';
    const precision = m.precision && m.precision.stored !== 'float32' ? `; ${m.precision.stored} model analysed in float32` : '';
    lines.push(`Readout    token rows ${m.scope} (${m.readout.rows.length} of ${m.tokens}, ${from}); patch grid ${m.readout.grid.join('x')}; ` +
      `FFN ${m.ffn?.activation} (${m.ffn?.kind})${precision}`);
  }
  if (m.ffn?.leftOut) lines.push(`Left out   ${m.ffn.leftOut}`);
  const turned = r.image.orientation && r.image.orientation !== 1 ? `, EXIF orientation ${r.image.orientation} applied` : '';
  const input = r.image.input, prep = m.preprocessing;
  const shownAs = input && prep ? ` -> ${input.resized[1]}x${input.resized[0]} ${prep.interpolation.value}` +
    `${input.size[0] !== input.resized[0] || input.size[1] !== input.resized[1] ? `, ${input.size[1]}x${input.size[0]} window at x ${input.left}, y ${input.top}` : ''}` +
    ` (${prep.config ? `${prep.config.processor}, ${prep.config.file}` : 'no preprocessing config'})` : '';
  lines.push(`Image      ${name(path.basename(r.image.path))} (${r.image.width}x${r.image.height}${turned})${shownAs}`);
  lines.push(`Predicted  ${r.prediction.top.map((c) => `${name(c.label)} ${f(c.probability, 3)}`).join(' | ')}`);
  lines.push(`Target     class ${r.target.class} "${name(r.target.label)}", p = ${f(r.target.probability, 4)}`);
  lines.push('');
  lines.push(`Influential neuron path (${r.settings.formula} formula, ${stepsText(r.settings)}):`);
  lines.push(`  ${pad('layer', 7)}${pad('neuron', 8)}${pad('activation', 13)}score`);
  for (const n of r.path) lines.push(`  ${pad(n.layer, 7)}${pad(n.neuron, 8)}${pad(f(n.activation, 4), 13)}${f(n.score, 6)}`);
  lines.push(`  path: ${r.path.map((n) => n.neuron).join(' -> ')}`);
  if (r.topK) lines.push(`  top-${r.topK.k} per layer: ${r.topK.layers.map((l) => `[${l.map((n) => n.neuron).join(' ')}]`).join(' -> ')}`);
  lines.push('');
  lines.push(`  ${pad('method', 22)}${pad('JAS', 12)}${pad('remove (x0)', 22)}enhance (x2)`);
  for (const row of methodRows(r)) {
    lines.push(`  ${pad(methodName(row), 22)}${pad(f(row.jas, 6), 12)}${pad(`${f(row.remove, 4)} (${signed(row.removeDeviation)})`, 22)}${f(row.enhance, 4)} (${signed(row.enhanceDeviation)})`);
  }
  lines.push('');
  lines.push(`Time       ${r.timing.seconds.toFixed(2)} s, ${r.timing.forwardPasses} forward and ${r.timing.backwardPasses} backward passes`);
  return lines.join('\n');
}
