// The neuron view's real page (src/extension/html.ts + dist/neuron.js + dist/neuron.css) in headless
// chromium under its Content Security Policy, fed with a real scan of media/samples by the bundled
// model: no policy violation, no script error; the top images in activation order with the map
// over each and the peak patch outlined, a click posts openImage; the per-class chart and the
// ablation table; live progress. Screenshots go to test-output/neuron/. Skipped without a chromium
// or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/engine/index';
import { NEURON_RECORDS, scanFolderNeurons, summarizeNeuron, type ScanRecord } from '../../src/engine/neurons/index';
import {  } from '../../src/engine/batch/records';
import type { HostToNeuronWebview, NeuronInit } from '../../src/protocol/neuronPanel';
import { REPO, tempDir } from '../helpers/fixtures';
import { BASE_THEMES, skipUnlessPage, withPanelPage } from './fixtures/chromiumPage';
import { readResultFileSync } from '../../src/engine/batch/resultFile';

const SAMPLES = path.join(REPO, 'media', 'samples');

test('neuron page: strict CSP, top images with map and peak, class chart, ablation table, live progress', { skip: skipUnlessPage('neuron'), timeout: 120_000 }, async () => {
  const modelOptions = { modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('neuron-page-cache'), threads: 1 };
  const engine = await Engine.open(modelOptions);
  const out = path.join(tempDir('neuron-page'), 'scan.jsonl');
  try { await scanFolderNeurons(engine, { folder: SAMPLES, out, units: [{ layer: 4, neuron: 29 }], modelOptions }); } finally { await engine.dispose(); }
  const location = { nodes: engine.info.blocks[4], gated: engine.info.ffn === 'gated' };
  const records = readResultFileSync(out, { kind: NEURON_RECORDS }).lines as unknown as ScanRecord[];
  const summary = summarizeNeuron(records, 4, 29, { top: 8 });

  const files = Object.fromEntries(fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.png'))
    .map((f) => [`/samples/${f}`, { contentType: 'image/png', body: fs.readFileSync(path.join(SAMPLES, f)) }]));
  const opts = { bundle: 'neuron', outDir: 'neuron', pagePath: '/neuron.html', nonce: 'dGVzdC1ub25jZS05OTk5', title: 'Neuron L4:29', themes: BASE_THEMES, files };
  await withPanelPage<HostToNeuronWebview>(opts, async ({ page, origin, errors, notFound, load, setTheme, send, posted, cspViolations, screenshot }) => {
    await load();
    const init: NeuronInit = { folder: SAMPLES, resultFile: out, layer: 4, neuron: 29, title: 'Layer 4, neuron 29: what excites it' };
    await send({ type: 'init', init: { ...init, running: { done: 0, total: 20, resumed: 0, analysed: 0, failed: 0, rate: 0 } } });
    await page.waitForSelector('[data-testid=status][data-state=running]');
    await send({ type: 'batchProgress', progress: { done: 8, total: 20, resumed: 0, analysed: 8, failed: 0, rate: 40, etaSeconds: 1 } });
    await page.waitForFunction(() => /8\/20 images, 40 img\/s/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''));

    const imageUris = Object.fromEntries(summary.top.map((t) => [t.image, `${origin}/samples/${path.basename(t.image)}`]));
    await send({ type: 'summary', summary, imageUris, location });
    await page.waitForSelector('[data-testid=top-image] img');
    // where the neuron lives, named as the image panel's path card names it (the bundled model's nodes), with Copy
    assert.deepEqual(location.nodes, { fc2: '/blocks.4/output/MatMul', linears: ['/blocks.4/intermediate/MatMul'], activation: '/blocks.4/act/Erf' });
    const line = 'Neuron #29 of block 4: input 29 of fc2 /blocks.4/output/MatMul · fc1 /blocks.4/intermediate/MatMul · activation /blocks.4/act/Erf';
    assert.equal(await page.textContent('[data-testid=neuron-location]'), `${line} Copy`);
    assert.equal(await page.$eval('[data-testid=neuron-location] code', (e) => getComputedStyle(e).userSelect), 'all');
    await page.click('[data-testid=copy-location]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'copy'), [{ type: 'copy', text: line }]);
    const tiles = await page.$$eval('[data-testid=top-image]', (els) => els.map((e) => [e.getAttribute('data-image'), Number(e.getAttribute('data-activation'))]));
    assert.deepEqual(tiles.map((t) => t[0]), summary.top.map((t) => t.image));
    for (let i = 1; i < tiles.length; i++) assert.ok(Number(tiles[i - 1][1]) >= Number(tiles[i][1]), 'in activation order');
    // the map is painted at patch resolution and the peak box sits on the peak patch
    const overlay = await page.$eval('[data-testid=top-image] canvas.overlay', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.deepEqual(overlay, [summary.grid[1], summary.grid[0]]);
    const box = await page.$eval('[data-testid=top-image] [data-testid=peak]', (el) => {
      const p = el.getBoundingClientRect(), t = el.parentElement!.getBoundingClientRect();
      return [(p.top - t.top) / t.height, (p.left - t.left) / t.width];
    });
    const peak = summary.top[0].peak;
    assert.ok(Math.abs(box[0] - peak.row / summary.grid[0]) < 0.03 && Math.abs(box[1] - peak.col / summary.grid[1]) < 0.03, `peak box at ${box.join(',')} for ${JSON.stringify(peak)}`);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid=top-image] img')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));

    // per-class chart and the ablation table (every class and all images)
    const chart = await page.$eval('#class-chart', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.ok(chart[0] > 100 && chart[1] > 100, `chart ${chart.join(',')}`);
    const rows = await page.$$eval('[data-testid=class-row]', (els) => els.map((e) => [e.getAttribute('data-class'), ...Array.from(e.children).map((c) => c.textContent)]));
    assert.equal(rows.length, summary.classes.length + 1);
    assert.equal(rows[rows.length - 1][0], 'all');
    assert.match(rows[rows.length - 1][4] ?? '', /^\d+(\.\d+)?% → \d+(\.\d+)?%$/, 'accuracy clean → zeroed');
    // the histogram over every scanned image, its caption naming the bins of the top images
    const hist = await page.$eval('[data-testid=histogram]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height, c.getAttribute('aria-label') ?? '']);
    assert.ok(Number(hist[0]) > 100 && Number(hist[1]) > 100, `histogram ${hist.join(',')}`);
    assert.match(String(hist[2]), new RegExp(`over ${summary.images} images: `));
    const caption = await page.$eval('#histogram-caption', (el) => el.textContent ?? '');
    assert.match(caption, new RegExp(`of the ${summary.images} images .* red: the (bin|${summary.histogram.topBins.length} bins) of the 8 images above`));
    await screenshot('running-dark.png');

    // the visualization beside the top images: the button asks for it, the steps show, then the image
    await page.click('[data-testid=visualize]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'visualize'), [{ type: 'visualize' }]);
    await send({ type: 'visualization', status: { running: true, step: 40, steps: 256 } });
    await page.waitForFunction(() => /step 40 of 256/.test(document.querySelector('#visualization-caption')?.textContent ?? ''));
    const png = `${origin}/samples/${path.basename(summary.top[0].image)}`;
    await send({ type: 'visualization', status: { running: false, visualization: { uri: png, activation: 9.5, steps: 256, seed: 0, seconds: 3 } } });
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid=visualization-image]');
      return !!img && !img.hidden && img.complete && img.naturalWidth > 0;
    });
    assert.match(await page.$eval('#visualization-caption', (el) => el.textContent ?? ''), /^Activation 9\.5 at the readout on this image, read back as any image \(the most active scanned image: /);
    assert.equal(await page.$eval('[data-testid=visualize]', (el) => (el as HTMLElement).hidden), true);
    await send({ type: 'batchDone', cancelled: false, result: { out, total: 20, resumed: 0, analysed: 20, failed: 0, cancelled: false, seconds: 0.5 } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('[data-testid=resume]'), false, 'a finished scan: nothing to resume');
    // A page that was not ready when the scan ended hears of it from init: the host's count of what
    // is left (without one, Resume is offered; with 0, not; with 3 images left, again).
    await send({ type: 'init', init: { ...init, summary } });
    await page.waitForSelector('[data-testid=resume]', { state: 'visible' });
    await send({ type: 'init', init: { ...init, summary, left: 0 } });
    await page.waitForSelector('[data-testid=resume]', { state: 'hidden' });
    await send({ type: 'init', init: { ...init, summary, left: 3 } });
    await page.waitForSelector('[data-testid=resume]', { state: 'visible' });
    // A view revived after a reload may be ready before the host has read its file: the summary
    // then brings the count, and a finished scan offers no Resume.
    await send({ type: 'init', init });
    await page.waitForSelector('[data-testid=resume]', { state: 'visible' });
    await send({ type: 'summary', summary, imageUris: {}, left: 0 });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    await page.waitForSelector('[data-testid=resume]', { state: 'hidden' });
    await send({ type: 'summary', summary, imageUris: {}, left: 2 });
    await page.waitForSelector('[data-testid=resume]', { state: 'visible' });
    await page.click('[data-testid=top-image] button.tile');
    const open = (await posted()).filter((m) => m.type === 'openImage');
    assert.deepEqual(open, [{ type: 'openImage', image: summary.top[0].image }]);
    await setTheme('light');
    await page.waitForTimeout(100);
    await screenshot('done-light.png');

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(notFound, []);
    assert.deepEqual(errors, []);
  });
});
