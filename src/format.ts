// How numbers, durations and progress are written, one function per kind, for the panels and the CLI alike (no
// value imports: the webview bundles it too). A missing or non-finite value is written as MISSING.
import type { LayerProgress } from './engine/result';

export const MISSING = '–';

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v);

/** How the steps were taken: "20 steps", or "8 steps, gauss rule" for a rule other than the paper's left one. */
export function stepsText(s: { steps: number; rule?: string }): string {
  return `${s.steps} steps${s.rule && s.rule !== 'left' ? `, ${s.rule} rule` : ''}`;
}

/**
 * One name for a model file in every panel: "bundled model" for the bundled one, else the file with
 * the folder that tells it apart (hub models are all model.onnx): "vit-small/model.onnx", or
 * "vit-small/onnx/model.onnx" for the hubs' onnx/ sub-folder.
 */
export function modelLabel(file: string, bundledModelPath?: string): string {
  if (bundledModelPath !== undefined && file === bundledModelPath) return 'bundled model';
  const parts = file.split(/[\\/]+/).filter(Boolean);
  return parts.slice(parts.length >= 3 && parts[parts.length - 2] === 'onnx' ? -3 : -2).join('/');
}

/** A rank in words, 1st, 2nd, 3rd, 11th, 22nd: "#" stays a neuron's index everywhere. */
export function ordinal(n: number): string {
  const tens = n % 100, ones = n % 10;
  return `${n}${tens >= 11 && tens <= 13 ? 'th' : ones === 1 ? 'st' : ones === 2 ? 'nd' : ones === 3 ? 'rd' : 'th'}`;
}

/** A score, JAS, gradient, activation or probability: `digits` significant digits, an exponent below 1e-3 or from 1e4. */
export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (missing(v)) return MISSING;
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/** A change (a deviation, a difference): as formatNumber, with its sign always written. */
export function formatSigned(v: number | null | undefined, digits = 3): string {
  if (missing(v)) return MISSING;
  return v > 0 ? `+${formatNumber(v, digits)}` : formatNumber(v, digits);
}

/** A share or a probability as a percentage: one decimal, two near (but not at) 0% and 100%. */
export function formatPercent(p: number | null | undefined): string {
  if (missing(p)) return MISSING;
  if (p === 0 || p === 1) return `${p * 100}%`;
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 2 : 1)}%`;
}

/** A mean and its spread: "0.412 ± 0.051". */
export function formatSpread(s: { mean: number; std: number; n: number }, signed = false): string {
  return s.n ? `${signed ? formatSigned(s.mean) : formatNumber(s.mean)} ± ${formatNumber(s.std)}` : MISSING;
}

/** A change of a probability in percentage points, the one unit of remove/enhance in every panel: "-12.3 pp". */
export function formatPoints(delta: number | null | undefined): string {
  return missing(delta) ? MISSING : `${formatSigned(delta * 100)} pp`;
}

/** A mean change of a probability and its spread, in percentage points: "-12.3 ± 4.1 pp". */
export function formatPointsSpread(s: { mean: number; std: number; n: number }): string {
  return s.n ? `${formatSigned(s.mean * 100)} ± ${formatNumber(s.std * 100)} pp` : MISSING;
}

/** "40 s", "3 min", "1 h 5 min": a duration for people (a time left, a run's length), in the panels and the CLI alike. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 60)} h`;
}

/**
 * A run's pace, the one place it is computed: items per second since it started (0 before the
 * first), and the seconds the `left` items take at that pace (undefined while there is no pace).
 */
export function pace(done: number, seconds: number, left: number): { rate: number; etaSeconds: number | undefined } {
  const rate = done > 0 && seconds > 0 ? done / seconds : 0;
  return { rate, etaSeconds: rate > 0 ? left / rate : undefined };
}

/** "123/1000 images, 4.2 img/s, 3 min left": a folder run's progress line. */
export function batchProgressText(p: { done: number; total: number; failed: number; rate: number; etaSeconds?: number }): string {
  const parts = [`${p.done}/${p.total} images`];
  if (p.rate > 0) parts.push(`${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(1)} img/s`);
  if (p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) && p.done < p.total) parts.push(`${durationText(p.etaSeconds)} left`);
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  return parts.join(', ');
}

/**
 * The seconds an analysis has left, from its measured rate (model rows per second since the clean
 * pass) and the rows still planned; undefined until one layer step has been measured.
 */
export function remainingSeconds(p: LayerProgress): number | undefined {
  const w = p.work;
  if (!w || w.done <= 0 || w.seconds <= 0 || w.total < w.done) return undefined;
  return (w.seconds / w.done) * (w.total - w.done);
}

/** "path: layer 3 of 12, neuron 5 · about 2 min left": an analysis's progress line. */
export function analysisProgressText(p: LayerProgress): string {
  const left = remainingSeconds(p);
  return left === undefined || left < 1 ? p.message : `${p.message} · about ${durationText(left)} left`;
}

/** Where an analysis stands, in percent, from its progress message (its work done when measured). */
export function progressPercent(p: LayerProgress): number {
  if (p.work && p.work.total > 0) return 5 + (95 * Math.min(p.work.done, p.work.total)) / p.work.total;
  switch (p.phase) {
    case 'load': return 2;
    case 'clean': return 5;
    case 'layer': {
      const layers = p.layers ?? 0;
      const done = p.partialPath?.length ?? (p.layer !== undefined ? p.layer + 1 : 0);
      return layers > 0 ? 5 + (80 * Math.min(done, layers)) / layers : 5;
    }
    case 'jas': return 87;
    case 'baselines': return 92;
    case 'manipulation': return 97;
    default: return 0;
  }
}
