// The panel's real page (src/extension/html.ts + dist/image.js + dist/image.css) in headless
// chromium, under its Content Security Policy, with a stub of the VS Code webview API: no policy
// violation, no script error, the path grows with progress, a result draws the charts, the target
// picker and the exports post the right messages. Screenshots (light, dark, high contrast) go to
// test-output/webview/. Skipped without a chromium or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisResult } from '../../src/engine/result';
import type { HostToImageWebview, ImageInit } from '../../src/protocol/imagePanel';
import { BASE_THEMES, skipUnlessPage, withPanelPage, withVars, type Theme } from './fixtures/chromiumPage';
import { FAKE_PREPROCESSING, fakeResult } from './fixtures/fakeEngine';
import { FIXTURES } from '../helpers/fixtures';

/** A result the size of ViT-B (12 layers x 3072 neurons, 14 x 14 patches), deterministic. */
function bigResult(): AnalysisResult {
  const L = 12, D = 3072;
  const base = fakeResult('/img/cat.png', { layers: L, neurons: D, target: 'predicted' });
  let seed = 42;
  const rnd = (): number => { seed = (seed * 1664525 + 1013904223) % 4294967296; return seed / 4294967296; };
  const layerScores = Array.from({ length: L }, () => Array.from({ length: D }, () => (rnd() - 0.3) ** 3 * 0.01));
  const path = base.path.map((_p, l) => {
    const neuron = Math.floor(rnd() * D);
    layerScores[l][neuron] = 0.02 + 0.01 * l;
    return { layer: l, neuron, activation: 0.5 + rnd() * 3, score: layerScores[l][neuron] };
  });
  return {
    ...base,
    model: { ...base.model, path: '/models/vit-b16.onnx', numClasses: 10 },
    path, layerScores, jas: 0.41,
    tokenMaps: path.map((p) => ({ layer: p.layer, neuron: p.neuron, grid: [14, 14] as [number, number], values: Array.from({ length: 196 }, (_, i) => Math.sin(i / 9 + p.layer) + rnd() * 0.3) })),
    baselines: {
      activation: { path: path.map((p) => ({ ...p, neuron: (p.neuron + 7) % D })), jas: 0.12, remove: 0.52, enhance: 0.66 },
      integratedGradients: { path: path.map((p) => ({ ...p, neuron: (p.neuron + 11) % D })), jas: 0.2, remove: 0.41, enhance: 0.7 },
      random: { count: 10, seed: 0, jasMean: 0.004, jasStd: 0.003, removeMean: 0.59, enhanceMean: 0.61 },
    },
    timing: { seconds: 41.5, forwardPasses: 260, backwardPasses: 12 },
  };
}

const THEMES: Record<string, Theme> = {
  dark: withVars(BASE_THEMES.dark, { '--vscode-editorWidget-background': '#202020', '--vscode-list-hoverBackground': '#2a2d2e' }),
  light: withVars(BASE_THEMES.light, {
    '--vscode-editorWidget-background': '#f8f8f8', '--vscode-list-hoverBackground': '#f2f2f2',
    '--vscode-settings-dropdownListBorder': '#c8c8c8', '--vscode-settings-checkboxBackground': '#f8f8f8', '--vscode-settings-checkboxBorder': '#cecece',
    '--vscode-settings-checkboxForeground': '#3b3b3b', '--vscode-badge-background': '#cccccc', '--vscode-badge-foreground': '#3b3b3b',
    '--vscode-list-activeSelectionBackground': '#e8e8e8', '--vscode-list-activeSelectionForeground': '#000000',
  }),
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      '--vscode-foreground': '#ffffff', '--vscode-descriptionForeground': '#ffffff', '--vscode-editor-background': '#000000',
      '--vscode-panel-border': '#6fc3df', '--vscode-contrastBorder': '#6fc3df', '--vscode-contrastActiveBorder': '#f38518', '--vscode-focusBorder': '#f38518',
      '--vscode-charts-blue': '#3794ff', '--vscode-charts-red': '#f14c4c', '--vscode-charts-green': '#89d185', '--vscode-charts-orange': '#d18616',
      '--vscode-charts-purple': '#b180d7', '--vscode-charts-lines': 'rgba(255,255,255,0.5)', '--vscode-font-family': 'system-ui, sans-serif', '--vscode-font-size': '13px',
      '--vscode-button-secondaryBackground': '#000000', '--vscode-button-secondaryForeground': '#ffffff', '--vscode-button-border': '#6fc3df',
      '--vscode-settings-dropdownBackground': '#000000', '--vscode-settings-dropdownForeground': '#ffffff', '--vscode-settings-dropdownBorder': '#6fc3df',
      '--vscode-settings-checkboxBackground': '#000000', '--vscode-settings-checkboxBorder': '#6fc3df', '--vscode-badge-background': '#000000', '--vscode-badge-foreground': '#ffffff',
    },
  },
};

/** The page's image: a 224 x 224 gradient PNG served at /img/cat.png. */
async function catImage(): Promise<Record<string, { contentType: string; body: Buffer }>> {
  const sharp = (await import('sharp')).default;
  const px = Buffer.alloc(224 * 224 * 3);
  for (let i = 0; i < 224 * 224; i++) { px[i * 3] = (i % 224); px[i * 3 + 1] = Math.floor(i / 224); px[i * 3 + 2] = 128; }
  return { '/img/cat.png': { contentType: 'image/png', body: await sharp(px, { raw: { width: 224, height: 224, channels: 3 } }).png().toBuffer() } };
}

test('webview: strict CSP, live path, charts, picker and exports in chromium', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const files = await catImage();
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS0xMjM0', title: 'Neuron Path: cat.png', themes: THEMES, files };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, notFound, load, setTheme, send, posted, cspViolations, screenshot }) => {
    await load();
    const ready = await posted();
    assert.equal(ready[ready.length - 1].type, 'ready', 'ready is posted last');

    const init: ImageInit = { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-b16.onnx', target: 'predicted' };
    await send({ type: 'init', init });
    await page.waitForSelector('[data-testid=status][data-state=idle]');
    assert.equal(await page.getAttribute('[data-testid=panel]', 'data-image'), 'cat.png');

    // a run grows the path live
    const result = bigResult();
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    assert.match(await page.textContent('#top5') ?? '', /Computing/);
    // the prediction shows as soon as the clean pass ends, before the path
    const prediction = { top: result.prediction.top, target: result.target };
    await send({ type: 'progress', runId: 1, progress: { phase: 'clean', message: 'predicted', prediction } });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction]').length > 0);
    const live = await page.$$eval('[data-testid=prediction]', (els) => els.map((e) => [e.getAttribute('data-class'), e.className]));
    assert.deepEqual(live.map((x) => x[0]), result.prediction.top.map((t) => String(t.class)));
    assert.ok(live.find((x) => x[0] === String(result.target.class))?.[1].includes('is-target'), 'the explained class is marked while running');
    for (let l = 0; l < 5; l++) {
      await send({ type: 'progress', runId: 1, progress: { phase: 'layer', layer: l, layers: 12, partialPath: result.path.slice(0, l + 1), prediction, message: `Layer ${l + 1}/12` } });
    }
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=path-neuron]').length === 5);
    assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'running');
    assert.equal(await page.$$eval('[data-testid=prediction]', (els) => els.length), result.prediction.top.length);
    const layers = await page.$$eval('[data-testid=path-neuron]', (els) => els.map((e) => [Number(e.getAttribute('data-layer')), Number(e.getAttribute('data-neuron'))]));
    assert.deepEqual(layers, result.path.slice(0, 5).map((p) => [p.layer, p.neuron]));
    await screenshot('running-dark.png');

    // the result
    await send({ type: 'labels', labels: Array.from({ length: 10 }, (_, i) => ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'][i]) });
    await send({ type: 'result', runId: 1, result, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.$$eval('[data-testid=path-neuron]', (els) => els.length), 12);
    assert.equal(await page.getAttribute('[data-testid=target]', 'data-class'), String(result.target.class));
    const predictions = await page.$$eval('[data-testid=prediction]', (els) => els.map((e) => [e.getAttribute('data-class'), e.getAttribute('data-probability')]));
    assert.deepEqual(predictions, result.prediction.top.map((t) => [String(t.class), String(t.probability)]));
    // charts are drawn (chart.js sizes the canvases) and the map is painted at patch resolution
    const sizes = await page.$$eval('canvas', (els) => els.map((c) => [c.id, c.width, c.height]));
    for (const id of ['score-chart', 'jas-chart', 'manipulation-chart']) {
      const s = sizes.find((x) => x[0] === id);
      assert.ok(s && Number(s[1]) > 100 && Number(s[2]) > 100, `${id}: ${JSON.stringify(sizes)}`);
    }
    assert.deepEqual(sizes.find((x) => x[0] === 'overlay')?.slice(1), [14, 14]);
    assert.equal(await page.$$eval('#top10 tr', (rows) => rows.length), 10);

    // keyboard: the selected node has focus, arrows move the selection
    await page.focus('[data-testid=path-neuron].selected button');
    const before = await page.getAttribute('[data-testid=path-neuron].selected', 'data-layer');
    await page.keyboard.press('Home');
    assert.equal(await page.getAttribute('[data-testid=path-neuron].selected', 'data-layer'), '0');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getAttribute('[data-testid=path-neuron].selected', 'data-layer'), '1');
    assert.notEqual(before, null);
    assert.match(await page.textContent('#layer-heading') ?? '', /Layer 1/);

    // the selected path card's neuron view
    assert.match(await page.textContent('[data-testid=neuron-view]') ?? '', new RegExp(`What excites #${result.path[1].neuron}\\?`));
    await page.click('[data-testid=neuron-view]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'neuronView'), [{ type: 'neuronView', layer: 1, neuron: result.path[1].neuron }]);

    // exports
    await page.click('#export-json');
    await page.click('#section-layer .row-actions vscode-button');
    const exports = (await posted()).filter((m) => m.type === 'export') as unknown as Array<{ request: { format: string; dataUrl?: string } }>;
    assert.equal(exports[0].request.format, 'json');
    assert.equal(exports[1].request.format, 'png');
    assert.match(exports[1].request.dataUrl ?? '', /^data:image\/png;base64,/);

    // the target picker re-runs with the chosen class
    await page.evaluate(() => {
      const sel = document.querySelector('[data-testid=target-select]') as HTMLElement & { value: string };
      sel.value = '4';
      sel.dispatchEvent(new Event('change'));
    });
    const analyze = (await posted()).filter((m) => m.type === 'analyze');
    assert.deepEqual(analyze[analyze.length - 1], { type: 'analyze', target: 4 });

    for (const theme of ['dark', 'light', 'high-contrast']) {
      await setTheme(theme);
      await page.waitForTimeout(100);
      await screenshot(`done-${theme}.png`);
    }

    // cancel goes back to the last result
    await send({ type: 'runStarted', runId: 2, target: 4 });
    await send({ type: 'runFailed', runId: 2, message: 'The analysis was cancelled.', cancelled: true });
    await page.waitForSelector('[data-testid=status][data-state=cancelled]');
    assert.match(await page.textContent('[data-testid=status]') ?? '', /cancel/i);
    assert.equal(await page.$$eval('[data-testid=path-neuron]', (els) => els.length), 12);

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(notFound, []);
    assert.deepEqual(errors, []);
  });
});

test('webview: the influence-pattern row and the K neurons of a top-K path, beside the path neuron', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  const D = base.model.neuronsPerLayer, k = 3;
  const sets = base.path.map((p) => [p.neuron, (p.neuron + 100) % D, (p.neuron + 200) % D]);
  const result: AnalysisResult = {
    ...base,
    settings: { ...base.settings, topK: k },
    topK: {
      k, jas: 0.9,
      layers: sets.map((set, layer) => set.map((neuron, i) => ({ layer, neuron, activation: 1 + i, score: base.layerScores[layer][neuron] }))),
      remove: { probability: 0.3, deviation: 0.3 - base.target.probability }, enhance: { probability: 0.8, deviation: 0.8 - base.target.probability },
    },
    baselines: { ...base.baselines, influencePattern: { path: base.path.map((p) => ({ ...p, neuron: (p.neuron + 13) % D })), jas: 0.05, remove: 0.55, enhance: 0.6 } },
  };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS01Njc4', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted, cspViolations, screenshot }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-b16.onnx', target: 'predicted' } });
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    await send({ type: 'result', runId: 1, result, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');

    // The comparison: the top-K set and the influence pattern are rows of their own, with their numbers.
    const rows = await page.$$eval('[data-testid=method-row]', (els) => els.map((e) => [e.getAttribute('data-method'), e.querySelector('th')!.textContent]));
    assert.deepEqual(rows.map((r) => r[0]), ['path', 'topk', 'activation', 'ig', 'ip', 'random']);
    assert.equal(rows[1][1], 'Top-3 path (all 3 per layer)');
    assert.equal(rows[4][1], 'Influence pattern');
    const ipCells = await page.$$eval('[data-testid=method-row][data-method=ip] td', (els) => els.map((e) => e.textContent));
    assert.deepEqual(ipCells.slice(0, 2), ['0.05', '55.0%']);

    // The path diagram: the first neuron of each layer as before, the other K-1 beside it.
    const nodes = await page.$$eval('[data-testid=path-neuron]', (els) => els.map((e) => [Number(e.getAttribute('data-neuron')),
      Array.from(e.querySelectorAll("[data-testid=topk-neuron]"), (c) => Number(c.getAttribute("data-neuron")))]));
    assert.deepEqual(nodes, sets.map((s) => [s[0], s.slice(1)]));
    const layout = await page.$eval('[data-testid=path-neuron][data-layer="0"]', (el) => {
      const b = el.querySelector('.node-button')!.getBoundingClientRect(), c = el.querySelector('[data-testid=topk-neuron]')!.getBoundingClientRect();
      return { buttonRight: b.right, chipLeft: c.left, buttonTop: b.top, chipTop: c.top, buttonBottom: b.bottom };
    });
    assert.ok(layout.chipLeft >= layout.buttonRight, `the other neurons sit beside the first: ${JSON.stringify(layout)}`);
    assert.ok(layout.chipTop >= layout.buttonTop && layout.chipTop < layout.buttonBottom);

    // The layer view names the influence-pattern neuron and tags the top-K neurons in its top ten.
    await page.click('[data-testid=path-neuron][data-layer="2"] .node-button');
    const note = await page.textContent('#layer-note') ?? '';
    assert.match(note, new RegExp(`Influence pattern baseline: #${result.baselines.influencePattern!.path[2].neuron}`));
    await screenshot('topk-dark.png');

    // Each of the other K-1 has a "+" that adds it to Intervene (factor 0), once; "Add the path" adds all K of every layer.
    const chip = `[data-testid=topk-intervene][data-layer="2"][data-neuron="${sets[2][1]}"]`;
    assert.equal(await page.getAttribute(chip, 'aria-label'), `Add layer 2, neuron ${sets[2][1]} to Intervene (factor 0: removed)`);
    assert.equal(await page.getAttribute(chip, 'tabindex'), '0', 'the selected card\'s chips are in the tab order');
    assert.equal(await page.getAttribute(`[data-testid=topk-intervene][data-layer="0"]`, 'tabindex'), '-1', 'other cards\' chips are reached by selecting the card');
    await page.click(chip);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-neuron]').length === 1);
    assert.deepEqual(await page.$$eval('[data-testid=intervene-neuron]', (rows) => rows.map((r) => [Number(r.getAttribute('data-layer')), Number(r.getAttribute('data-neuron'))])), [[2, sets[2][1]]]);
    assert.equal(await page.$eval(chip, (b) => (b as HTMLButtonElement).disabled), true, 'no second copy');
    assert.equal(await page.getAttribute(chip, 'aria-label'), `Layer 2, neuron ${sets[2][1]} is in Intervene`);
    await page.click('[data-testid=intervene-add-path]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=intervene-neuron]').length === n, sets.length * k);
    const shown = await page.$$eval('[data-testid=intervene-neuron]', (rows) => rows.map((r) => `${r.getAttribute('data-layer')}:${r.getAttribute('data-neuron')}`));
    assert.deepEqual([...shown].sort(), sets.flatMap((set, l) => set.map((j) => `${l}:${j}`)).sort());
    for (let i = 0; i < 400 && !(await posted()).some((m) => m.type === 'intervene'); i++) await page.waitForTimeout(25);
    assert.ok((await posted()).some((m) => m.type === 'intervene'), 'the setting was asked for');

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(errors, []);
  });
});

test('webview: a banner when preprocessing values are guesses, and the model\u2019s input with the map on its crop window', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  const guessed: AnalysisResult['model']['preprocessing'] = {
    ...FAKE_PREPROCESSING, config: null, folders: ['/models'],
    mean: { value: [0.5, 0.5, 0.5], source: { from: 'default' } }, std: { value: [0.5, 0.5, 0.5], source: { from: 'default' } },
  };
  // A 224 x 224 image resized to 256 x 256 and cropped to its middle 224 x 224 (DeiT's processor).
  const input = { resized: [256, 256] as [number, number], top: 16, left: 16, size: [224, 224] as [number, number] };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS05MDEy', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted, cspViolations, screenshot }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-b16.onnx', target: 'predicted' } });
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    await send({ type: 'result', runId: 1, result: { ...base, model: { ...base.model, preprocessing: guessed } }, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.ok(await page.isVisible('[data-testid=preprocessing-warning]'));
    const banner = await page.textContent('[data-testid=preprocessing-warning]') ?? '';
    assert.match(banner, /guesses mean \[0\.5, 0\.5, 0\.5\], std \[0\.5, 0\.5, 0\.5\]/);
    assert.match(banner, /Add the model's preprocessor_config\.json \(transformers\) or config\.json with pretrained_cfg \(timm\) to \/models/);
    assert.match(banner, /neuronPath\.preprocess/);
    assert.doesNotMatch(banner, /class names/, 'the record does not say its class names are placeholders');
    await page.click('[data-testid=preprocessing-warning] vscode-button');
    assert.ok((await posted()).some((m) => m.type === 'openSettings'));
    assert.equal(await page.isVisible('[data-testid=show-input]'), false, 'no input window in the record: nothing to show');
    await screenshot('preprocessing-warning-dark.png');

    await send({ type: 'runStarted', runId: 2, target: 'predicted' });
    await send({ type: 'result', runId: 2, result: { ...base, model: { ...base.model, preprocessing: FAKE_PREPROCESSING }, image: { ...base.image, input } }, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('[data-testid=preprocessing-warning]'), false, 'every value has a source: no banner');
    // No labels file named the classes: the banner says the names are placeholders, and where to put one.
    await send({ type: 'runStarted', runId: 3, target: 'predicted' });
    await send({ type: 'result', runId: 3, cached: false,
      result: { ...base, model: { ...base.model, preprocessing: FAKE_PREPROCESSING, classNames: { defaulted: base.model.numClasses, folders: ['/models'] } }, image: { ...base.image, input } } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.match(await page.textContent('[data-testid=preprocessing-warning]') ?? '', new RegExp(`class names are placeholders for all ${base.model.numClasses} classes, shown as "class N" \\(no labels file.* in /models\\)\\. Add the model's labels\\.txt .*neuronPath\\.labelsPath`));
    await send({ type: 'runStarted', runId: 4, target: 'predicted' });
    await send({ type: 'result', runId: 4, cached: false, result: { ...base, model: { ...base.model, preprocessing: FAKE_PREPROCESSING }, image: { ...base.image, input } } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('[data-testid=preprocessing-warning]'), false, 'named classes: no banner');
    // The map covers the crop window of the image: 16/256 in from each side, 224/256 of it.
    assert.deepEqual(await page.$eval('#overlay', (c) => [c.style.left, c.style.top, c.style.width]), ['6.25%', '6.25%', '87.5%']);
    await page.click('[data-testid=show-input]');
    await page.waitForSelector('#model-input:not([hidden])');
    assert.deepEqual(await page.$eval('#model-input', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]), [224, 224]);
    assert.equal(await page.isVisible('#image'), false, 'the input takes the image\u2019s place');
    assert.deepEqual(await page.$eval('#overlay', (c) => [c.style.left, c.style.width]), ['0%', '100%']);
    // Its middle pixel is the image's middle (the gradient's red is x, green is y).
    const middle = await page.$eval('#model-input', (c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(112, 112, 1, 1).data));
    assert.ok(Math.abs(middle[0] - 112) <= 3 && Math.abs(middle[1] - 112) <= 3, `middle pixel ${middle.join(',')}`);
    await screenshot('model-input-dark.png');

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(errors, []);
  });
});

test('webview: a phone photo (EXIF orientation 6) is shown upright, and the token map covers it as analysed', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  // Stored 40 wide and 60 high, shown 60 x 40 (the engine reads it so: test/engine/orientation.test.ts).
  const files = { '/img/photo.jpg': { contentType: 'image/jpeg', body: fs.readFileSync(path.join(FIXTURES, 'images', 'chelsea-exif6.jpg')) } };
  const base = bigResult();
  const result: AnalysisResult = { ...base, image: { ...base.image, path: '/img/photo.jpg', width: 60, height: 40, orientation: 6 } };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS05MDEy', title: 'Neuron Path: photo.jpg', themes: THEMES, files };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, cspViolations }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/photo.jpg', imageUri: `${origin}/img/photo.jpg`, fileName: 'photo.jpg', modelName: 'vit-b16.onnx', target: 'predicted' } });
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    await send({ type: 'result', runId: 1, result, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    await page.waitForFunction(() => (document.getElementById('image') as HTMLImageElement).complete && (document.getElementById('image') as HTMLImageElement).naturalWidth > 0);
    const box = await page.evaluate(() => {
      const img = document.getElementById('image') as HTMLImageElement, overlay = document.getElementById('overlay')!;
      const r = img.getBoundingClientRect(), o = overlay.getBoundingClientRect();
      return { natural: [img.naturalWidth, img.naturalHeight], shown: [r.width, r.height], overlay: [o.left - r.left, o.top - r.top, o.width, o.height], hidden: (overlay as HTMLCanvasElement).hidden };
    });
    assert.deepEqual(box.natural, [60, 40], `the image is shown upright: ${JSON.stringify(box)}`);
    assert.ok(Math.abs(box.shown[0] / box.shown[1] - 1.5) < 0.02, `shown ${box.shown.join('x')}`);
    assert.equal(box.hidden, false);
    assert.deepEqual(box.overlay, [0, 0, box.shown[0], box.shown[1]], 'the map lies exactly over the upright image');
    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(errors, []);
  });
});

test('webview: a path that leaves blocks out (CaiT\'s class attention) says which and why under the title; other results show no note', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  const leftOut = '2 FFNs after the 12 blocks (ca.0/fc2, ca.1/fc2) read 1 row of a learned query token, not the 197 token rows: class-attention blocks';
  const result: AnalysisResult = { ...base, model: { ...base.model, ffn: { kind: 'plain', activation: 'gelu-erf', headFfns: ['ca.0/fc2', 'ca.1/fc2'], leftOut } } };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS01Njc4', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'cait.onnx', target: 'predicted' } });
    assert.equal(await page.isVisible('#left-out'), false, 'no note before a result');
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    await send({ type: 'result', runId: 1, result, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('#left-out'), true);
    assert.equal(await page.textContent('#left-out'), `Left out of the path: ${leftOut}`);
    await send({ type: 'runStarted', runId: 2, target: 'predicted' });
    await send({ type: 'result', runId: 2, result: base, cached: false });
    await page.waitForFunction(() => document.querySelector('#left-out')?.hasAttribute('hidden'));
    assert.deepEqual(errors, []);
  });
});

test('webview: the path first, above the fold, with the time left; skip and compute the baselines; cancel keeps the path so far', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const result = bigResult();
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS05MDEy', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted, screenshot }) => {
    await page.setViewportSize({ width: 900, height: 600 });
    await load();
    const wanted = ['activation', 'ig', 'ip', 'random'] as const;
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-s16.onnx', target: 'predicted', wantedBaselines: [...wanted] } });
    await send({ type: 'runStarted', runId: 1, target: 'predicted', baselines: [...wanted] });
    const prediction = { top: result.prediction.top, target: result.target };
    await send({ type: 'progress', runId: 1, progress: { phase: 'clean', message: 'predicted', prediction } });
    await send({ type: 'progress', runId: 1, progress: { phase: 'layer', layer: 0, layers: 12, partialPath: result.path.slice(0, 1), prediction, message: 'path, layer 1/12: neuron 7', work: { done: 20, total: 1000, seconds: 11 } } });
    await page.waitForSelector('[data-testid=path-neuron]');
    // The first path neuron and the prediction are in the first screen, without scrolling.
    const inView = (sel: string) => page.$eval(sel, (e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; });
    assert.equal(await inView('[data-testid=path-neuron]'), true, 'the first path neuron is above the fold');
    assert.equal(await inView('[data-testid=headline]'), true);
    assert.match(await page.textContent('[data-testid=headline]') ?? '', /^Predicted /);
    // 11 s for 20 of 1000 rows: about 9 min left, with the phase.
    assert.match(await page.textContent('[data-testid=status]') ?? '', /path, layer 1\/12: neuron 7.*about 9 min left/);
    assert.equal(await page.isVisible('[data-testid=skip-baselines]'), true);
    await screenshot('running-above-the-fold.png');
    for (let l = 1; l < 3; l++) {
      await send({ type: 'progress', runId: 1, progress: { phase: 'layer', layer: l, layers: 12, partialPath: result.path.slice(0, l + 1), prediction, message: `path: layer ${l + 1} of 12` } });
    }
    // Cancel after the third layer: the three neurons and the prediction stay, marked partial.
    await send({ type: 'runFailed', runId: 1, message: 'The analysis was cancelled.', cancelled: true });
    await page.waitForSelector('[data-testid=status][data-state=cancelled]');
    assert.equal(await page.$$eval('[data-testid=path-neuron]', (els) => els.length), 3);
    assert.match(await page.textContent('[data-testid=status]') ?? '', /Cancelled after layer 3 of 12.*partial/);
    assert.match(await page.textContent('#path-hint') ?? '', /Partial path/);
    assert.equal(await page.$$eval('[data-testid=prediction]', (els) => els.length), result.prediction.top.length, 'the top-5 stays');
    await screenshot('cancelled-partial.png');

    // Skip: the page asks, the host answers with the path result (no baselines), which offers them.
    await send({ type: 'runStarted', runId: 2, target: 'predicted', baselines: [...wanted] });
    await page.click('[data-testid=skip-baselines]');
    assert.ok((await posted()).some((m) => m.type === 'skipBaselines'));
    const pathOnly: AnalysisResult = { ...result, settings: { ...result.settings, baselines: [] }, baselines: {} };
    await send({ type: 'result', runId: 2, result: pathOnly, cached: false, baselinesCancelled: true });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('[data-testid=skip-baselines]'), false);
    assert.equal(await page.isVisible('[data-testid=run-baselines]'), true);
    assert.match(await page.textContent('[data-testid=status]') ?? '', /baselines cancelled: the path result is complete/);
    assert.match(await page.textContent('#comparison-note') ?? '', /Not computed for this result: the activation, per-layer IG, influence pattern, random baselines/);
    assert.deepEqual(await page.$$eval('[data-testid=method-row]', (els) => els.map((e) => e.getAttribute('data-method'))), ['path']);
    await page.click('[data-testid=run-baselines]');
    assert.ok((await posted()).some((m) => m.type === 'runBaselines'));
    // While they run, the path result stays on screen; then the full result.
    await send({ type: 'runStarted', runId: 3, target: 'predicted', baselines: [...wanted], reusesPath: true });
    assert.equal(await page.$$eval('[data-testid=path-neuron]', (els) => els.length), 12);
    assert.equal(await page.isVisible('[data-testid=skip-baselines]'), false);
    await send({ type: 'result', runId: 3, result: { ...result, settings: { ...result.settings, baselines: [...wanted] } }, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isVisible('[data-testid=run-baselines]'), false);
    assert.ok((await page.$$eval('[data-testid=method-row]', (els) => els.length)) > 1);
    assert.deepEqual(errors, []);
  });
});

test('webview: every number explained: the path legend, the GELU-floor note, the IG note, percentage points; no page-wide scroll at half width', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  // Every path neuron at GELU's floor, and per-layer IG removing more than the path.
  const result: AnalysisResult = {
    ...base,
    model: { ...base.model, ffn: { kind: 'plain', activation: 'gelu-erf', headFfns: [] } },
    path: base.path.map((p) => ({ ...p, activation: -0.169 })),
    manipulation: { remove: { probability: 0.5, deviation: -0.1 }, enhance: { probability: 0.7, deviation: 0.1 } },
    baselines: { ...base.baselines, integratedGradients: { ...base.baselines.integratedGradients!, remove: 0.3, enhance: 0.65 } },
  };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS0zNDU2', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send }) => {
    await page.setViewportSize({ width: 520, height: 800 });
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-s16.onnx', target: 'predicted', result } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.match(await page.textContent('[data-testid=path-legend]') ?? '', /#j: the neuron.s index in its block.s FFN.*not a rank.*act: .*score: /);
    assert.match(await page.getAttribute('[data-testid=path-neuron] button', 'title') ?? '', /^Block 0, neuron #\d+ \(its index in the block.s FFN\)\. act -0\.169: its activation/);
    assert.match(await page.textContent('[data-testid=floor-note]') ?? '', /^12 of the 12 path neurons .*GELU.s floor is about .0\.17.*can still be influential/);
    assert.match(await page.textContent('[data-testid=ig-note]') ?? '', /^Per-layer IG moves the probability more than the path on remove for this image\./);
    const path = await page.$$eval('[data-testid=method-row][data-method=path] td', (tds) => tds.map((t) => t.textContent));
    assert.equal(path[2], '-10 pp');
    // Tables scroll inside their own box: the page itself is never wider than the panel.
    assert.equal(await page.evaluate(() => document.scrollingElement!.scrollWidth <= window.innerWidth), true);
    // A path above the floor, and a path beating IG: no notes.
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-s16.onnx', target: 'predicted', result: base } });
    await page.waitForFunction(() => document.querySelector('[data-testid=floor-note]')?.hasAttribute('hidden'));
    assert.equal(await page.isVisible('[data-testid=ig-note]'), false);
    assert.deepEqual(errors, []);
  });
});

test('webview: where the selected neuron lives: its block and the ONNX names of fc2, fc1 and the activation, selectable', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  const blocks = base.path.map((_p, l) => ({ fc2: `/blocks.${l}/mlp/fc2/MatMul`, linears: [`/blocks.${l}/mlp/fc1/MatMul`], activation: `/blocks.${l}/mlp/act/Erf` }));
  const result: AnalysisResult = { ...base, model: { ...base.model, ffn: { kind: 'plain', activation: 'gelu-erf', headFfns: [], blocks } } };
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS03ODkw', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-s16.onnx', target: 'predicted', result } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    await page.click('[data-testid=path-neuron][data-layer="3"] button');
    const n = result.path[3].neuron;
    const line = `Neuron #${n} of block 3: input ${n} of fc2 /blocks.3/mlp/fc2/MatMul · fc1 /blocks.3/mlp/fc1/MatMul · activation /blocks.3/mlp/act/Erf`;
    assert.equal(await page.textContent('[data-testid=neuron-location]'), `${line} Copy`);
    assert.equal(await page.$eval('[data-testid=neuron-location] code', (e) => getComputedStyle(e).userSelect), 'all');
    // Copy hands the line to the host (the host's clipboard: a webview's may be denied)
    await page.click('[data-testid=copy-location]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'copy'), [{ type: 'copy', text: line }]);
    // A record made before the node names were kept names the block alone.
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'vit-s16.onnx', target: 'predicted', result: base } });
    await page.waitForFunction(() => !document.querySelector('[data-testid=neuron-location] code'));
    assert.match(await page.textContent('[data-testid=neuron-location]') ?? '', /^Neuron #\d+ of block \d+$/);
    assert.deepEqual(errors, []);
  });
});

test('webview: the Fast box (not the paper\'s setting) shows the setting, posts a change, and a fast result says it is the fast preset', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const base = bigResult();
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS0xMjM0', title: 'Neuron Path: cat.png', themes: THEMES, files: await catImage() };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted }) => {
    await load();
    const init = { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'bundled model', target: 'predicted' as const };
    await send({ type: 'init', init: { ...init, fast: false } });
    assert.equal(await page.isChecked('[data-testid=fast]'), false);
    assert.match(await page.textContent('label.fast') ?? '', /Fast \(not the paper.s setting\)/);
    await page.click('[data-testid=fast]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'setFast'), [{ type: 'setFast', fast: true }]);
    // a result made with the preset says so; one made otherwise, shown while the box is on, offers Run again
    const fast: AnalysisResult = { ...base, settings: { ...base.settings, steps: 8, rule: 'gauss' } };
    await send({ type: 'init', init: { ...init, fast: true, result: fast } });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    assert.equal(await page.isChecked('[data-testid=fast]'), true);
    assert.match(await page.textContent('#subtitle') ?? '', /8 steps, gauss rule \(the fast preset: not the paper.s setting\)/);
    assert.equal(await page.isHidden('#run'), true, 'made as the box says: nothing to run again');
    await send({ type: 'init', init: { ...init, fast: true, result: base } });
    await page.waitForFunction(() => !/fast preset/.test(document.querySelector('#subtitle')?.textContent ?? ''));
    assert.equal(await page.isVisible('#run'), true, 'the box no longer matches the result: Run again');
    assert.deepEqual(errors, []);
  });
});
