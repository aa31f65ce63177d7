// The one number formatter per kind (src/format.ts) that both panels and the CLI print with.
import assert from 'node:assert/strict';
import test from 'node:test';
import { formatNumber, formatPercent, formatSigned, formatSpread, MISSING } from '../../src/format';

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
