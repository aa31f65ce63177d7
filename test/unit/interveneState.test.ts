// The Intervene section's pure parts: typed neurons parsed and checked against the model, the
// reducer (a neuron added once, factors per neuron or for all, an answer to an older request
// dropped), and the guard of the page's messages.
import test from 'node:test';
import assert from 'node:assert/strict';
import { isImageWebviewToHost } from '../../src/protocol/imagePanel';
import { initialIntervene, parseNeurons, reduceIntervene, type InterveneAction, type InterveneState } from '../../webview/interveneState';

const run = (actions: InterveneAction[], s: InterveneState = initialIntervene()) => actions.reduce(reduceIntervene, s);

test('intervene: typed neurons, with or without a factor, checked against the model', () => {
  assert.deepEqual(parseNeurons(' 3:29, 5:100=0.5  0:0=-1 '), [{ layer: 3, neuron: 29, factor: 0 }, { layer: 5, neuron: 100, factor: 0.5 }, { layer: 0, neuron: 0, factor: -1 }]);
  assert.throws(() => parseNeurons(''), /Type a neuron as LAYER:NEURON/);
  assert.throws(() => parseNeurons('3-29'), /"3-29" is not LAYER:NEURON/);
  assert.throws(() => parseNeurons('3:29=x'), /The factor of 3:29 must be a number, got "x"/);
  assert.throws(() => parseNeurons('6:0', { layers: 6, neurons: 256 }), /Layer 6 does not exist: the model has 6 blocks \(0 to 5\)/);
  assert.throws(() => parseNeurons('5:256', { layers: 6, neurons: 256 }), /Neuron 256 does not exist: each block has 256 FFN neurons \(0 to 255\)/);
  assert.deepEqual(parseNeurons('5:255', { layers: 6, neurons: 256 }), [{ layer: 5, neuron: 255, factor: 0 }]);
});

test('intervene: the reducer adds each neuron once, sets factors and keeps only the newest answer', () => {
  const answer = (requestId: number, after: number) => ({ type: 'intervention' as const, requestId, result: {
    settings: [], rows: 'readout' as const, before: [], after: [], top1After: 0, target: { class: 0, label: 'a', before: 0.5, after },
  } });
  let s = run([
    { type: 'interveneAdd', settings: [{ layer: 0, neuron: 1, factor: 0 }, { layer: 0, neuron: 1, factor: 2 }, { layer: 1, neuron: 2, factor: 0 }] },
    { type: 'interveneAdd', settings: [{ layer: 1, neuron: 2, factor: 5 }] },
  ]);
  assert.deepEqual(s.settings, [{ layer: 0, neuron: 1, factor: 0 }, { layer: 1, neuron: 2, factor: 0 }], 'once each, the first factor kept');
  s = run([{ type: 'interveneFactor', layer: 1, neuron: 2, factor: 2 }, { type: 'interveneFactor', factor: NaN }], s);
  assert.deepEqual(s.settings.map((n) => n.factor), [0, 2]);
  s = run([{ type: 'interveneFactor', factor: -1 }, { type: 'interveneRows', rows: 'all' }], s);
  assert.deepEqual([s.settings.map((n) => n.factor), s.rows], [[-1, -1], 'all']);

  s = run([{ type: 'interveneRequested', requestId: 1 }, { type: 'interveneRequested', requestId: 2 }, answer(1, 0.1)], s);
  assert.equal(s.live, undefined, 'an older answer is dropped');
  assert.equal(s.pending, true);
  s = run([answer(2, 0.2)], s);
  assert.deepEqual([s.pending, s.live?.target.after], [false, 0.2]);
  s = run([{ type: 'interveneRequested', requestId: 3 }, { type: 'intervention', requestId: 3, error: 'no' }], s);
  assert.deepEqual([s.pending, s.error, s.live?.target.after], [false, 'no', 0.2]);
  s = run([{ type: 'interveneRemove', layer: 0, neuron: 1 }, { type: 'interveneRemove', layer: 1, neuron: 2 }], s);
  assert.deepEqual([s.settings, s.live, s.error], [[], undefined, undefined], 'nothing set: nothing shown');
});

test('intervene: the page\u2019s messages pass their guard only well formed', () => {
  const intervention = { settings: [{ layer: 0, neuron: 3, factor: 0.5 }], rows: 'readout' };
  assert.ok(isImageWebviewToHost({ type: 'intervene', requestId: 1, intervention }));
  assert.ok(isImageWebviewToHost({ type: 'interveneFolder', intervention: { ...intervention, rows: 'all' } }));
  assert.ok(isImageWebviewToHost({ type: 'exportEdited', intervention }));
  assert.ok(isImageWebviewToHost({ type: 'cancelInterveneFolder' }));
  for (const bad of [
    { type: 'intervene', requestId: 0, intervention },
    { type: 'intervene', requestId: 1, intervention: { ...intervention, rows: 'some' } },
    { type: 'intervene', requestId: 1, intervention: { settings: [], rows: 'readout' } },
    { type: 'intervene', requestId: 1, intervention: { settings: [{ layer: 0, neuron: 3, factor: Infinity }], rows: 'readout' } },
    { type: 'interveneFolder', intervention: { settings: [{ layer: -1, neuron: 3, factor: 0 }], rows: 'readout' } },
    { type: 'exportEdited', intervention: { settings: [{ layer: 0, neuron: 1.5, factor: 0 }], rows: 'readout' } },
    { type: 'exportEdited' },
  ]) assert.equal(isImageWebviewToHost(bad), false, JSON.stringify(bad));
});
