// The neuron view's per-class chart: mean activation at the readout (± std whiskers are in the table)
// and, when a folder analysis is open, the share of the class's paths through the neuron.
import type { ChartConfiguration } from 'chart.js';
import type { NeuronSummary } from '../src/engine/neurons/summary';
import { axis, backgroundPlugin, baseOptions, type Theme } from './imageCharts';
import { fmt } from './imageState';

export function classChartConfig(theme: Theme, s: NeuronSummary): ChartConfiguration<'bar'> {
  const onPaths = s.classes.some((c) => c.onPaths !== null);
  const options = baseOptions(theme, `Layer ${s.layer}, neuron ${s.neuron} per class`);
  return {
    type: 'bar',
    data: {
      labels: s.classes.map((c) => c.label),
      datasets: [
        { label: 'mean activation', data: s.classes.map((c) => c.activation.mean), backgroundColor: theme.blue, yAxisID: 'y' },
        ...(onPaths ? [{ label: 'on the class\u2019s paths', data: s.classes.map((c) => c.onPaths ?? 0), backgroundColor: theme.red, yAxisID: 'y2' }] : []),
      ],
    },
    options: {
      ...options,
      scales: {
        x: axis(theme, 'class'),
        y: axis(theme, 'mean activation at the readout', { position: 'left' }),
        ...(onPaths ? { y2: axis(theme, 'share of paths', { position: 'right', min: 0, max: 1, grid: { drawOnChartArea: false } }) } : {}),
      },
    },
    plugins: [backgroundPlugin],
  };
}

/** The activation over every scanned image: counts per bin on a log scale, the top images' bins in red. */
export function histogramChartConfig(theme: Theme, s: NeuronSummary): ChartConfiguration<'bar'> {
  const { edges, counts, topBins } = s.histogram;
  const top = new Set(topBins);
  const options = baseOptions(theme, `Layer ${s.layer}, neuron ${s.neuron}: activation over ${s.images} images`);
  return {
    type: 'bar',
    data: {
      labels: counts.map((_, i) => fmt((edges[i] + edges[i + 1]) / 2)),
      datasets: [{
        label: 'images', data: counts.map((c) => c || null), categoryPercentage: 1, barPercentage: 1,
        backgroundColor: counts.map((_, i) => (top.has(i) ? theme.red : theme.blue)),
      }],
    },
    options: {
      ...options,
      plugins: { ...options.plugins, legend: { display: false } },
      scales: {
        x: axis(theme, 'activation at the readout (bin centre); red: the bins of the top images'),
        y: axis(theme, 'images (log scale)', { type: 'logarithmic', min: 0.8 }),
      },
    },
    plugins: [backgroundPlugin],
  };
}
