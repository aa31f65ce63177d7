// The bundled extension host (dist/extension.js) against the vscode stub and the real worker on the
// bundled model: the image panel's "Visualize the path neurons" computes the path neurons' feature
// visualizations in the worker (only neurons of the path: the page is not trusted) under one
// cancellable notification, with every step sent to the page, and the cards get their thumbnails;
// a reloaded page gets them at once; the folder panel's heatmap cells of the same neurons find them
// in the cache (nothing is computed); Stop ends a computation with what it finished.
// Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  deactivate, folderAndImagePanels, HOST_READY as ready, loadExtension, postedOf as of, ROOT, sampleImageFolder, stubVscode, untilWithin,
} from './fixtures/extensionHost';
import { makeContext } from './fixtures/vscodeStub';
import { neuronRefKey, type NeuronRef } from '../../src/protocol/thumbnails';

const until = untilWithin(120_000);
/**
 * The bundled model, not the tiny fixture: Stop comes at the second of a visualization's 256 steps, and
 * the rest must outlast the Stop's way to the worker on any machine (the fixture's steps take about 1 ms).
 */
const MODEL = path.join(ROOT, 'media', 'model', 'model.onnx');
const STUB = 'https://stub.vscode-cdn.net';

test('extension host: path-card and heatmap thumbnails computed in the worker, cached, shown again, stopped', { skip: ready ? false : 'needs npm run build and media/samples', timeout: 300_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-thumbs-'));
  const folder = sampleImageFolder(tmp);
  const { h, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 2, 'neuronPath.threads': 1, 'neuronPath.baselines': ['activation'] });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    loadExtension().activate(ctx);
    const { folderPanel, imagePanel, result } = await folderAndImagePanels(h, folder, path.join(folder, 'coat', 'coat-1.png'), until);
    const pathNeurons: NeuronRef[] = result.path.map((p: NeuronRef) => ({ layer: p.layer, neuron: p.neuron }));
    assert.ok(pathNeurons.length >= 2);
    const [a, b] = pathNeurons;
    await until('empty thumbnails after the result', () => of(imagePanel, 'thumbnails').find((t) => Object.keys(t.status.uris).length === 0));

    // two path neurons and one that is not on the path: only the two are computed
    const stranger = { layer: a.layer, neuron: a.neuron + 1 === b.neuron ? a.neuron + 2 : a.neuron + 1 };
    imagePanel.receive({ type: 'visualizeNeurons', neurons: [a, b, stranger] });
    const finished = await until('two thumbnails', () => of(imagePanel, 'thumbnails').find((t) => !t.status.running && Object.keys(t.status.uris).length === 2));
    assert.deepEqual(Object.keys(finished.status.uris).sort(), [neuronRefKey(a.layer, a.neuron), neuronRefKey(b.layer, b.neuron)].sort());
    for (const uri of Object.values<string>(finished.status.uris)) {
      assert.match(uri, /^https:\/\/stub\.vscode-cdn\.net\/.*visualizations\/[0-9a-f]{32}\.png$/);
      assert.ok(existsSync(uri.slice(STUB.length)), 'the PNG is in the cache');
    }
    const running = of(imagePanel, 'thumbnails').filter((t) => t.status.running).map((t) => t.status.running);
    assert.ok(running.some((r) => r.done === 0 && r.total === 2 && r.layer === a.layer && r.step >= 1 && r.steps === 256), 'the first neuron\u2019s steps');
    assert.ok(running.some((r) => r.done === 1 && r.layer === b.layer && r.neuron === b.neuron), 'then the second');
    assert.ok(h.progress.some((p) => p.title === 'Neuron Path: visualizing 2 neurons' && p.cancellable), 'one cancellable notification');

    // the page reloads: the thumbnails come with the init
    imagePanel.posted.length = 0;
    imagePanel.receive({ type: 'ready' });
    const again = await until('thumbnails after reload', () => of(imagePanel, 'thumbnails').find((t) => Object.keys(t.status.uris).length === 2));
    assert.deepEqual(again.status.uris, finished.status.uris);

    // the folder panel's heatmap cells: the same neurons come from the cache; a neuron of no path is dropped
    folderPanel.receive({ type: 'ready' });
    await until('folder report', () => of(folderPanel, 'init').find((x) => x.init.report));
    const notifications = h.progress.length;
    folderPanel.receive({ type: 'showNeurons', neurons: [a, b, { layer: 0, neuron: 100_000 }] });
    const cells = await until('heatmap thumbnails', () => of(folderPanel, 'thumbnails').find((t) => Object.keys(t.status.uris).length === 2));
    assert.deepEqual(cells.status.uris, finished.status.uris, 'the same visualizations, by the model\u2019s hash');
    assert.equal(h.progress.length, notifications, 'nothing computed');

    // Stop: the computation of the rest ends with what it finished, and says so
    const rest = pathNeurons.slice(2);
    assert.ok(rest.length >= 1, 'the fixture has more than two blocks');
    h.cancelAfterReports = 2;
    imagePanel.receive({ type: 'visualizeNeurons', neurons: rest });
    const stopped = await until('stopped', () => of(imagePanel, 'thumbnails').find((t) => t.status.message === 'Stopped.'));
    assert.equal(stopped.status.running, undefined);
    assert.deepEqual(stopped.status.uris, finished.status.uris, 'stopped during the first: the two from before');
  } finally {
    await deactivate(ctx, 200);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
