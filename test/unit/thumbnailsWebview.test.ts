// The feature-visualization thumbnails on the real pages (dist/webview.js, dist/folder.js) in headless
// chromium under their Content Security Policy: the image panel's path cards and the folder panel's
// heatmap cells show the visualization of their neuron where the host sent one, the bar asks for the
// missing ones (only those), shows the running neuron and its step, and stops. The PNGs are sample
// images served as the host's visualization URIs. Screenshots go to test-output/thumbnails/.
// Skipped without a chromium or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostToFolderWebview } from '../../src/protocol/folderPanel';
import type { HostToImageWebview } from '../../src/protocol/imagePanel';
import { neuronRefKey, type NeuronRef } from '../../src/protocol/thumbnails';
import { BASE_THEMES, skipUnlessPage, withPanelPage, type PanelPage } from './fixtures/chromiumPage';
import { fakeResult } from './fixtures/fakeEngine';
import { fakeReport } from './fixtures/fakeBatch';
import { REPO } from '../helpers/fixtures';

const SAMPLES = path.join(REPO, 'media', 'samples');
const PNGS = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.png')).sort();
const files = Object.fromEntries(PNGS.map((f) => [`/vis/${f}`, { contentType: 'image/png', body: fs.readFileSync(path.join(SAMPLES, f)) }]));

/** The neurons whose thumbnail is drawn and loaded, in page order. */
async function drawnThumbnails(page: PanelPage<unknown>['page']): Promise<string[]> {
  await page.waitForFunction(() => Array.from(document.querySelectorAll('img[data-testid=thumbnail]')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));
  return page.$$eval('img[data-testid=thumbnail]', (els) => els.map((e) => `${e.getAttribute('data-layer')}:${e.getAttribute('data-neuron')}`));
}

const statusText = (page: PanelPage<unknown>['page']) => page.textContent('[data-testid=thumbnails-status]').then((t) => t ?? '');
const isShown = (page: PanelPage<unknown>['page'], testid: string) => page.$eval(`[data-testid=${testid}]`, (e) => !(e as HTMLElement).hidden && (e as HTMLElement).offsetParent !== null);

test('image panel page: path cards show their thumbnails, the bar computes the missing ones with progress and stop', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const opts = { bundle: 'image', outDir: 'thumbnails', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS10aHVtYg', title: 'Neuron Path: coat.png', themes: BASE_THEMES, files };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, notFound, load, send, posted, cspViolations, screenshot }) => {
    await load();
    const result = fakeResult('/img/coat.png', { layers: 6, neurons: 64 });
    const pathNeurons: NeuronRef[] = result.path.map((p) => ({ layer: p.layer, neuron: p.neuron }));
    await send({ type: 'init', init: { imagePath: '/img/coat.png', imageUri: `${origin}/vis/${PNGS[0]}`, fileName: 'coat.png', modelName: 'model.onnx', target: 'predicted', result } });
    await send({ type: 'thumbnails', status: { uris: {} } });
    await page.waitForSelector('[data-testid=path-neuron]');
    assert.deepEqual(await drawnThumbnails(page), [], 'no visualization yet: no thumbnail');
    assert.match(await statusText(page), /^6 of 6 the path.s neurons have no feature visualization yet/);

    // the button asks for the path's neurons, all missing
    await page.click('[data-testid=visualize-thumbnails]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'visualizeNeurons'), [{ type: 'visualizeNeurons', neurons: pathNeurons }]);

    // running: the current neuron and its step; Stop instead of the button
    const [a, b] = pathNeurons;
    const uris = { [neuronRefKey(a.layer, a.neuron)]: `${origin}/vis/${PNGS[1]}` };
    await send({ type: 'thumbnails', status: { uris, running: { done: 1, total: 6, layer: b.layer, neuron: b.neuron, step: 40, steps: 256 } } });
    await page.waitForFunction((t) => document.querySelector('[data-testid=thumbnails-status]')?.textContent === t,
      `Visualizing layer ${b.layer}, neuron ${b.neuron} (2 of 6, step 40 of 256)...`);
    assert.equal(await isShown(page, 'stop-thumbnails'), true);
    assert.equal(await isShown(page, 'visualize-thumbnails'), false);
    assert.deepEqual(await drawnThumbnails(page), [neuronRefKey(a.layer, a.neuron)], 'the finished neuron\u2019s card has its thumbnail');
    const inCard = await page.$eval(`[data-testid=path-neuron][data-layer="${a.layer}"][data-neuron="${a.neuron}"] img[data-testid=thumbnail]`, (i) => (i as HTMLImageElement).src);
    assert.equal(inCard, uris[neuronRefKey(a.layer, a.neuron)]);
    await screenshot('image-panel-running.png');
    await page.click('[data-testid=stop-thumbnails]');
    assert.equal((await posted()).filter((m) => m.type === 'cancelVisualizeNeurons').length, 1);

    // stopped: what exists stays, the button offers the rest (only those are asked for)
    await send({ type: 'thumbnails', status: { uris, message: 'Stopped.' } });
    await page.waitForFunction(() => /^Stopped\. 5 of 6 /.test(document.querySelector('[data-testid=thumbnails-status]')?.textContent ?? ''));
    await page.click('[data-testid=visualize-thumbnails]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'visualizeNeurons')[1], { type: 'visualizeNeurons', neurons: pathNeurons.slice(1) });

    // every card has one: no button
    const all = Object.fromEntries(pathNeurons.map((n, i) => [neuronRefKey(n.layer, n.neuron), `${origin}/vis/${PNGS[i % PNGS.length]}`]));
    await send({ type: 'thumbnails', status: { uris: all } });
    await page.waitForFunction(() => /^Each of the path.s neurons shows its feature visualization/.test(document.querySelector('[data-testid=thumbnails-status]')?.textContent ?? ''));
    assert.deepEqual(await drawnThumbnails(page), pathNeurons.map((n) => neuronRefKey(n.layer, n.neuron)));
    assert.equal(await isShown(page, 'visualize-thumbnails'), false);
    await screenshot('image-panel-dark.png');

    // a new run hides the bar until its result
    await send({ type: 'runStarted', runId: 7, target: 'predicted' });
    await page.waitForFunction(() => (document.querySelector('[data-testid=thumbnail-bar]') as HTMLElement).hidden);

    assert.deepEqual(await cspViolations(), []);
    assert.deepEqual(errors, []);
    assert.deepEqual(notFound, []);
  });
});

test('folder panel page: heatmap cells show their thumbnails, the page names its cells to the host and asks for the missing ones', { skip: skipUnlessPage('folder'), timeout: 120_000 }, async () => {
  const opts = { bundle: 'folder', outDir: 'thumbnails', pagePath: '/folder.html', nonce: 'dGVzdC1ub25jZS1mb2xk', title: 'Neuron Path: shop/', themes: BASE_THEMES, files };
  await withPanelPage<HostToFolderWebview>(opts, async ({ page, origin, errors, notFound, load, send, posted, cspViolations, screenshot }) => {
    await load();
    const report = fakeReport();
    await send({ type: 'init', init: { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop', report } });
    await send({ type: 'thumbnails', status: { uris: {} } });
    await page.waitForSelector('[data-testid=heat-cell]');
    const cells: NeuronRef[] = await page.$$eval('[data-testid=heat-cell]', (els) => els.map((e) => ({ layer: Number(e.getAttribute('data-layer')), neuron: Number(e.getAttribute('data-neuron')) })));
    // the shown heatmap's neurons go to the host once (it answers with their cached thumbnails)
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'showNeurons'));
    assert.deepEqual((await posted()).filter((m) => m.type === 'showNeurons'), [{ type: 'showNeurons', neurons: cells }]);
    assert.match(await statusText(page), new RegExp(`^${cells.length} of ${cells.length} the heatmap.s neurons have no feature visualization yet`));

    const [first, second] = cells;
    const uris = { [neuronRefKey(first.layer, first.neuron)]: `${origin}/vis/${PNGS[0]}`, [neuronRefKey(second.layer, second.neuron)]: `${origin}/vis/${PNGS[1]}` };
    await send({ type: 'thumbnails', status: { uris } });
    await page.waitForSelector('[data-testid=heat-cell] img[data-testid=thumbnail]');
    assert.deepEqual((await drawnThumbnails(page)).sort(), Object.keys(uris).sort());
    const cellOf = await page.$eval('img[data-testid=thumbnail]', (i) => i.closest('[data-testid=heat-cell]')?.getAttribute('data-neuron'));
    assert.equal(cellOf, String(first.neuron), 'inside its own cell');
    assert.equal((await posted()).filter((m) => m.type === 'showNeurons').length, 1, 'a redraw with the same cells names them once');

    await page.click('[data-testid=visualize-thumbnails]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'visualizeNeurons'), [{ type: 'visualizeNeurons', neurons: cells.slice(2) }]);
    await send({ type: 'thumbnails', status: { uris, running: { done: 0, total: cells.length - 2, layer: cells[2].layer, neuron: cells[2].neuron } } });
    await page.waitForFunction((t) => document.querySelector('[data-testid=thumbnails-status]')?.textContent === t,
      `Visualizing layer ${cells[2].layer}, neuron ${cells[2].neuron} (1 of ${cells.length - 2})...`);
    await page.click('[data-testid=stop-thumbnails]');
    assert.equal((await posted()).filter((m) => m.type === 'cancelVisualizeNeurons').length, 1);
    await screenshot('folder-panel-dark.png');

    assert.deepEqual(await cspViolations(), []);
    assert.deepEqual(errors, []);
    assert.deepEqual(notFound, []);
  });
});
