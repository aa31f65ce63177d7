// The folder panel's real page (src/extension/html.ts + dist/folder.js + dist/folder.css) in headless
// chromium under its Content Security Policy, with a stub of the VS Code webview API: no policy
// violation, no script error; the comparison table, the heatmap (a cell lists its images, an image
// posts openImage), the similarity matrix, live progress. Screenshots go to test-output/folder/.
// Skipped without a chromium or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { FolderInit, HostToFolderWebview } from '../../src/protocol/folderPanel';
import { BASE_THEMES, skipUnlessPage, withPanelPage, withVars, type Theme } from './fixtures/chromiumPage';
import {  } from '../../src/engine/batch/records';
import { summarize } from '../../src/engine/batch/report';
import { fakeBatchLines, fakeReport } from './fixtures/fakeBatch';
import { parseResultText } from '../../src/engine/batch/resultFile';
import { ANALYSIS_RECORDS } from '../../src/engine/batch/records';

const THEMES: Record<string, Theme> = {
  dark: withVars(BASE_THEMES.dark, { '--vscode-textLink-foreground': '#4daafc' }),
  light: withVars(BASE_THEMES.light, { '--vscode-textLink-foreground': '#005fb8' }),
};

test('folder page: strict CSP, comparison table, heatmap cell lists images, live progress', { skip: skipUnlessPage('folder'), timeout: 120_000 }, async () => {
  const opts = { bundle: 'folder', outDir: 'folder', pagePath: '/folder.html', nonce: 'dGVzdC1ub25jZS01Njc4', title: 'Neuron Path: shop/', themes: THEMES };
  await withPanelPage<HostToFolderWebview>(opts, async ({ page, errors, notFound, load, setTheme, send, posted, cspViolations, screenshot }) => {
    await load();

    // a batch starts on an empty file: progress only
    const init: FolderInit = { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop', bundledModelPath: '/models/fake.onnx' };
    await send({ type: 'init', init: { ...init, running: { done: 0, total: 13, resumed: 0, analysed: 0, failed: 0, rate: 0 } } });
    await page.waitForSelector('[data-testid=status][data-state=running]');
    await send({ type: 'batchProgress', progress: { done: 4, total: 13, resumed: 0, analysed: 4, failed: 0, rate: 2.5, etaSeconds: 200, latest: { image: '/data/shop/bag/bag-2.png', label: 'bag', probability: 0.7, jas: 0.35 } } });
    await page.waitForFunction(() => /4\/13 images, 2\.5 img\/s, 3 min left/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''));
    assert.match(await page.textContent('[data-testid=latest]') ?? '', /bag-2\.png → bag \(70\.0%\), JAS 0\.35/);

    // the summary arrives (live re-summary): table, chart, heatmap, similarity
    const report = fakeReport();
    await send({ type: 'report', report, skipped: [{ line: 7, reason: 'not valid JSON (cut off by a stopped run?)' }] });
    await page.waitForSelector('[data-testid=method-row]');
    const rows = await page.$$eval('[data-testid=method-row]', (els) => els.map((e) => [e.getAttribute('data-method'), ...Array.from(e.children).map((c) => c.textContent)]));
    assert.deepEqual(rows.map((r) => r[0]), ['path', 'activation', 'ig', 'random']);
    assert.equal(rows[0][2], '12');
    // the model by the name the image panel gives it (the fake records' model is the bundled one here)
    assert.match(await page.textContent('#subtitle') ?? '', /^Folder \/data\/shop · bundled model · 12 images · .*20 steps, reference formula$/);
    assert.match(rows[0][3] ?? '', /^0\.\d+ ± 0\.\d+$/);
    assert.equal(rows[0][6], '25.0%');
    for (const id of ['#comparison-chart', '#jas-chart', '#accuracy-chart']) {
      const canvas = await page.$eval(id, (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
      assert.ok(canvas[0] > 100 && canvas[1] > 100, `${id}: ${canvas.join(',')}`);
    }
    assert.equal(await page.$$eval('[data-testid=sim-cell]', (els) => els.length), 9);
    assert.equal(await page.textContent('[data-testid=similar-to]'), 'No other class shares a path neuron with bag.', 'the fake classes share no neuron');
    assert.match(await page.textContent('[data-testid=status]') ?? '', /1 unreadable line skipped \(line 7\)/);

    // heatmap of the first class; a cell lists the images whose path uses its neuron
    const cells = await page.$$eval('[data-testid=heat-cell]', (els) => els.map((e) => [e.getAttribute('data-layer'), e.getAttribute('data-neuron'), e.getAttribute('data-count')]));
    assert.ok(cells.length >= 6, `${cells.length}`);
    assert.deepEqual(cells[0], ['0', '0', '4']);
    // its columns are ranks in words: "#" is a neuron's index everywhere (issue 20)
    const ranks = await page.$$eval('[data-testid=heatmap] thead th', (els) => els.map((e) => e.textContent));
    assert.deepEqual(ranks.slice(0, 4), ['Layer', '1st', '2nd', '3rd']);
    await page.click('[data-testid=heat-cell][data-layer="2"][data-rank="0"]');
    await page.waitForSelector('[data-testid=image-link]');
    const images = await page.$$eval('[data-testid=image-link]', (els) => els.map((e) => e.getAttribute('data-image')));
    assert.deepEqual(images, ['/data/shop/bag/bag-1.png', '/data/shop/bag/bag-3.png']);
    assert.match(await page.textContent('#cell-title') ?? '', /Layer 2, neuron 6: 2 images/);
    // the cell's neuron view
    await page.click('#cell-title [data-testid=neuron-view]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'neuronView'), [{ type: 'neuronView', layer: 2, neuron: 6 }]);
    // keyboard: arrows move the selected cell, Enter on an image opens it
    await page.focus('[data-testid=heat-cell][data-layer="2"][data-rank="0"]');
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.getAttribute('[data-testid=heat-cell][aria-pressed=true]', 'data-layer'), '1');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-layer')), '1');
    assert.equal(await page.$$eval('[data-testid=image-link]', (els) => els.length), 4);
    await page.focus('[data-testid=image-link]');
    await page.keyboard.press('Enter');
    const open = (await posted()).filter((m) => m.type === 'openImage');
    assert.deepEqual(open, [{ type: 'openImage', image: '/data/shop/bag/bag-1.png' }]);
    await screenshot('running-dark.png');

    // another class
    await page.evaluate(() => {
      const sel = document.querySelector('[data-testid=class-select]') as HTMLElement & { value: string };
      sel.value = 'class:2';
      sel.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => /sandal/.test(document.querySelector('#heatmap-caption')?.textContent ?? ''));
    assert.deepEqual(await page.$eval('[data-testid=heat-cell]', (e) => e.getAttribute('data-neuron')), '20');

    // stop: the Stop button posts cancel; the end shows Resume
    await page.click('#cancel');
    assert.ok((await posted()).some((m) => m.type === 'cancel'));
    await send({ type: 'batchDone', cancelled: true, result: { out: init.resultFile, total: 13, resumed: 0, analysed: 6, failed: 0, cancelled: true, seconds: 3 } });
    await page.waitForSelector('[data-testid=status][data-state=cancelled]');
    assert.equal(await page.isVisible('#resume'), true);
    assert.equal(await page.$eval('#resume', (b) => b.hasAttribute('secondary')), false, 'after a stop, Resume is the next step');
    await page.click('#resume');
    assert.ok((await posted()).some((m) => m.type === 'resume'));

    for (const theme of ['dark', 'light']) {
      await setTheme(theme);
      await page.waitForTimeout(100);
      await screenshot(`done-${theme}.png`);
    }

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(notFound, []);
    assert.deepEqual(errors, []);
  });
});

test('folder page: the influence-pattern row; the pruning form posts its request, checks its values, and draws the held-out curves', { skip: skipUnlessPage('folder'), timeout: 120_000 }, async () => {
  const opts = { bundle: 'folder', outDir: 'folder', pagePath: '/folder.html', nonce: 'dGVzdC1ub25jZS05ODc2', title: 'Neuron Path: shop/', themes: THEMES };
  // Records with an influence-pattern baseline (JAS 0.05, below every path's): a row of its own.
  const lines = fakeBatchLines().map((l) => (l.schema === 'neuron-path/1'
    ? { ...l, baselines: { ...l.baselines, influencePattern: { ...l.baselines.activation!, jas: 0.05 } } } : l));
  const report = summarize('/data/shop.neuron-path.jsonl', parseResultText(lines.map((l) => JSON.stringify(l)).join('\n'), { kind: ANALYSIS_RECORDS })).report;
  await withPanelPage<HostToFolderWebview>(opts, async ({ page, errors, load, send, posted, cspViolations, screenshot }) => {
    await load();
    await send({ type: 'init', init: { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop', report } });
    await page.waitForSelector('[data-testid=method-row]');
    // A result re-opened whose folder has images it lacks (the host counted them): Resume is a secondary offer.
    assert.equal(await page.$eval('#resume', (b) => b.hasAttribute('secondary')), true, 'Resume is secondary on a finished result');
    assert.equal(await page.isVisible('#resume'), true, 'no count from the host: Resume is offered');
    // One that holds every image of its folder offers none; with two images left, it does.
    await send({ type: 'init', init: { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop', report, left: 0 } });
    await page.waitForSelector('#resume', { state: 'hidden' });
    await send({ type: 'init', init: { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop', report, left: 2 } });
    await page.waitForSelector('#resume', { state: 'visible' });
    const ip = await page.$eval('[data-testid=method-row][data-method=ip]', (e) => Array.from(e.children, (c) => c.textContent));
    assert.equal(ip[0], 'influence pattern');
    assert.match(ip[2] ?? '', /^0\.05 ± /, 'the JAS mean, written by src/format.ts');
    assert.match(ip[6] ?? '', /^100% \/ /, 'the path has the higher JAS on every image');
    assert.equal(await page.getAttribute('[data-testid=prune-status]', 'data-state'), 'idle');
    assert.equal(await page.isHidden('#pruning-chart'), true, 'no curve before a run');

    // bad values are named on the page, nothing is posted
    await page.fill('[data-testid=prune-holdout]', '100');
    await page.click('[data-testid=prune-run]');
    assert.match(await page.textContent('[data-testid=prune-status]') ?? '', /Held out must be a percentage from 0 to 99/);
    assert.equal((await posted()).filter((m) => m.type === 'prune').length, 0);

    await page.fill('[data-testid=prune-holdout]', '25');
    await page.fill('[data-testid=prune-keep]', '3');
    await page.fill('[data-testid=prune-layers]', '2');
    await page.fill('[data-testid=prune-fractions]', '50, 100');
    await page.click('[data-testid=prune-run]');
    const prune = (await posted()).filter((m) => m.type === 'prune');
    assert.deepEqual(prune, [{ type: 'prune', request: { keep: 3, holdout: 0.25, layers: 2, fractions: [0.5, 1] } }]);

    await send({ type: 'pruneProgress', done: 5, total: 12 });
    await page.waitForSelector('[data-testid=prune-status][data-state=running]');
    assert.match(await page.textContent('[data-testid=prune-status]') ?? '', /5\/12 images/);
    await page.click('[data-testid=prune-stop]');
    assert.equal((await posted()).filter((m) => m.type === 'cancelPrune').length, 1);

    const acc = (u: number, p: number, a: number, c: number) => ({ unprotected: u, protected: p, activation: a, control: c });
    await send({
      type: 'pruneDone', cancelled: false, curve: {
        keep: 3, seed: 0, holdout: 0.25, layers: 2, images: 4, skipped: [], reference: 'folder class',
        clean: { accuracy: 1, targetProbability: 0.8 }, classes: [],
        points: [
          { fraction: 0.5, zeroed: acc(32, 31, 31, 31), accuracy: acc(0.75, 1, 0.75, 0.75), targetProbability: acc(0.6, 0.7, 0.6, 0.6) },
          { fraction: 1, zeroed: acc(64, 61, 61, 61), accuracy: acc(0.25, 0.75, 0.5, 0.25), targetProbability: acc(0.3, 0.5, 0.4, 0.3) },
        ],
      },
    });
    await page.waitForSelector('[data-testid=prune-status][data-state=done]');
    assert.match(await page.textContent('[data-testid=prune-status]') ?? '', /chosen on 75.0% of each class.s images, accuracy measured on the other 4; 3 per block in the first 2 blocks/);
    const rows = await page.$$eval('[data-testid=pruning-row]', (els) => els.map((e) => Array.from(e.children, (c) => c.textContent)));
    assert.deepEqual(rows, [['0% (clean)', '100%', '100%', '100%', '100%'], ['50.0%', '75.0%', '100%', '75.0%', '75.0%'], ['100%', '25.0%', '75.0%', '50.0%', '25.0%']]);
    const canvas = await page.$eval('#pruning-chart', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.ok(canvas[0] > 100 && canvas[1] > 100, `${canvas.join(',')}`);
    assert.match(await page.textContent('[data-testid=prune-status]') ?? '', /Only 4 images measured: .*cannot tell the variants apart/, 'a sample too small is said');
    await page.$eval('#section-pruning', (e) => e.scrollIntoView());
    await screenshot('pruning-dark.png');
    // at half width (a panel beside the editor) the tables scroll in their own box, not the page
    await page.setViewportSize({ width: 480, height: 700 });
    // the charts take the new width on a later frame (their ResizeObserver), not within a fixed 100 ms on
    // every machine: wait until the page fits (10 s at most), then check
    const fits = () => document.documentElement.scrollWidth <= document.documentElement.clientWidth;
    await page.waitForFunction(fits, null, { timeout: 10_000 }).catch(() => undefined);
    const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `no page-wide horizontal scroll at 480 px: ${scroll} > ${client}`);

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(errors, []);
  });
});
