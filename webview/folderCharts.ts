// The folder panel's method comparison chart: for each metric a bar per method (mean), with a
// whisker of ± one standard deviation drawn by a small plugin (chart.js has no error bars).
import type { ChartConfiguration, Plugin } from 'chart.js';
import { axis, backgroundPlugin, baseOptions, methodColor, type Theme } from './imageCharts';
import type { PruningCurve } from '../src/engine/batch/prune';
import { fmt, fmtSigned, PRUNE_NAMES, type ComparisonRow } from './folderState';

interface Spread { mean: number; std: number }

const whiskers: Plugin<'bar'> = {
  id: 'npWhiskers',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const y = chart.scales.y;
    chart.data.datasets.forEach((ds, i) => {
      const spreads = (ds as unknown as { spreads?: Array<Spread | undefined> }).spreads;
      const meta = chart.getDatasetMeta(i);
      if (!spreads || meta.hidden) return;
      ctx.save();
      const area = chart.chartArea;
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      ctx.strokeStyle = String((chart.options.color as string | undefined) ?? '#888');
      ctx.lineWidth = 1;
      meta.data.forEach((bar, j) => {
        const s = spreads[j];
        if (!s || !Number.isFinite(s.std) || !Number.isFinite(s.mean)) return;
        const x = (bar as unknown as { x: number }).x;
        const top = y.getPixelForValue(s.mean + s.std), bottom = y.getPixelForValue(s.mean - s.std);
        ctx.beginPath();
        ctx.moveTo(x, top); ctx.lineTo(x, bottom);
        ctx.moveTo(x - 4, top); ctx.lineTo(x + 4, top);
        ctx.moveTo(x - 4, bottom); ctx.lineTo(x + 4, bottom);
        ctx.stroke();
      });
      ctx.restore();
    });
  },
};

const points = (s: Spread): Spread => ({ mean: 100 * s.mean, std: 100 * s.std });

/** The folder panel's comparison charts, each on its own scale so none flattens another. */
export type ComparisonChart = 'deviation' | 'jas' | 'accuracy';

/**
 * Per method, ± spread: `deviation` is the change of the target probability when the path is
 * removed or enhanced, in percentage points as the image panel gives it; `jas` the mean JAS;
 * `accuracy` the accuracy after removal (0..1).
 */
export function folderComparisonChart(theme: Theme, rows: ComparisonRow[], which: ComparisonChart): ChartConfiguration<'bar'> {
  const all: Record<ComparisonChart, Array<{ label: string; get: (r: ComparisonRow) => Spread | undefined; signed: boolean; unit?: string }>> = {
    deviation: [
      { label: 'remove (pp)', get: (r) => r.stats.removeDeviation.n ? points(r.stats.removeDeviation) : undefined, signed: true, unit: ' pp' },
      { label: 'enhance (pp)', get: (r) => r.stats.enhanceDeviation.n ? points(r.stats.enhanceDeviation) : undefined, signed: true, unit: ' pp' },
    ],
    jas: [{ label: 'JAS', get: (r) => r.stats.jas.n ? r.stats.jas : undefined, signed: false }],
    accuracy: [{ label: 'accuracy after removal', get: (r) => r.stats.removeKept === null ? undefined : { mean: r.stats.removeKept, std: NaN }, signed: false }],
  };
  const metrics = all[which];
  // The axis takes the whiskers in.
  const ends = rows.flatMap((r) => metrics.map((m) => m.get(r))).flatMap((s) => (s && Number.isFinite(s.std) ? [s.mean - s.std, s.mean + s.std] : s ? [s.mean] : []));
  return {
    type: 'bar',
    data: {
      labels: metrics.map((m) => m.label),
      datasets: rows.map((r) => {
        const spreads = metrics.map((m) => m.get(r));
        return {
          label: r.name,
          data: spreads.map((s) => s?.mean ?? null),
          spreads,
          backgroundColor: methodColor(theme, r.method),
          borderColor: methodColor(theme, r.method),
        };
      }),
    },
    options: {
      ...baseOptions(theme, 'Method comparison'),
      plugins: {
        ...baseOptions(theme, '').plugins,
        tooltip: {
          callbacks: {
            label: (item) => {
              const s = (item.dataset as unknown as { spreads: Array<Spread | undefined> }).spreads[item.dataIndex];
              const m = metrics[item.dataIndex];
              if (!s) return `${item.dataset.label}: –`;
              const mean = m.signed ? fmtSigned(s.mean) : fmt(s.mean);
              return `${item.dataset.label}: ${mean}${Number.isFinite(s.std) ? ` ± ${fmt(s.std)}` : ''}${m.unit ?? ''}`;
            },
          },
        },
      },
      scales: which === 'accuracy'
        ? { x: axis(theme, ''), y: axis(theme, 'share of images, top-1 still the target', { min: 0, max: 1 }) }
        : { x: axis(theme, ''), y: axis(theme, which === 'deviation' ? 'change of the target probability (pp), mean ± sd' : 'mean ± standard deviation', { suggestedMin: Math.min(0, ...ends), suggestedMax: Math.max(0, ...ends) }) },
    },
    plugins: [backgroundPlugin, whiskers],
  };
}

/** Accuracy against the share of neurons zeroed, one line per variant (from the clean accuracy at 0). */
export function pruningChart(theme: Theme, curve: PruningCurve): ChartConfiguration<'line'> {
  const colors = { unprotected: theme.muted, protected: methodColor(theme, 'path'), activation: methodColor(theme, 'activation'), control: theme.blue };
  const variants = Object.keys(PRUNE_NAMES) as (keyof typeof PRUNE_NAMES)[];
  return {
    type: 'line',
    data: {
      datasets: variants.map((v) => ({
        label: PRUNE_NAMES[v],
        data: [{ x: 0, y: curve.clean.accuracy }, ...curve.points.map((p) => ({ x: 100 * p.fraction, y: p.accuracy[v] }))],
        borderColor: colors[v], backgroundColor: colors[v], borderWidth: v === 'protected' ? 2.5 : 1.5, pointRadius: 3,
        borderDash: v === 'unprotected' ? [4, 3] : undefined,
      })),
    },
    options: {
      ...baseOptions(theme, 'Pruning'),
      parsing: false,
      scales: {
        x: axis(theme, 'neurons zeroed per block (%)', { type: 'linear', min: 0, max: 100 }),
        y: axis(theme, `accuracy on the ${curve.images} held-out images`, { min: 0, max: 1 }),
      },
      plugins: {
        ...baseOptions(theme, '').plugins,
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${fmt(item.parsed.y ?? undefined)}` } },
      },
    },
    plugins: [backgroundPlugin],
  };
}
