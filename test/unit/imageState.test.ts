// The panel's state reducer (webview/state.ts): init, progress that grows the path, result, target change.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ImageInit } from '../../src/protocol/imagePanel';
import {
  baselinesToAdd, classLabel, fmt, initialImageState, pct, persistedImage, rankLayer, reduceImage, shownPrediction, type ImageAction, type ImageState,
} from '../../webview/imageState';
import { fakeResult } from './fixtures/fakeEngine';

const INIT: ImageInit = {
  imagePath: '/img/cat.png', imageUri: 'https://file+.vscode-resource/img/cat.png', fileName: 'cat.png', modelName: 'vit.onnx', target: 'predicted',
};

function run(state: ImageState, ...actions: ImageAction[]): ImageState {
  return actions.reduce(reduceImage, state);
}

function progress(runId: number, n: number, layers = 3): ImageAction {
  const full = fakeResult('/img/cat.png', { layers });
  return { type: 'progress', runId, progress: { phase: 'layer', layer: n - 1, layers, partialPath: full.path.slice(0, n), message: `layer ${n}/${layers}` } };
}

test('init without a result: empty, with the persisted UI state kept', () => {
  const s = reduceImage(initialImageState({ imagePath: '/img/cat.png', overlayOpacity: 0.3, showOverlay: false }), { type: 'init', init: INIT });
  assert.equal(s.status, 'empty');
  assert.equal(s.fileName, 'cat.png');
  assert.deepEqual(s.path, []);
  assert.equal(s.overlayOpacity, 0.3);
  assert.equal(s.showOverlay, false);
  assert.equal(persistedImage(s).imagePath, '/img/cat.png');
});

test('init with a cached result: done, path from the result', () => {
  const result = fakeResult('/img/cat.png', { layers: 4 });
  const s = reduceImage(initialImageState(), { type: 'init', init: { ...INIT, result, cached: true } });
  assert.equal(s.status, 'done');
  assert.equal(s.cached, true);
  assert.equal(s.path.length, 4);
  assert.equal(s.layers, 4);
});

test('init while a run is in progress (the webview was reloaded): running, with the partial path', () => {
  const full = fakeResult('/img/cat.png', { layers: 5 });
  const s = reduceImage(initialImageState(), {
    type: 'init',
    init: { ...INIT, running: { runId: 9, progress: { phase: 'layer', layer: 1, layers: 5, partialPath: full.path.slice(0, 2), message: '' } } },
  });
  assert.equal(s.status, 'running');
  assert.equal(s.runId, 9);
  assert.equal(s.path.length, 2);
  assert.equal(s.layers, 5);
  assert.equal(s.selectedLayer, 1, 'follows the newest layer');
  // and continues to grow
  assert.equal(reduceImage(s, progress(9, 3, 5)).path.length, 3);
});

test('progress grows the path layer by layer and the selection follows it', () => {
  let s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 1, target: 'predicted' });
  assert.equal(s.status, 'running');
  assert.deepEqual(s.path, []);
  s = reduceImage(s, progress(1, 1));
  assert.equal(s.path.length, 1);
  assert.equal(s.selectedLayer, 0);
  s = reduceImage(s, progress(1, 2));
  assert.equal(s.path.length, 2);
  assert.equal(s.selectedLayer, 1);
  assert.equal(s.layers, 3);
  assert.equal(s.progress?.message, 'layer 2/3');
  // a progress message without a partial path (another phase) keeps the path
  s = reduceImage(s, { type: 'progress', runId: 1, progress: { phase: 'jas', message: 'JAS' } });
  assert.equal(s.path.length, 2);
  // a shorter (out of date) partial path never shrinks it
  s = reduceImage(s, progress(1, 1));
  assert.equal(s.path.length, 2);
});

test('the user picking a layer stops the selection from following', () => {
  let s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 1, target: 'predicted' }, progress(1, 1), progress(1, 2));
  s = reduceImage(s, { type: 'selectLayer', layer: 0 });
  assert.equal(s.followLive, false);
  s = reduceImage(s, progress(1, 3));
  assert.equal(s.selectedLayer, 0);
  // out of range selections are clamped
  assert.equal(reduceImage(s, { type: 'selectLayer', layer: 99 }).selectedLayer, 2);
  assert.equal(reduceImage(s, { type: 'selectLayer', layer: -4 }).selectedLayer, 0);
});

test('progress and results of another run are ignored', () => {
  const s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 2, target: 'predicted' });
  assert.equal(reduceImage(s, progress(1, 2)), s);
  assert.equal(reduceImage(s, { type: 'result', runId: 1, result: fakeResult('/img/cat.png') , cached: false }), s);
  assert.equal(reduceImage(s, { type: 'runFailed', runId: 1, message: 'x', cancelled: false }), s);
});

test('result: done, the full path, the explained target', () => {
  const result = fakeResult('/img/cat.png', { layers: 3, target: 4 });
  const s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 1, target: 4 }, progress(1, 1), progress(1, 2),
    { type: 'result', runId: 1, result, cached: false });
  assert.equal(s.status, 'done');
  assert.equal(s.result, result);
  assert.equal(s.path, result.path);
  assert.equal(s.target, 4);
  assert.equal(s.runId, undefined);
  assert.equal(s.progress, undefined);
  assert.equal(s.selectedLayer, 1, 'stays on the layer that was shown live');
});

test('target change: a new run replaces the path, a cancelled run falls back to the previous result', () => {
  const first = fakeResult('/img/cat.png', { layers: 3 });
  let s = run(initialImageState(), { type: 'init', init: { ...INIT, result: first } });
  s = reduceImage(s, { type: 'setTarget', target: 0 });
  assert.equal(s.target, 0);
  s = reduceImage(s, { type: 'runStarted', runId: 5, target: 0 });
  assert.equal(s.status, 'running');
  assert.deepEqual(s.path, []);
  assert.equal(s.result, first, 'the previous result stays until the new one arrives');
  // cancelled before any layer: nothing new was found, the previous result is shown again
  s = reduceImage(s, { type: 'runFailed', runId: 5, message: 'The analysis was cancelled.', cancelled: true });
  assert.equal(s.status, 'cancelled');
  assert.equal(s.message, 'The analysis was cancelled.');
  assert.equal(s.path, first.path);
  assert.equal(s.partial, undefined);
  assert.equal(s.target, 'predicted', 'the picker goes back to what the shown result explains');

  const second = fakeResult('/img/cat.png', { layers: 3, target: 0 });
  s = run(s, { type: 'runStarted', runId: 6, target: 0 }, { type: 'result', runId: 6, result: second, cached: true });
  assert.equal(s.status, 'done');
  assert.equal(s.target, 0);
  assert.equal(s.cached, true);
  assert.equal(s.result?.target.class, 0);
});

test('an error keeps the message and shows the last result', () => {
  const s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 1, target: 'predicted' },
    { type: 'runFailed', runId: 1, message: 'The model file x does not exist.', cancelled: false });
  assert.equal(s.status, 'error');
  assert.match(s.message ?? '', /does not exist/);
  assert.deepEqual(s.path, []);
});

test('labels, preview and overlay settings', () => {
  let s = run(initialImageState(), { type: 'init', init: { ...INIT, result: fakeResult('/img/cat.png') } });
  assert.equal(classLabel(s, 2), 'class-2', 'from the top predictions');
  assert.equal(classLabel(s, 3), 'class-3');
  s = reduceImage(s, { type: 'labels', labels: ['zero', 'one', 'two', 'three', 'four'] });
  assert.equal(classLabel(s, 2), 'two');
  s = reduceImage(s, { type: 'preview', dataUri: 'data:image/png;base64,AA' });
  assert.equal(s.previewUri, 'data:image/png;base64,AA');
  s = reduceImage(s, { type: 'setOverlay', opacity: 7 });
  assert.equal(s.overlayOpacity, 1);
  s = reduceImage(s, { type: 'setOverlay', show: false });
  assert.equal(s.showOverlay, false);
  assert.equal(s.overlayOpacity, 1);
});

test('rankLayer sorts every neuron by score, highest first, ties by index', () => {
  assert.deepEqual(rankLayer([0.1, 0.5, -1, 0.5, NaN]).map((r) => r.neuron), [1, 3, 0, 2, 4]);
  assert.deepEqual(rankLayer([0.1, 0.5]).map((r) => r.rank), [0, 1]);
});

test('number formatting', () => {
  assert.equal(fmt(0.123456), '0.123');
  assert.equal(fmt(1234.5), '1230');
  assert.equal(fmt(0.00001234), '1.23e-5');
  assert.equal(fmt(undefined), '–');
  assert.equal(pct(0.5), '50.0%');
  assert.equal(pct(0.9999), '99.99%');
});

test('the prediction shows while a run goes, from the clean pass, before the result', () => {
  const first = fakeResult('/img/cat.png', { layers: 3 });
  let s = run(initialImageState(), { type: 'init', init: { ...INIT, result: first } });
  assert.equal(shownPrediction(s)?.top, first.prediction.top);
  s = reduceImage(s, { type: 'runStarted', runId: 3, target: 2 });
  assert.equal(shownPrediction(s)?.top, first.prediction.top, 'the previous result until the clean pass of the new run');
  const top = [{ class: 2, label: 'two', probability: 0.6 }, { class: 0, label: 'zero', probability: 0.3 }];
  const prediction = { top, target: top[0] };
  s = reduceImage(s, { type: 'progress', runId: 3, progress: { phase: 'clean', message: 'clean', prediction } });
  assert.deepEqual(shownPrediction(s), { top, targetClass: 2 });
  s = reduceImage(s, progress(3, 1));
  s = reduceImage(s, { type: 'progress', runId: 3, progress: { phase: 'layer', layer: 1, layers: 3, message: 'l2', prediction } });
  assert.equal(shownPrediction(s)?.targetClass, 2);
  const second = fakeResult('/img/cat.png', { layers: 3, target: 0 });
  s = reduceImage(s, { type: 'result', runId: 3, result: second, cached: false });
  assert.equal(shownPrediction(s)?.top, second.prediction.top, 'the result once it is there');
});

test('cancel while the path grows keeps the path so far and the prediction, marked partial', () => {
  const full = fakeResult('/img/cat.png', { layers: 12 });
  const prediction = { top: full.prediction.top, target: full.target };
  let s = run(initialImageState(), { type: 'init', init: INIT }, { type: 'runStarted', runId: 3, target: 'predicted', baselines: ['activation', 'ig'] });
  assert.deepEqual(s.runBaselines, ['activation', 'ig']);
  assert.deepEqual(s.wantedBaselines, ['activation', 'ig']);
  for (let l = 0; l < 3; l++) {
    s = reduceImage(s, { type: 'progress', runId: 3, progress: { phase: 'layer', layer: l, layers: 12, partialPath: full.path.slice(0, l + 1), prediction, message: '' } });
  }
  s = reduceImage(s, { type: 'runFailed', runId: 3, message: 'The analysis was cancelled.', cancelled: true });
  assert.equal(s.status, 'cancelled');
  assert.equal(s.path.length, 3);
  assert.equal(s.layers, 12);
  assert.equal(s.partial?.partialPath?.length, 3);
  assert.equal(shownPrediction(s)?.targetClass, full.target.class, 'the prediction stays');
  // a reloaded webview gets the partial path back from the host
  const again = reduceImage(initialImageState(), { type: 'init', init: { ...INIT, cancelled: s.partial } });
  assert.equal(again.status, 'cancelled');
  assert.equal(again.path.length, 3);
  assert.equal(shownPrediction(again)?.top.length, full.prediction.top.length);
});

test('a result without baselines offers the missing ones; computing them keeps the path on screen', () => {
  const full = fakeResult('/img/cat.png', { layers: 3 });
  const pathOnly = { ...full, settings: { ...full.settings, baselines: [] }, baselines: {} };
  let s = run(initialImageState(), { type: 'init', init: { ...INIT, result: pathOnly, wantedBaselines: ['activation', 'ig', 'ip', 'random'] } });
  assert.deepEqual(baselinesToAdd(s), ['activation', 'ig', 'ip', 'random']);
  s = reduceImage(s, { type: 'runStarted', runId: 4, target: 'predicted', baselines: ['activation', 'ig', 'ip', 'random'], reusesPath: true });
  assert.equal(s.status, 'running');
  assert.equal(s.result, pathOnly, 'the path result stays shown while its baselines run');
  assert.equal(s.path, pathOnly.path);
  assert.deepEqual(baselinesToAdd(s), [], 'not offered while running');
  // cancelled: back to the path result, not a partial path
  const back = reduceImage(s, { type: 'runFailed', runId: 4, message: 'The analysis was cancelled.', cancelled: true });
  assert.equal(back.result, pathOnly);
  assert.equal(back.partial, undefined);
  const done = reduceImage(s, { type: 'result', runId: 4, result: { ...full, settings: { ...full.settings, baselines: ['activation', 'ig', 'ip', 'random'] } }, cached: false });
  assert.deepEqual(baselinesToAdd(done), []);
  // an older record without settings.baselines counts the baselines it holds
  const old = run(initialImageState(), { type: 'init', init: { ...INIT, result: full, wantedBaselines: ['activation', 'ig'] } });
  assert.deepEqual(baselinesToAdd(old), [], 'activation and IG are in the record');
  const oldWithout = run(initialImageState(), { type: 'init', init: { ...INIT, result: full, wantedBaselines: ['activation', 'ip'] } });
  assert.deepEqual(baselinesToAdd(oldWithout), ['ip'], 'the influence pattern is not');
});
