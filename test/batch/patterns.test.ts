// Category patterns, the method comparison and the pruning masks on hand-made records whose
// frequencies, similarities and statistics are worked out by hand.
import assert from 'node:assert/strict';
import test from 'node:test';
import { categoryPatterns, cleanAccuracy, compareMethods, cosine, groupOf, imagesThrough, interleave, loadReport, matchClass, mostFrequent, pathSets, pruneMasks, sample, SIMILAR_TOP_DEFAULT, SimilarityIndex, similarityPairs, splitClasses, topNeurons } from '../../src/engine/batch/index';
import { denseSimilarity, manyClassRecords } from '../../scripts/bench/classes';
import { recordsOf } from '../../src/engine/batch/records';
import { made, records } from './records';
import { rng } from '../../src/engine/random';
import { parseResultText } from '../../src/engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../../src/engine/batch/records';

const zerosOf = (m: Float32Array) => [...m.keys()].filter((j) => m[j] === 0);
const close = (a: number, b: number, what: string, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`);

// Class 0: paths [1,2] and [1,3]; class 1: [1,2]; class 2: [4,5].
const three = () => records([
  { path: [1, 2], trueClass: 0 }, { path: [1, 3], trueClass: 0 }, { path: [1, 2], trueClass: 1 }, { path: [4, 5], trueClass: 2 },
]);

test('frequencies per class and layer, most frequent first, with the images through each neuron', () => {
  const p = categoryPatterns(three());
  assert.equal(p.layers, 2);
  assert.equal(p.neurons, 8);
  assert.deepEqual(p.classes.map((c) => [c.key, c.label, c.count]), [['class:0', 'zero', 2], ['class:1', 'one', 1], ['class:2', 'two', 1]]);
  const c0 = p.classes[0];
  assert.deepEqual(c0.layers[0], [{ neuron: 1, count: 2, frequency: 1, images: [0, 1] }]);
  assert.deepEqual(c0.layers[1], [{ neuron: 2, count: 1, frequency: 0.5, images: [0] }, { neuron: 3, count: 1, frequency: 0.5, images: [1] }]);
  assert.deepEqual(topNeurons(c0, 1).map((l) => l.map((n) => n.neuron)), [[1], [2]], 'ties go to the lower neuron');
  assert.deepEqual(imagesThrough(p, 'class:0', 1, 3), ['/images/1.png']);
  assert.deepEqual(imagesThrough(p, 'class:0', 0, 1), ['/images/0.png', '/images/1.png']);
  assert.deepEqual(imagesThrough(p, 'class:2', 0, 1), []);
});

test('class similarity is the cosine of the frequency vectors over all layers; each class keeps its most similar', () => {
  const p = categoryPatterns(three());
  // class 0 = (L0: n1 1; L1: n2 .5, n3 .5), class 1 = (L0: n1 1; L1: n2 1): 1.5 / sqrt(1.5 * 2).
  close(cosine(p.classes[0], p.classes[1]), 1.5 / Math.sqrt(3), 'sim(0,1)');
  assert.equal(p.similarTop, SIMILAR_TOP_DEFAULT);
  assert.deepEqual(p.similar, [[{ index: 1, similarity: cosine(p.classes[0], p.classes[1]) }], [{ index: 0, similarity: cosine(p.classes[1], p.classes[0]) }], []],
    'class 2 shares no neuron: no similar class; a class is not its own');
  const index = new SimilarityIndex(p.classes);
  for (let i = 0; i < 3; i++) close(index.row(i)[i], 1, `sim(${i},${i})`);
  assert.deepEqual([...index.row(0)], p.classes.map((b) => cosine(p.classes[0], b)), 'a row is the dense row');
  assert.deepEqual(similarityPairs(p, 5), [{ a: 'zero', b: 'one', similarity: cosine(p.classes[0], p.classes[1]) }], 'each pair once');
  assert.throws(() => categoryPatterns(three(), { similarTop: 0 }), /most similar classes must be an integer from 1 to 1000, got 0/);
});

test('the top N of each class are the dense matrix entries, bit for bit, and the top pairs are the dense ones', () => {
  const records = manyClassRecords({ classes: 60, perClass: 3, layers: 4, neurons: 40, seed: 7 });
  const dense = denseSimilarity(categoryPatterns(records).classes);
  const zeros = dense.flat().filter((x) => x === 0).length;
  assert.ok(zeros > 0 && zeros < 60 * 59, `some pairs share no neuron, most do (${zeros} zeros)`);
  for (const n of [1, 5, 20, 59, 100]) {
    const p = categoryPatterns(records, { similarTop: n });
    dense.forEach((row, i) => {
      const expected = row.map((similarity, index) => ({ index, similarity })).filter((x) => x.index !== i && x.similarity > 0)
        .sort((a, b) => b.similarity - a.similarity || a.index - b.index).slice(0, n);
      assert.deepEqual(p.similar[i], expected, `class ${i}, top ${n}`);
    });
    const pairs = dense.flatMap((row, i) => row.flatMap((similarity, j) => (j > i && similarity > 0 ? [similarity] : []))).sort((a, b) => b - a).slice(0, n);
    const got = similarityPairs(p, n).map((x) => x.similarity);
    assert.equal(got.length, pairs.length);
    got.forEach((x, k) => close(x, pairs[k], `pair ${k} of the top ${n}`, 1e-15));
  }
  const index = new SimilarityIndex(categoryPatterns(records).classes);
  dense.forEach((row, i) => assert.deepEqual([...index.row(i)], row, `row ${i}`));
});

test('grouping: folder class, unmatched folder name, predicted class for a flat folder', () => {
  const rs = records([
    { path: [0, 0], trueClass: 2, predicted: 1 },
    { path: [0, 0], trueClass: null, folderLabel: 'misc', predicted: 1 },
    { path: [0, 0], trueClass: null, folderLabel: null, predicted: 3 },
  ]);
  assert.deepEqual(rs.map((r) => groupOf(r, 'auto')?.key), ['class:2', 'folder:misc', 'class:3']);
  assert.deepEqual(rs.map((r) => groupOf(r, 'predicted')?.key), ['class:1', 'class:1', 'class:3']);
  assert.deepEqual(rs.map((r) => groupOf(r, 'folder')?.key), ['class:2', 'folder:misc', undefined]);
  assert.equal(groupOf(rs[0], 'auto', ['a', 'b', 'Two'])?.label, 'Two', 'the model labels name the class when given');
  const p = categoryPatterns(rs, { by: 'folder' });
  assert.deepEqual(p.classes.map((c) => c.key), ['class:2', 'folder:misc'], 'classes first, then folders');
  assert.throws(() => categoryPatterns([...rs, made({ path: [1, 2, 3] }, 9)]), /records of different models/);
});

test('method comparison: means, spreads, accuracy after removal and how often the path wins', () => {
  const rs = records([
    { path: [0], before: 0.8, jas: 3, remove: 0.2, enhance: 0.9, removeTop1: 1, predicted: 0,
      activation: { jas: 1, remove: 0.7, enhance: 0.85, removeTop1: 0 }, random: { jasMean: 0, removeMean: 0.8, enhanceMean: 0.8, removeKept: 1 } },
    { path: [0], before: 0.6, jas: 1, remove: 0.5, enhance: 0.7, removeTop1: 0, predicted: 0,
      activation: { jas: 2, remove: 0.4, enhance: 0.65, removeTop1: 0 }, random: { jasMean: 0, removeMean: 0.6, enhanceMean: 0.6, removeKept: 0.5 } },
  ]);
  const [path, act, rnd, ...rest] = compareMethods(rs);
  assert.equal(rest.length, 0, 'no IG rows when the records hold none');
  assert.deepEqual([path.method, act.method, rnd.method], ['path', 'activation', 'random']);
  close(path.jas.mean, 2, 'path JAS mean'); close(path.jas.std, 1, 'path JAS std');
  close(path.removeDeviation.mean, (-0.6 + -0.1) / 2, 'path remove dev'); close(path.removeDeviation.std, 0.25, 'path remove std');
  close(path.enhanceDeviation.mean, (0.1 + 0.1) / 2, 'path enhance dev');
  assert.equal(path.removeKept, 0.5, 'image 1 keeps its top-1 after removing the path, image 0 does not');
  assert.equal(path.pathBeats, null);
  close(act.removeDeviation.mean, (-0.1 + -0.2) / 2, 'activation remove dev');
  assert.equal(act.removeKept, 1);
  assert.deepEqual(act.pathBeats, { jas: 0.5, remove: 0.5, enhance: 1 });
  close(rnd.jas.mean, 0, 'random JAS'); close(rnd.removeDeviation.mean, 0, 'random remove dev');
  assert.equal(rnd.removeKept, 0.75);
  assert.deepEqual(rnd.pathBeats, { jas: 1, remove: 1, enhance: 1 });
  // Records from before the top-1 fields: accuracy after removal is unknown, not wrong.
  assert.equal(compareMethods(records([{ path: [0] }]))[0].removeKept, null);
});

test('method comparison: the influence pattern is a row of its own, compared image by image with the path', () => {
  const rs = records([
    { path: [0], before: 0.8, jas: 3, remove: 0.2, enhance: 0.9, ip: { jas: 4, remove: 0.7, enhance: 0.85, removeTop1: 1 } },
    { path: [0], before: 0.6, jas: 1, remove: 0.5, enhance: 0.7, ip: { jas: 0.5, remove: 0.4, enhance: 0.65, removeTop1: 0 } },
  ]);
  const [, ip, ...rest] = compareMethods(rs);
  assert.equal(rest.length, 0);
  assert.equal(ip.method, 'ip');
  assert.equal(ip.name, 'influence pattern');
  close(ip.jas.mean, 2.25, 'IP JAS mean');
  close(ip.removeDeviation.mean, (-0.1 + -0.2) / 2, 'IP remove dev');
  assert.equal(ip.removeKept, 0.5);
  assert.deepEqual(ip.pathBeats, { jas: 0.5, remove: 0.5, enhance: 1 });
});

test('clean accuracy counts only images with a folder class', () => {
  assert.deepEqual(cleanAccuracy(records([{ path: [0], trueClass: 1, predicted: 1 }, { path: [0], trueClass: 2, predicted: 1 }, { path: [0], predicted: 3 }])),
    { accuracy: 0.5, images: 2 });
  assert.equal(cleanAccuracy(records([{ path: [0], predicted: 3 }])), null);
});

test('pruning masks: one random draw, the path (or activation) neurons spared, as many random ones spared in the control', () => {
  const D = 100;
  const masks = pruneMasks(D, 0.3, [1, 2, 3, 4, 5], rng(7), [50, 51]);
  assert.deepEqual(zerosOf(masks.unprotected).filter((j) => masks.activation[j] === 1).every((j) => j === 50 || j === 51), true);
  assert.ok(masks.activation[50] === 1 && masks.activation[51] === 1);
  const zeros = (m: Float32Array) => [...m.keys()].filter((j) => m[j] === 0);
  assert.equal(zeros(masks.unprotected).length, 30);
  assert.ok([1, 2, 3, 4, 5].every((j) => masks.protected[j] === 1), 'path neurons kept');
  const spared = zeros(masks.unprotected).filter((j) => masks.protected[j] === 1);
  assert.ok(spared.every((j) => j >= 1 && j <= 5), 'only the path neurons are spared');
  assert.ok(zeros(masks.protected).every((j) => masks.unprotected[j] === 0), 'the same draw');
  assert.ok(zeros(masks.control).every((j) => masks.unprotected[j] === 0));
  assert.deepEqual(pruneMasks(D, 0.3, [1, 2, 3, 4, 5], rng(7), [50, 51]), masks, 'seeded');
  const all = pruneMasks(D, 1, [7, 9], rng(1));
  assert.equal(zeros(all.unprotected).length, D);
  assert.deepEqual(zeros(all.protected).length, D - 2);
  assert.equal(zeros(all.control).length, D - 2);
  assert.deepEqual(zeros(pruneMasks(D, 0, [7], rng(1)).unprotected), []);
  const s = sample(10, 10, rng(3));
  assert.deepEqual([...s].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('kept neurons: every neuron of top-K sets counts, most frequent first, ties to the larger tie-break then the lower index', () => {
  const [a, b] = records([{ path: [1, 2], trueClass: 0 }, { path: [3, 2], trueClass: 0 }]);
  assert.deepEqual(pathSets(a), [[1], [2]]);
  const withTopK = { ...b, topK: { k: 2, jas: 0, remove: { probability: 0, deviation: 0 }, enhance: { probability: 0, deviation: 0 },
    layers: [[3, 1], [2, 6]].map((set, layer) => set.map((neuron) => ({ layer, neuron, activation: 0, score: 0 }))) } };
  assert.deepEqual(pathSets(withTopK), [[3, 1], [2, 6]]);
  assert.deepEqual(mostFrequent([pathSets(a), pathSets(withTopK)], 2, 2), [[1, 3], [2, 6]]);
  assert.deepEqual(mostFrequent([pathSets(a), pathSets(withTopK)], 2, 1, (l, j) => (l === 0 ? -j : 0)), [[1], [2]]);
  assert.deepEqual(mostFrequent([[[4], [5]], [[7], [5]]], 2, 2, (_l, j) => j), [[7, 4], [5]], 'fewer where fewer occur');
});

test('class split: seeded, disjoint, at least one image held out and one chosen; one-image classes left out; holdout 0 uses every image twice', () => {
  const rs = records([0, 0, 0, 0, 0, 1, 1, 2].map((c, i) => ({ path: [i % 8, 0], trueClass: c })));
  const { classes, tooSmall } = splitClasses(rs, 'auto', 0.2, 1);
  assert.deepEqual(classes.map((c) => [c.key, c.choose.length, c.heldOut.length]), [['class:0', 4, 1], ['class:1', 1, 1]]);
  assert.deepEqual(tooSmall, [7]);
  for (const c of classes) assert.ok(c.heldOut.every((i) => !c.choose.includes(i)));
  const seeds = new Set([1, 2, 3, 4, 5, 6].map((seed) => splitClasses(rs, 'auto', 0.2, seed).classes[0].heldOut[0]));
  assert.ok(seeds.size > 1, 'the held-out image depends on the seed');
  const same = splitClasses(rs, 'auto', 0, 1);
  assert.deepEqual(same.classes.map((c) => [c.choose, c.heldOut]), [[[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]], [[5, 6], [5, 6]], [[7], [7]]]);
  assert.throws(() => splitClasses(rs, 'auto', 1, 1), /holdout must be a fraction in \[0, 1\)/);
});

test('folder names match labels ignoring case and punctuation, or by index', () => {
  const fmnist = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  assert.equal(matchClass('tshirt-top', fmnist), 0);
  assert.equal(matchClass('T_SHIRT top', fmnist), 0);
  assert.equal(matchClass('ankle-boot', fmnist), 9);
  assert.equal(matchClass('shirt', fmnist), 6, 'Shirt, not T-shirt/top');
  assert.equal(matchClass('3', fmnist), 3);
  assert.equal(matchClass('10', fmnist), null);
  assert.equal(matchClass('boots', fmnist), null);
  assert.equal(matchClass('3', ['x', '3', 'y', 'z']), 1, 'a label named like the number wins over the index');
  assert.deepEqual(interleave([[1, 2, 3], [4], [5, 6]]), [1, 4, 5, 2, 6, 3]);
});

test('result files: a line cut off by a killed run is skipped, a re-analysed image counts once', () => {
  const [a, b] = records([{ path: [1] }, { path: [2] }]);
  const text = `${JSON.stringify(a)}\n${JSON.stringify(b)}\n${JSON.stringify({ ...a, jas: 42 })}\n{"schema":"neuron-path/1","mod`;
  const read = parseResultText(text, { kind: ANALYSIS_RECORDS });
  assert.equal(read.lines.length, 3);
  assert.deepEqual(read.skipped.map((s) => s.line), [4]);
  assert.equal(read.endsWithNewline, false);
  const rs = recordsOf(read.lines);
  assert.deepEqual(rs.map((r) => r.jas), [42, 1], 'the last record of an image wins');
  assert.equal(parseResultText('{"schema":"other"}\n', { kind: ANALYSIS_RECORDS }).skipped[0].reason, 'not a neuron-path/1 record (schema "other")');
});

test('a result file summarised for the report and a folder panel: comparison, patterns, accuracy, errors', () => {
  const rs = records([{ path: [1, 2], trueClass: 0, predicted: 0 }, { path: [1, 3], trueClass: 0, predicted: 1 }, { path: [4, 5], trueClass: 2, predicted: 2 }]);
  const error = { schema: 'neuron-path/1-error', image: '/images/bad.png', sha256: null, error: 'cannot read it', trueClass: 1, folderLabel: 'one', batch: rs[0].batch };
  const text = [...rs, error].map((l) => JSON.stringify(l)).join('\n') + '\n{"cut';
  const { report, records: read } = loadReport('/r.jsonl', {}, text);
  assert.equal(read.length, 3);
  assert.equal(report.images, 3);
  assert.deepEqual(report.errors, [{ image: '/images/bad.png', error: 'cannot read it' }]);
  assert.equal(report.unreadableLines, 1);
  assert.deepEqual(report.accuracy, { accuracy: 2 / 3, images: 3 });
  assert.deepEqual(report.patterns.classes.map((c) => c.key), ['class:0', 'class:2']);
  assert.equal(report.comparison[0].method, 'path');
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'plain JSON for a webview');
  assert.throws(() => loadReport('/e.jsonl', {}, `${JSON.stringify(error)}\n`), /holds no analysed images \(only error lines\)/);
  const other = { ...rs[2], model: { ...rs[2].model, sha256: 'b'.repeat(64) } };
  assert.throws(() => loadReport('/m.jsonl', {}, [rs[0], other].map((l) => JSON.stringify(l)).join('\n')), /mixes records of 2 different models/);
});
