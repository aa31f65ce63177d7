// The panel's charts (chart.js, registered piece by piece so the bundle holds only what is used),
// coloured from VS Code's theme variables and redrawn when the theme changes.
import {
  BarController, BarElement, CategoryScale, Chart, Decimation, Legend, LinearScale, LineController, LineElement, LogarithmicScale,
  PointElement, ScatterController, Tooltip, type ChartConfiguration, type Plugin,
} from 'chart.js';
import type { MethodRow } from '../src/engine/methods';
import { fmt, fmtSigned, methodName, type RankedNeuron } from './imageState';
import { roundTicks } from './ticks';

Chart.register(BarController, BarElement, CategoryScale, Decimation, Legend, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, ScatterController, Tooltip);

export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  blue: string; red: string; green: string; orange: string; purple: string; yellow: string;
  font: string;
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const fg = cssVar(s, '--vscode-foreground', '#cccccc');
  return {
    foreground: fg,
    muted: cssVar(s, '--vscode-descriptionForeground', fg),
    grid: cssVar(s, '--vscode-charts-lines', cssVar(s, '--vscode-panel-border', 'rgba(128,128,128,0.35)')),
    background: cssVar(s, '--vscode-editor-background', '#1e1e1e'),
    blue: cssVar(s, '--vscode-charts-blue', '#3794ff'),
    red: cssVar(s, '--vscode-charts-red', '#f14c4c'),
    green: cssVar(s, '--vscode-charts-green', '#89d185'),
    orange: cssVar(s, '--vscode-charts-orange', '#d18616'),
    purple: cssVar(s, '--vscode-charts-purple', '#b180d7'),
    yellow: cssVar(s, '--vscode-charts-yellow', '#cca700'),
    font: cssVar(s, '--vscode-font-family', 'sans-serif'),
  };
}

/** Paints the theme background under the chart, so exported PNGs look like the panel. */
export const backgroundPlugin: Plugin = {
  id: 'npBackground',
  beforeDraw(chart, _args, options: { color?: string }) {
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = options.color ?? 'transparent';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export function baseOptions(theme: Theme, label: string) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false as const,
    color: theme.foreground,
    font: { family: theme.font },
    plugins: {
      npBackground: { color: theme.background },
      legend: { labels: { color: theme.foreground, font: { family: theme.font } } },
      tooltip: { enabled: true },
      title: { display: false, text: label },
    },
  };
}

export function axis(theme: Theme, title: string, extra: Record<string, unknown> = {}) {
  return {
    // Linear axes tick at round values (ticks.ts); a category or log axis keeps its own.
    ...(extra.type === undefined || extra.type === 'linear' ? {
      afterBuildTicks: (scale: { ticks: { value: number }[] }) => {
        const kept = new Set(roundTicks(scale.ticks.map((t) => t.value)));
        scale.ticks = scale.ticks.filter((t) => kept.has(t.value));
      },
    } : {}),
    ...extra,
    title: { display: true, text: title, color: theme.muted, font: { family: theme.font } },
    ticks: { color: theme.muted, font: { family: theme.font } },
    grid: { color: theme.grid },
    border: { color: theme.grid },
  };
}

export interface Marker { rank: number; neuron: number; score: number; label: string; kind: 'path' | 'topk' | 'activation' | 'ig' | 'ip' }

/** One colour per method, the same in every chart (folder panel included). */
export function methodColor(theme: Theme, key: string): string {
  const colors: Record<string, string> = {
    path: theme.red, topk: theme.yellow, activation: theme.orange, ig: theme.purple, ip: theme.green, random: theme.muted,
  };
  return colors[key] ?? theme.blue;
}

/** Sorted scores of every neuron of one layer, with the path neuron (and baseline neurons) marked. */
export function scoreChartConfig(theme: Theme, layer: number, ranked: RankedNeuron[], markers: Marker[]): ChartConfiguration<'line' | 'scatter'> {
  const colors = (kind: Marker['kind']) => methodColor(theme, kind);
  const shapes = { path: 'circle', topk: 'circle', activation: 'triangle', ig: 'rectRot', ip: 'rect' } as const;
  return {
    type: 'line',
    data: {
      datasets: [
        ...markers.map((m) => ({
          type: 'scatter' as const,
          label: m.label,
          data: [{ x: m.rank + 1, y: m.score }],
          backgroundColor: colors(m.kind),
          borderColor: colors(m.kind),
          pointRadius: m.kind === 'path' ? 6 : m.kind === 'topk' ? 4 : 5,
          pointHoverRadius: 8,
          pointStyle: shapes[m.kind],
          order: 0,
        })),
        {
          type: 'line' as const,
          label: `Layer ${layer}: score of every neuron (sorted)`,
          data: ranked.map((r) => ({ x: r.rank + 1, y: r.score })),
          borderColor: theme.blue,
          backgroundColor: theme.blue,
          borderWidth: 1.5,
          pointRadius: 0,
          pointHoverRadius: 3,
          order: 1,
        },
      ],
    },
    options: {
      ...baseOptions(theme, 'Neuron influence'),
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: axis(theme, 'rank (1 = most influential)', { type: 'linear', min: 1, max: Math.max(1, ranked.length) }),
        y: axis(theme, 'score'),
      },
      plugins: {
        ...baseOptions(theme, '').plugins,
        decimation: { enabled: true, algorithm: 'lttb', samples: 600 },
        tooltip: {
          callbacks: {
            label: (item) => {
              const rank = Math.round(item.parsed.x ?? 0);
              const marker = markers.find((m) => m.label === item.dataset.label);
              if (marker) return `${marker.label}: neuron ${marker.neuron}, rank ${marker.rank + 1}, score ${fmt(marker.score)}`;
              const r = ranked[rank - 1];
              return r ? `rank ${rank}: neuron ${r.neuron}, score ${fmt(r.score)}` : '';
            },
          },
        },
      },
    },
    plugins: [backgroundPlugin],
  };
}

/** JAS of each method. */
export function jasChartConfig(theme: Theme, rows: MethodRow[]): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: rows.map(methodName),
      datasets: [{
        label: 'Joint attribution score',
        data: rows.map((r) => r.jas),
        backgroundColor: rows.map((r) => methodColor(theme, r.key)),
        borderColor: rows.map((r) => methodColor(theme, r.key)),
      }],
    },
    options: {
      ...baseOptions(theme, 'JAS'),
      plugins: {
        ...baseOptions(theme, '').plugins,
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => `JAS ${fmt(item.parsed.y ?? undefined)}${rows[item.dataIndex]?.jasStd !== undefined ? ` ± ${fmt(rows[item.dataIndex].jasStd)}` : ''}` } },
      },
      scales: { x: axis(theme, ''), y: axis(theme, 'JAS') },
    },
    plugins: [backgroundPlugin],
  };
}

/** How much removing (x0) or enhancing (x2) each method's path changes the target probability. */
export function manipulationChartConfig(theme: Theme, rows: MethodRow[]): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: rows.map(methodName),
      datasets: [
        { label: 'remove (x0): change of probability', data: rows.map((r) => r.removeDeviation * 100), backgroundColor: theme.red, borderColor: theme.red },
        { label: 'enhance (x2): change of probability', data: rows.map((r) => r.enhanceDeviation * 100), backgroundColor: theme.green, borderColor: theme.green },
      ],
    },
    options: {
      ...baseOptions(theme, 'Manipulation'),
      plugins: {
        ...baseOptions(theme, '').plugins,
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmtSigned(item.parsed.y ?? undefined)} points` } },
      },
      scales: { x: axis(theme, ''), y: axis(theme, 'Δ probability (points)') },
    },
    plugins: [backgroundPlugin],
  };
}

/** A chart bound to a canvas: rebuilt from its config whenever data or theme change. */
export class ChartSlot {
  private chart: Chart | undefined;
  constructor(readonly canvas: HTMLCanvasElement) {}

  show(config: ChartConfiguration): void {
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, config);
  }

  clear(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }


  pngDataUrl(): string | undefined {
    return this.chart?.toBase64Image('image/png', 1);
  }
}
