// The thumbnails' messages and state: the pages' guards accept neuron lists and refuse anything else,
// both pages keep the host's status, the folder page names the heatmap's neurons row by row, and the
// bar's text says what runs, what is missing and why a run stopped.
import test from 'node:test';
import assert from 'node:assert/strict';
import { isFolderWebviewToHost } from '../../src/protocol/folderPanel';
import { isImageWebviewToHost } from '../../src/protocol/imagePanel';
import { isNeuronRefs, MAX_THUMBNAIL_NEURONS } from '../../src/protocol/thumbnails';
import { heatmapNeurons, heatmapOf, initialFolderState, reduceFolder } from '../../webview/folderState';
import { initialImageState, reduceImage } from '../../webview/imageState';
import { missingThumbnails, thumbnailText } from '../../webview/thumbnails';
import { fakeReport } from './fixtures/fakeBatch';

test('the pages may name neurons (bounded indices) to visualize; anything else is refused', () => {
  const neurons = [{ layer: 0, neuron: 3 }, { layer: 5, neuron: 1535 }];
  assert.ok(isNeuronRefs(neurons));
  assert.ok(isNeuronRefs([]));
  for (const bad of [[{ layer: -1, neuron: 0 }], [{ layer: 0, neuron: 1.5 }], [{ layer: 0 }], [null], 'x', { layer: 0, neuron: 0 },
    Array.from({ length: MAX_THUMBNAIL_NEURONS + 1 }, () => ({ layer: 0, neuron: 0 }))]) {
    assert.equal(isNeuronRefs(bad), false, JSON.stringify(bad).slice(0, 60));
  }
  assert.ok(isImageWebviewToHost({ type: 'visualizeNeurons', neurons }));
  assert.ok(isImageWebviewToHost({ type: 'cancelVisualizeNeurons' }));
  assert.equal(isImageWebviewToHost({ type: 'visualizeNeurons' }), false);
  assert.equal(isImageWebviewToHost({ type: 'showNeurons', neurons }), false, 'the image panel names no cells');
  for (const type of ['showNeurons', 'visualizeNeurons']) {
    assert.ok(isFolderWebviewToHost({ type, neurons }));
    assert.equal(isFolderWebviewToHost({ type, neurons: [{ layer: '0', neuron: 1 }] }), false);
  }
  assert.ok(isFolderWebviewToHost({ type: 'cancelVisualizeNeurons' }));
});

test('both pages keep the host\u2019s thumbnail status; the folder page names its heatmap\u2019s neurons row by row', () => {
  const status = { uris: { '0:3': 'https://x/a.png' }, running: { done: 0, total: 2, layer: 1, neuron: 4, step: 3, steps: 256 } };
  assert.deepEqual(initialImageState().thumbnails, { uris: {} });
  assert.equal(reduceImage(initialImageState(), { type: 'thumbnails', status }).thumbnails, status);
  const folder = reduceFolder(initialFolderState(), { type: 'report', report: fakeReport(), skipped: [] });
  assert.equal(reduceFolder(folder, { type: 'thumbnails', status }).thumbnails, status);
  const map = heatmapOf(folder)!;
  const named = heatmapNeurons(folder);
  assert.deepEqual(named, map.rows.flatMap((row) => row.map((c) => ({ layer: c.layer, neuron: c.neuron }))));
  assert.ok(named.length > map.layers, 'more than one cell per layer');
  assert.deepEqual(heatmapNeurons(reduceFolder(folder, { type: 'setTopK', k: 1 })), map.rows.map((row) => ({ layer: row[0].layer, neuron: row[0].neuron })));
  assert.deepEqual(heatmapNeurons(initialFolderState()), []);
});

test('the bar\u2019s text: running neuron and step, missing count, a stop, all done', () => {
  const shown = [{ layer: 0, neuron: 3 }, { layer: 1, neuron: 4 }, { layer: 2, neuron: 9 }];
  const uris = { '0:3': 'https://x/a.png' };
  assert.deepEqual(missingThumbnails({ uris }, [{ layer: 0, neuron: 3, score: 1 } as never, ...shown.slice(1)]), shown.slice(1), 'only layer and neuron');
  assert.equal(thumbnailText({ uris, running: { done: 1, total: 2, layer: 2, neuron: 9, step: 7, steps: 256 } }, shown, 'x'),
    'Visualizing layer 2, neuron 9 (2 of 2, step 7 of 256)...');
  assert.equal(thumbnailText({ uris, running: { done: 0, total: 2, layer: 1, neuron: 4 } }, shown, 'x'), 'Visualizing layer 1, neuron 4 (1 of 2)...');
  assert.match(thumbnailText({ uris }, shown, 'the path\u2019s neurons'), /^2 of 3 the path\u2019s neurons have no feature visualization yet/);
  assert.match(thumbnailText({ uris, message: 'Stopped.' }, shown, 'x'), /^Stopped\. 2 of 3 x have/);
  assert.match(thumbnailText({ uris: { '0:3': 'a', '1:4': 'b', '2:9': 'c' } }, shown, 'x'), /^Each of x shows its feature visualization/);
  assert.equal(thumbnailText({ uris }, [], 'x'), '');
});
