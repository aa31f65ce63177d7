// The one number formatter per kind (src/format.ts) that both panels and the CLI print with.
import assert from 'node:assert/strict';
import test from 'node:test';
import { analysisProgressText, formatNumber, formatPercent, formatSigned, formatSpread, MISSING, progressPercent, remainingSeconds } from '../../src/format';

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
