// Draws a token map (one value per image patch) on a canvas laid over the image: one canvas pixel per
// patch, stretched by CSS without smoothing, so the patch grid stays visible.
import type { TokenMap } from '../src/engine/result';

// Control points of the "inferno" colormap (perceptually uniform, readable on light and dark).
const INFERNO: Array<[number, number, number]> = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];

export function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(x));
  const f = x - i;
  const a = INFERNO[i];
  const b = INFERNO[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export interface MapSummary { min: number; max: number; peakRow: number; peakCol: number }

export function summarize(map: TokenMap): MapSummary | undefined {
  const [rows, cols] = map.grid;
  if (!(rows > 0 && cols > 0) || map.values.length < rows * cols) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let peak = 0;
  for (let i = 0; i < rows * cols; i++) {
    const v = map.values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) { max = v; peak = i; }
  }
  if (!Number.isFinite(min)) return undefined;
  return { min, max, peakRow: Math.floor(peak / cols), peakCol: peak % cols };
}

/** Paints the map; returns its summary, or undefined (and a cleared canvas) when it cannot be drawn. */
export function drawTokenMap(canvas: HTMLCanvasElement, map: TokenMap | undefined): MapSummary | undefined {
  const summary = map ? summarize(map) : undefined;
  const ctx = canvas.getContext('2d');
  if (!map || !summary || !ctx) {
    canvas.width = 1;
    canvas.height = 1;
    ctx?.clearRect(0, 0, 1, 1);
    return undefined;
  }
  const [rows, cols] = map.grid;
  canvas.width = cols;
  canvas.height = rows;
  const img = ctx.createImageData(cols, rows);
  const span = summary.max - summary.min || 1;
  for (let i = 0; i < rows * cols; i++) {
    const t = (map.values[i] - summary.min) / span;
    const [r, g, b] = colormap(t);
    img.data[i * 4] = r;
    img.data[i * 4 + 1] = g;
    img.data[i * 4 + 2] = b;
    // Weak patches let more of the image through.
    img.data[i * 4 + 3] = Math.round(255 * (0.35 + 0.65 * (Number.isFinite(t) ? t : 0)));
  }
  ctx.putImageData(img, 0, 0);
  return summary;
}
