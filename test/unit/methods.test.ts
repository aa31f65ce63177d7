// The one method table (src/engine/methods.ts) and its readers: the image panel, the CLI's summary and
// the comparison over a folder show the same numbers for one record.
import test from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../../src/cli/summary';
import { compareMethods } from '../../src/engine/batch/compare';
import { methodRows } from '../../src/engine/methods';
import type { AnalysisResult } from '../../src/engine/result';
import { formatNumber, formatSigned } from '../../src/format';
import { methodName } from '../../webview/imageState';
import { fakeResult } from './fixtures/fakeEngine';

/** The fake record with a top-3 set, an influence pattern and the top-1 classes after removal. */
function record(): AnalysisResult {
  const r = fakeResult('/img/cat.png');
  return {
    ...r,
    topK: { k: 3, layers: [], jas: 0.7, remove: { probability: 0.05, deviation: 0.05 - 0.6, top1: 0 }, enhance: { probability: 0.95, deviation: 0.95 - 0.6, top1: 2 } },
    manipulation: { remove: { ...r.manipulation.remove, top1: 2 }, enhance: r.manipulation.enhance },
    baselines: { ...r.baselines, influencePattern: { path: [], jas: 0.1, remove: 0.58, enhance: 0.62, removeTop1: 4 }, random: { ...r.baselines.random!, removeKept: 0.9 } },
  };
}

test('methodRows: the stored deviations of the path and the top-K set, the baselines\' from the probability before', () => {
  const r = record();
  const rows = methodRows(r);
  assert.deepEqual(rows.map((x) => x.key), ['path', 'topk', 'activation', 'ig', 'ip', 'random']);
  const [path, topk, activation, , ip, random] = rows;
  assert.equal(path.removeDeviation, r.manipulation.remove.deviation);
  assert.equal(topk.enhanceDeviation, r.topK!.enhance.deviation);
  assert.equal(activation.removeDeviation, 0.5 - 0.6);
  assert.equal(random.enhanceDeviation, 0.61 - 0.6);
  assert.equal(random.jasStd, 0.005);
  assert.deepEqual(rows.map((x) => x.removeKept), [1, 0, undefined, undefined, 0, 0.9], 'top-1 still the target (class 2) after removal');
  assert.deepEqual([topk.k, random.paths], [3, 10]);
  assert.equal(ip.jas, 0.1);
  assert.deepEqual(methodRows({ ...r, topK: undefined, baselines: {} }).map((x) => x.key), ['path']);
});

test('the image panel, the CLI summary and the folder comparison show the same rows', () => {
  const r = record();
  const rows = methodRows(r);
  assert.deepEqual(rows.map(methodName), [
    'Neuron path (JAS)', 'Top-3 path (all 3 per layer)', 'Activation', 'Per-layer IG', 'Influence pattern', 'Random (10 paths)',
  ]);
  const text = summary(r);
  const cli = ['path', 'top-3 path (all 3)', 'activation', 'per-layer IG', 'influence pattern', 'random (10, mean)'];
  rows.forEach((row, i) => assert.ok(text.includes(`  ${cli[i].padEnd(22)}${formatNumber(row.jas, 6).padEnd(12)}${formatNumber(row.remove, 4)} (${formatSigned(row.removeDeviation)})`), `${cli[i]} in\n${text}`));
  const stats = compareMethods([r]);
  assert.deepEqual(stats.map((s) => s.method), ['path', 'activation', 'ig', 'ip', 'random'], 'the folder comparison has no top-K row');
  for (const s of stats) {
    const row = rows.find((x) => x.key === s.method)!;
    assert.deepEqual([s.jas.mean, s.removeDeviation.mean, s.enhanceDeviation.mean], [row.jas, row.removeDeviation, row.enhanceDeviation], s.method);
  }
});
