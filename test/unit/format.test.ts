// The one number formatter per kind (src/format.ts) that both panels and the CLI print with.
import assert from 'node:assert/strict';
import test from 'node:test';
import { roundTicks } from '../../webview/ticks';
import { analysisProgressText, batchProgressText, durationText, formatNumber, formatPercent, formatSigned, formatSpread, MISSING, pace, progressPercent, remainingSeconds, modelLabel, ordinal } from '../../src/format';

test('numbers: significant digits, exponent outside 1e-3..1e4, a dash when missing', () => {
  assert.equal(formatNumber(0.123456), '0.123');
  assert.equal(formatNumber(0.123456, 4), '0.1235');
  assert.equal(formatNumber(-0.0012345), '-0.00123');
  assert.equal(formatNumber(0.00001234), '1.23e-5');
  assert.equal(formatNumber(123456), '1.23e+5');
  assert.equal(formatNumber(0), '0');
  for (const v of [undefined, null, NaN, Infinity]) assert.equal(formatNumber(v), MISSING);
});

test('changes carry their sign; percentages keep 0% and 100% exact; spreads read mean ± std', () => {
  assert.equal(formatSigned(0.0256), '+0.0256');
  assert.equal(formatSigned(-0.0483), '-0.0483');
  assert.equal(formatSigned(0), '0');
  assert.equal(formatPercent(0.5), '50.0%');
  assert.equal(formatPercent(0.9999), '99.99%');
  assert.equal(formatPercent(0.0004), '0.04%');
  assert.equal(formatPercent(1), '100%');
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatSpread({ mean: 0.412, std: 0.0513, n: 4 }), '0.412 ± 0.0513');
  assert.equal(formatSpread({ mean: -0.05, std: 0.01, n: 4 }, true), '-0.05 ± 0.01');
  assert.equal(formatSpread({ mean: 0, std: 0, n: 0 }), MISSING);
});

test('an analysis\'s remaining time: from the measured rows per second and the rows planned, with the phase', () => {
  // 20 of 200 rows in 10 s: 0.5 s a row, 180 rows left, 90 s.
  const p = { phase: 'layer' as const, message: 'path: layer 1 of 12, neuron 5', work: { done: 20, total: 200, seconds: 10 } };
  assert.equal(remainingSeconds(p), 90);
  assert.equal(analysisProgressText(p), 'path: layer 1 of 12, neuron 5 · about 2 min left');
  assert.equal(analysisProgressText({ ...p, work: { done: 190, total: 200, seconds: 95 } }), 'path: layer 1 of 12, neuron 5 · about 5 s left');
  // nothing measured yet: no estimate, the phase alone
  assert.equal(remainingSeconds({ phase: 'clean', message: 'clean forward pass' }), undefined);
  assert.equal(analysisProgressText({ ...p, work: { done: 0, total: 200, seconds: 0 } }), p.message);
  assert.equal(progressPercent({ ...p, work: { done: 100, total: 200, seconds: 10 } }), 52.5);
});

test('a run\'s pace and progress line: the rate since the start, the time left at it, neither before the first item', () => {
  assert.deepEqual(pace(0, 5, 10), { rate: 0, etaSeconds: undefined });
  assert.deepEqual(pace(3, 0, 10), { rate: 0, etaSeconds: undefined });
  assert.deepEqual(pace(4, 2, 10), { rate: 2, etaSeconds: 5 });
  assert.equal(batchProgressText({ done: 0, total: 14, failed: 0, ...pace(0, 1, 14) }), '0/14 images');
  assert.equal(batchProgressText({ done: 4, total: 14, failed: 1, ...pace(4, 2, 10) }), '4/14 images, 2.0 img/s, 5 s left, 1 failed');
  assert.equal(batchProgressText({ done: 14, total: 14, failed: 0, ...pace(14, 1, 0) }), '14/14 images, 14 img/s');
  assert.deepEqual([59.4, 61, 3599, 3900].map((s) => durationText(s)), ['59 s', '1 min', '1 h', '1 h 5 min']);
});

test('one name for a model everywhere: the bundled one by that name, others by the file and the folder that tells them apart', () => {
  assert.equal(modelLabel('/ext/media/model/model.onnx', '/ext/media/model/model.onnx'), 'bundled model');
  assert.equal(modelLabel('/ext/media/model/model.onnx'), 'model/model.onnx');
  assert.equal(modelLabel('/home/u/models/vit-small/model.onnx', '/ext/media/model/model.onnx'), 'vit-small/model.onnx');
  assert.equal(modelLabel('/home/u/hub/vit-base/onnx/model.onnx'), 'vit-base/onnx/model.onnx');
  assert.equal(modelLabel('C:\\models\\deit\\model.onnx'), 'deit/model.onnx');
  assert.equal(modelLabel('model.onnx'), 'model.onnx');
});

test('axis ticks: a step of 5·10^k keeps only the round ones; other steps stay', () => {
  const near = (xs: number[]) => xs.map((x) => Number(x.toPrecision(6)));
  assert.deepEqual(near(roundTicks([0.03, 0.035, 0.04, 0.045, 0.05])), [0.03, 0.04, 0.05]);
  assert.deepEqual(near(roundTicks([-15, -10, -5, 0, 5])), [-10, 0]);
  assert.deepEqual(roundTicks([0, 0.2, 0.4, 0.6]), [0, 0.2, 0.4, 0.6], 'a step of 2 is round');
  assert.deepEqual(roundTicks([0.035, 0.04, 0.045]), [0.035, 0.04, 0.045], 'one round tick would leave no axis: kept');
  assert.deepEqual(roundTicks([1, 10]), [1, 10]);
});

test('a rank in words: 1st, 2nd, 3rd, then th, with 11th to 13th', () => {
  assert.deepEqual([1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal), ['1st', '2nd', '3rd', '4th', '10th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th']);
});
