// What the panel's export buttons write. Pure; no vscode.
import type { AnalysisResult } from '../engine/result';

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per layer: the path neuron with its activation and score, the baselines' neurons and a top-K path's set. */
export function pathCsv(result: AnalysisResult): string {
  const { activation: act, integratedGradients: ig, influencePattern: ip } = result.baselines;
  const rows: Array<Array<string | number | undefined>> = [
    ['layer', 'neuron', 'activation', 'score', 'activation_baseline_neuron', 'ig_baseline_neuron', 'ip_baseline_neuron', 'topk_neurons'],
  ];
  const at = (b: typeof act, layer: number) => b?.path.find((a) => a.layer === layer)?.neuron;
  for (const p of result.path) {
    rows.push([p.layer, p.neuron, p.activation, p.score, at(act, p.layer), at(ig, p.layer), at(ip, p.layer),
      result.topK?.layers[p.layer]?.map((n) => n.neuron).join(' ')]);
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;
}

export function resultJson(result: AnalysisResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** The bytes of a `data:image/png;base64,...` URL, or undefined when it is not one. */
export function pngFromDataUrl(dataUrl: string): Buffer | undefined {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUrl);
  if (!m) return undefined;
  const buf = Buffer.from(m[1], 'base64');
  // PNG signature
  return buf.length > 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ? buf : undefined;
}

/** A file name stem from the image name and what is exported: `cat.neuron-path.layer3-scores`. */
export function exportStem(imagePath: string, what: string): string {
  const base = imagePath.split(/[\\/]/).pop() ?? 'image';
  const stem = base.replace(/\.[^.]+$/, '') || 'image';
  const safeWhat = what.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return safeWhat ? `${stem}.neuron-path.${safeWhat}` : `${stem}.neuron-path`;
}
