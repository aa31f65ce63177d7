// The neuron view's per-class chart: mean activation at the readout (± std whiskers are in the table)
// and, when a folder analysis is open, the share of the class's paths through the neuron.
import type { ChartConfiguration } from 'chart.js';
import type { NeuronSummary } from '../src/engine/neurons/summary';
import { axis, backgroundPlugin, baseOptions, type Theme } from './charts';

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
