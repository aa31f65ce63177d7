// The one rank order of a layer's neurons (src/engine/rank.ts) and the places that rank by it: compact
// records, the comparison of two paths and the image panel must agree, ties and non-numbers included.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { argmax, rankOf, rankOrder, topIndices } from '../../src/engine/rank';
import { compactScores } from '../../src/engine/batch/compact';
import { comparePaths } from '../../src/engine/pathCompare';
import type { AnalysisResult } from '../../src/engine/result';
import { rankLayer } from '../../webview/imageState';

test('rankOrder: higher score first, ties by lower index, numbers before NaN and null (JSON\'s NaN)', () => {
  const row = [0.5, NaN, 0.9, 0.5, Infinity, -Infinity, null, 0.9, -1, -0, 0] as number[];
  assert.deepEqual(rankOrder(row), [4, 2, 7, 0, 3, 9, 10, 8, 1, 5, 6]);
  assert.deepEqual(rankOrder([]), []);
});

test('rankOf, argmax and topIndices agree with rankOrder on rows full of ties', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const values = [0, 1, 2, NaN, -Infinity, Infinity, 0.25];
  for (let trial = 0; trial < 200; trial++) {
    const row = Array.from({ length: 1 + Math.floor(next() * 12) }, () => values[Math.floor(next() * values.length)]);
    const order = rankOrder(row);
    assert.deepEqual([...order].sort((a, b) => a - b), row.map((_, j) => j), 'a permutation');
    row.forEach((_, j) => assert.equal(rankOf(row, j), order.indexOf(j) + 1, `rank of ${j} in ${row.join(',')}`));
    assert.equal(argmax(row), order[0]);
    for (const k of [1, 2, 5]) assert.deepEqual(topIndices(row, k), order.slice(0, k));
    assert.deepEqual(topIndices(Float64Array.from(row), 3), order.slice(0, 3), 'typed arrays too');
  }
});

test('compact records, path comparison and the image panel rank a tied layer the same way', () => {
  // Neuron 3 ties with neuron 1 (lower index: ranks before it) and trails neuron 2.
  const scores = [[0.1, 0.5, 0.7, 0.5, 0.5], [0.2, 0.2, 0.2, 0.2, 0.2]];
  const record = (path: number[]) => ({
    schema: 'neuron-path/1', model: { path: 'm.onnx', sha256: 'x', neuronsPerLayer: 5 }, image: { path: 'i.png' },
    settings: { steps: 8, formula: 'reference', target: 'predicted', baselines: [] }, target: { class: 0, label: 'a', probability: 0.5 }, jas: 1,
    layerScores: scores, path: path.map((neuron, layer) => ({ layer, neuron, activation: 0, score: scores[layer][neuron] })),
  }) as unknown as AnalysisResult;
  const a = record([3, 4]), b = record([2, 0]);
  const expected = [3, 5];                                   // neuron 3 of layer 0, neuron 4 of layer 1
  assert.deepEqual(compactScores(a, 2).topScores.layers.map((l) => l.pathRank), expected);
  assert.deepEqual(compactScores(a, 2).topScores.layers.map((l) => l.neurons), [[2, 1], [0, 1]]);
  assert.deepEqual(comparePaths(b, a, { aOnB: 0, bOnA: 0 }).layers.map((l) => l.bRankInA), expected);
  const panel = scores.map((row) => rankLayer(row));
  assert.deepEqual(panel.map((ranked, l) => ranked.find((r) => r.neuron === a.path[l].neuron)!.rank + 1), expected);
  assert.deepEqual(panel.map((ranked) => ranked.map((r) => r.neuron)), scores.map(rankOrder));
});
