// The neuron view's state (webview/neuronState.ts): init, live progress, summary, end of the scan,
// and the ablation table's rows.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { NeuronSummary } from '../../src/engine/neurons/summary';
import { classTable, initialNeuronState, neuronStatusText, persistedNeuron, reduceNeuron, visualizationText } from '../../webview/neuronState';

const stat = (mean: number) => ({ mean, std: 0.1, n: 2 });
const row = (key: string, label: string, ablated: boolean) => ({
  key, class: key === 'all' ? null : 0, label, images: 2, activation: stat(0.5), onPaths: key === 'all' ? null : 0.5,
  clean: { accuracy: 1, probability: 0.9 }, ablated: ablated ? { accuracy: 0.5, probability: 0.6 } : null,
});
const summary = (ablated = true): NeuronSummary => ({
  layer: 3, neuron: 29, images: 2, grid: [2, 2], top: [], histogram: { edges: [0, 0.5, 1], counts: [1, 1], topBins: [] },
  classes: [row('class:0', 'coat', ablated)], all: row('all', 'all images', ablated),
});

test('init, progress, summary and the end of a scan', () => {
  let s = initialNeuronState({ folder: '/d', layer: 3, neuron: 29 });
  assert.equal(s.status, 'idle');
  assert.deepEqual(persistedNeuron(s), { folder: '/d', layer: 3, neuron: 29 });
  s = reduceNeuron(s, { type: 'init', init: { folder: '/d', resultFile: '/d.jsonl', layer: 3, neuron: 29, title: 't', running: { done: 0, total: 4, resumed: 0, analysed: 0, failed: 0, rate: 0 } } });
  assert.equal(s.status, 'running');
  s = reduceNeuron(s, { type: 'batchProgress', progress: { done: 2, total: 4, resumed: 0, analysed: 2, failed: 0, rate: 3 } });
  assert.match(neuronStatusText(s), /Scanning: 2\/4 images, 3\.0 img\/s/);
  s = reduceNeuron(s, { type: 'summary', summary: summary(), imageUris: {} });
  assert.equal(s.summary?.images, 2);
  s = reduceNeuron(s, { type: 'batchDone', cancelled: false, result: { out: '/d.jsonl', total: 4, resumed: 1, analysed: 3, failed: 0, cancelled: false, seconds: 1 } });
  assert.equal(s.status, 'done');
  assert.equal(s.progress?.done, 4);
  assert.equal(reduceNeuron(s, { type: 'batchDone', cancelled: true }).status, 'cancelled');
  assert.equal(reduceNeuron(s, { type: 'batchDone', cancelled: false, message: 'boom' }).status, 'error');
});

test('the ablation table: clean -> zeroed where the neuron was ablated, the class rows then all images', () => {
  const rows = classTable(summary());
  assert.deepEqual(rows.map((r) => r.key), ['class:0', 'all']);
  assert.equal(rows[0].accuracy, '100% → 50.0%');
  assert.equal(rows[0].probability, '0.9 → 0.6');
  assert.equal(rows[0].onPaths, '50.0%');
  assert.ok(Math.abs(rows[0].drop! + 0.3) < 1e-12);
  const whole = classTable(summary(false));
  assert.equal(whole[0].accuracy, '100%');
  assert.equal(whole[0].drop, undefined);
  assert.deepEqual(classTable(undefined), []);
});

test('the visualization: running with its step, shown with its activation beside the best scanned image, failed', () => {
  let s = initialNeuronState({ folder: '/d', layer: 3, neuron: 29 });
  assert.deepEqual(s.visualization, { running: false });
  assert.match(visualizationText(s.visualization, undefined), /gradient ascent on the input/);
  s = reduceNeuron(s, { type: 'visualization', status: { running: true, step: 7, steps: 256 } });
  assert.equal(visualizationText(s.visualization, 0.5), 'Optimising the image: step 7 of 256.');
  s = reduceNeuron(s, { type: 'visualization', status: { running: false, visualization: { uri: 'u', activation: 2.5, steps: 256, seed: 0, seconds: 4 } } });
  assert.equal(visualizationText(s.visualization, 0.5), 'Activation 2.5 at the readout on this image, read back as any image (the most active scanned image: 0.5); 256 steps, seed 0, 4 s.');
  s = reduceNeuron(s, { type: 'visualization', status: { running: false, error: 'Stopped.' } });
  assert.equal(visualizationText(s.visualization, 0.5), 'Stopped.');
});
