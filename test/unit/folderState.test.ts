// The folder panel's state reducer (webview/folderState.ts): init, live progress, a new report that
// keeps the selection, heatmap cells and the images through a cell, the comparison table.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { FolderInit } from '../../src/protocol/folderPanel';
import { batchProgressText } from '../../src/format';
import { isFolderPersistedState, isFolderWebviewToHost, isPruneRequest } from '../../src/protocol/folderPanel';
import {
  cellImages, comparisonRows, DEFAULT_FRACTIONS, heatmapOf, initialFolderState, isReportImage, persistedFolder, pruneRequestOf, pruningRows, pruningText, reduceFolder, statusText,
  type FolderAction, type FolderState,
} from '../../webview/folderState';
import { fakeBatchLines, fakeReport } from './fixtures/fakeBatch';
import { folderComparisonChart } from '../../webview/folderCharts';
import { summarize } from '../../src/engine/batch/report';
import { parseResultText } from '../../src/engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../../src/engine/batch/records';
import { ERROR_SCHEMA } from '../../src/engine/batch/schema';

const INIT: FolderInit = { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop' };

function run(s: FolderState, ...actions: FolderAction[]): FolderState {
  return actions.reduce(reduceFolder, s);
}

test('init without a report is empty; with a running batch it is running', () => {
  const s = run(initialFolderState(), { type: 'init', init: INIT });
  assert.equal(s.status, 'empty');
  assert.equal(s.resultFile, INIT.resultFile);
  assert.equal(heatmapOf(s), undefined);
  assert.deepEqual(comparisonRows(s.report), []);
  const progress = { done: 3, total: 10, resumed: 0, analysed: 3, failed: 0, rate: 1.5, etaSeconds: 140 };
  const r = run(initialFolderState(), { type: 'init', init: { ...INIT, running: progress } });
  assert.equal(r.status, 'running');
  assert.equal(statusText(r), 'Analyzing: 3/10 images, 1.5 img/s, 2 min left');
  const starting = run(initialFolderState(), { type: 'init', init: { ...INIT, running: { ...progress, done: 0, total: 0, analysed: 0, rate: 0, etaSeconds: undefined } } });
  assert.equal(statusText(starting), 'Loading the model and scanning the folder...');
});

test('a report selects the first class; the comparison table has mean ± spread per method', () => {
  const report = fakeReport();
  const s = run(initialFolderState(), { type: 'init', init: { ...INIT, report } });
  assert.equal(s.status, 'done');
  assert.equal(s.selectedClass, 'class:0');
  const rows = comparisonRows(s.report);
  assert.deepEqual(rows.map((r) => r.method), ['path', 'activation', 'ig', 'random']);
  assert.match(rows[0].jas, /^0\.\d+ ± 0\.\d+$/);
  assert.match(rows[0].remove, /^-\d+(\.\d+)? ± \d+(\.\d+)? pp$/, 'percentage points, as the image panel');
  assert.equal(rows[0].kept, '25.0%');        // one image in four keeps its top-1 after removal
  assert.equal(rows[0].beats, '');
  assert.match(rows[1].beats, /^\d+% \/ \d+% \/ \d+%$/);
  assert.match(statusText(s), /^12 images analysed, 1 failed\.$/);
});

test('heatmap: layers x top-k neurons with frequencies; a cell lists the images through it', () => {
  const s = run(initialFolderState(), { type: 'init', init: { ...INIT, report: fakeReport() } });
  const map = heatmapOf(s)!;
  assert.equal(map.layers, 6);
  assert.equal(map.label, 'bag');
  assert.equal(map.images, 4);
  // layers 0 and 1: every bag image uses the same neuron; later layers split 2 + 1 + 1
  assert.deepEqual(map.rows[0].map((c) => [c.neuron, c.count, c.frequency]), [[0, 4, 1]]);
  assert.deepEqual(map.rows[2].map((c) => c.count), [2, 1, 1]);
  const cell = { layer: 2, neuron: map.rows[2][0].neuron };
  const withCell = run(s, { type: 'selectCell', cell });
  assert.deepEqual(cellImages(withCell), ['/data/shop/bag/bag-1.png', '/data/shop/bag/bag-3.png']);
  assert.equal(run(withCell, { type: 'selectCell', cell: { ...cell } }), withCell, 'the same cell changes nothing');

  // another class clears the cell; a new report (live update) keeps class and cell where they still exist
  const coat = run(withCell, { type: 'selectClass', key: 'class:1' });
  assert.equal(coat.selectedCell, undefined);
  assert.equal(heatmapOf(coat)!.label, 'coat');
  assert.equal(run(coat, { type: 'selectClass', key: 'class:9' }), coat, 'an unknown class is ignored');
  const live = run(withCell, { type: 'report', report: fakeReport(), skipped: [{ line: 3, reason: 'not valid JSON' }] });
  assert.equal(live.selectedClass, 'class:0');
  assert.deepEqual(live.selectedCell, cell);
  assert.equal(live.skipped.length, 1);
  const smaller = run(withCell, { type: 'setTopK', k: 1 });
  assert.equal(heatmapOf(smaller)!.rows[2].length, 1);
});

test('the class shown by default is the one with the most images; it follows a live run until the user picks one, whose pick is kept', () => {
  const lines = fakeBatchLines(4);
  // the first n images of each class named
  const reportOf = (images: Record<string, number>) => {
    const kept = lines.filter((l) => l.schema !== ERROR_SCHEMA && Number(/-(\d)\.png$/.exec(l.image.path)![1]) <= (images[l.folderLabel!] ?? 0));
    return summarize('/data/shop.neuron-path.jsonl', parseResultText(kept.map((l) => JSON.stringify(l)).join('\n') + '\n', { kind: ANALYSIS_RECORDS })).report;
  };
  // early in a run: one bag image; then coat has more images than bag
  let s = run(initialFolderState(), { type: 'init', init: { ...INIT, report: reportOf({ bag: 1 }) } });
  assert.equal(s.selectedClass, 'class:0');
  s = run(s, { type: 'report', report: reportOf({ bag: 1, coat: 3 }), skipped: [] });
  assert.equal(s.selectedClass, 'class:1', 'the largest class (coat: 3 images against 1), not the first');
  assert.equal(persistedFolder(s).selectedClass, undefined, 'a default is not kept as a choice');
  s = run(s, { type: 'report', report: reportOf({ bag: 1, coat: 3, sandal: 1 }), skipped: [] });
  s = run(s, { type: 'selectClass', key: 'class:2' });
  s = run(s, { type: 'report', report: reportOf({ bag: 4, coat: 4, sandal: 2 }), skipped: [] });
  assert.equal(s.selectedClass, 'class:2', 'the user\'s pick stays, though smaller');
  assert.equal(persistedFolder(s).selectedClass, 'class:2');
});

test('batch progress and its end; persisted state; message guards', () => {
  let s = run(initialFolderState(), { type: 'init', init: { ...INIT, report: fakeReport() } });
  const p = { done: 5, total: 20, resumed: 2, analysed: 3, failed: 1, rate: 0.5, etaSeconds: 30, latest: { image: '/data/shop/bag/bag-9.png', label: 'bag', probability: 0.9, jas: 0.4 } };
  s = run(s, { type: 'batchProgress', progress: p });
  assert.equal(s.status, 'running');
  assert.equal(batchProgressText(p), '5/20 images, 0.5 img/s, 30 s left, 1 failed');
  s = run(s, { type: 'batchDone', cancelled: true, result: { out: INIT.resultFile, total: 20, resumed: 2, analysed: 4, failed: 1, cancelled: true, seconds: 9 } });
  assert.equal(s.status, 'cancelled');
  assert.equal(s.progress?.done, 6);
  assert.match(statusText(s), /Stopped at 6\/20 images/);
  s = run(s, { type: 'batchDone', cancelled: false, message: 'The folder is gone.' });
  assert.equal(s.status, 'error');
  assert.equal(statusText(s), 'The folder is gone.');

  assert.deepEqual(persistedFolder(run(s, { type: 'selectClass', key: 'class:2' })), { resultFile: INIT.resultFile, folder: INIT.folder, selectedClass: 'class:2' });
  assert.equal(initialFolderState({ resultFile: 'x.jsonl', selectedClass: 'class:2' }).selectedClass, 'class:2');
  assert.ok(isFolderPersistedState({ resultFile: '/a.jsonl' }));
  assert.ok(!isFolderPersistedState({ resultFile: '' }));
  assert.ok(isFolderWebviewToHost({ type: 'openImage', image: '/a.png' }));
  assert.ok(!isFolderWebviewToHost({ type: 'openImage', image: 3 }));
  assert.ok(!isFolderWebviewToHost({ type: 'analyze' }));
  assert.ok(isReportImage(s.report, '/data/shop/coat/coat-2.png'));
  assert.ok(!isReportImage(s.report, '/etc/passwd'));
});

test('pruning: progress, the curve, a failure; the form values become a request or a reason', () => {
  let s = initialFolderState();
  assert.equal(s.pruning.status, 'idle');
  s = reduceFolder(s, { type: 'pruneProgress', done: 3, total: 10 });
  assert.deepEqual(s.pruning, { status: 'running', done: 3, total: 10, message: undefined });
  assert.match(pruningText(s), /3\/10 images/);
  const acc = { unprotected: 0.5, protected: 0.9, activation: 0.6, control: 0.55 };
  const curve = {
    keep: 5, seed: 0, holdout: 0.2, layers: 6, images: 20, skipped: [], reference: 'folder class' as const, clean: { accuracy: 0.95, targetProbability: 0.8 }, classes: [],
    points: [{ fraction: 0.5, zeroed: acc, accuracy: acc, targetProbability: acc }],
  };
  s = reduceFolder(s, { type: 'pruneDone', curve, cancelled: false });
  assert.equal(s.pruning.status, 'done');
  assert.match(pruningText(s), /Only 20 images measured: one image moves the accuracy by 5\.0%, so the curves cannot tell the variants apart\. Analyse more images per class \(at least 30 measured\)/);
  assert.doesNotMatch(pruningText(reduceFolder(s, { type: 'pruneDone', curve: { ...curve, images: 30 }, cancelled: false })), /Only/, '30 images: no warning');
  assert.deepEqual(pruningRows(curve), [{ zeroed: '0% (clean)', cells: ['95.0%', '95.0%', '95.0%', '95.0%'] }, { zeroed: '50.0%', cells: ['50.0%', '90.0%', '60.0%', '55.0%'] }]);
  s = reduceFolder(s, { type: 'pruneDone', cancelled: false, message: 'The pruning check failed: no model.' });
  assert.equal(s.pruning.status, 'error');
  assert.equal(s.pruning.curve, curve, 'the last curve stays');
  assert.equal(pruningText(s), 'The pruning check failed: no model.');

  assert.deepEqual(pruneRequestOf({ keep: '5', holdout: '20', layers: '', fractions: DEFAULT_FRACTIONS }), { keep: 5, holdout: 0.2, layers: undefined, fractions: [0.1, 0.3, 0.5, 0.7, 0.9] });
  assert.match(pruneRequestOf({ keep: '-1', holdout: '20', layers: '', fractions: '50' }) as string, /Neurons kept/);
  assert.match(pruneRequestOf({ keep: '1', holdout: '20', layers: '0', fractions: '50' }) as string, /Blocks/);
  assert.match(pruneRequestOf({ keep: '1', holdout: '20', layers: '', fractions: '50,120' }) as string, /Zeroed/);
  assert.ok(isPruneRequest(pruneRequestOf({ keep: '1', holdout: '0', layers: '3', fractions: '0,100' })));
  assert.ok(!isPruneRequest({ keep: 1, holdout: 1, fractions: [0.5] }), 'the host checks what the page sends');
  assert.ok(isFolderWebviewToHost({ type: 'prune', request: { keep: 1, holdout: 0.2, fractions: [0.5] } }));
  assert.ok(!isFolderWebviewToHost({ type: 'prune', request: { keep: 1.5, holdout: 0.2, fractions: [0.5] } }));
});

test('the comparison charts: remove and enhance in percentage points as the image panel gives them, JAS and accuracy each on their own scale', () => {
  const rows = comparisonRows(fakeReport());
  const theme = { foreground: '#000', muted: '#666', grid: '#ccc', background: '#fff', blue: 'b', red: 'r', green: 'g', orange: 'o', purple: 'p', yellow: 'y', font: 'sans' };
  const dev = folderComparisonChart(theme, rows, 'deviation');
  assert.deepEqual(dev.data.labels, ['remove (pp)', 'enhance (pp)']);
  const path = rows.find((r) => r.method === 'path')!;
  assert.deepEqual(dev.data.datasets[0].data, [100 * path.stats.removeDeviation.mean, 100 * path.stats.enhanceDeviation.mean]);
  assert.match(String((dev.options?.scales?.y as { title: { text: string } }).title.text), /\(pp\)/);
  assert.deepEqual(folderComparisonChart(theme, rows, 'jas').data.datasets[0].data, [path.stats.jas.mean]);
  assert.deepEqual(folderComparisonChart(theme, rows, 'accuracy').data.labels, ['accuracy after removal']);
});
