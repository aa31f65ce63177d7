// The folder panel's real page (src/extension/html.ts + dist/folder.js + dist/folder.css) in headless
// chromium under its Content Security Policy, with a stub of the VS Code webview API: no policy
// violation, no script error; the comparison table, the heatmap (a cell lists its images, an image
// posts openImage), the similarity matrix, live progress. Screenshots go to test-output/folder/.
// Skipped without a chromium or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { panelHtml } from '../../src/extension/html';
import type { FolderInit, HostToFolderWebview } from '../../src/protocol';
import { fakeReport } from './fixtures/fakeBatch';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIST = path.join(ROOT, 'dist');
const OUT = path.join(ROOT, 'test-output', 'folder');
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
const built = existsSync(path.join(DIST, 'folder.js')) && existsSync(path.join(DIST, 'folder.css'));

const THEME_VARS: Record<string, { bodyClass: string; vars: Record<string, string> }> = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      '--vscode-foreground': '#cccccc', '--vscode-descriptionForeground': '#9d9d9d', '--vscode-editor-background': '#1f1f1f',
      '--vscode-panel-border': '#2b2b2b', '--vscode-focusBorder': '#0078d4', '--vscode-charts-blue': '#3794ff', '--vscode-charts-red': '#f14c4c',
      '--vscode-charts-green': '#89d185', '--vscode-charts-orange': '#d18616', '--vscode-charts-purple': '#b180d7', '--vscode-charts-lines': 'rgba(204,204,204,0.5)',
      '--vscode-font-family': 'system-ui, sans-serif', '--vscode-font-size': '13px', '--vscode-textLink-foreground': '#4daafc',
      '--vscode-button-background': '#0078d4', '--vscode-button-foreground': '#ffffff', '--vscode-errorForeground': '#f85149',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      '--vscode-foreground': '#3b3b3b', '--vscode-descriptionForeground': '#717171', '--vscode-editor-background': '#ffffff',
      '--vscode-panel-border': '#e5e5e5', '--vscode-focusBorder': '#005fb8', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-red': '#e51400',
      '--vscode-charts-green': '#388a34', '--vscode-charts-orange': '#d18616', '--vscode-charts-purple': '#652d90', '--vscode-charts-lines': 'rgba(59,59,59,0.5)',
      '--vscode-font-family': 'system-ui, sans-serif', '--vscode-font-size': '13px', '--vscode-textLink-foreground': '#005fb8',
      '--vscode-button-background': '#005fb8', '--vscode-button-foreground': '#ffffff', '--vscode-errorForeground': '#f85149',
      '--vscode-button-secondaryBackground': '#e5e5e5', '--vscode-button-secondaryForeground': '#3b3b3b',
      '--vscode-settings-dropdownBackground': '#ffffff', '--vscode-settings-dropdownForeground': '#3b3b3b', '--vscode-settings-dropdownBorder': '#cecece',
    },
  },
};

test('folder page: strict CSP, comparison table, heatmap cell lists images, live progress', { skip: !CHROMIUM ? 'no chromium' : !built ? 'run npm run build first' : false, timeout: 120_000 }, async () => {
  let html = '';
  const notFound: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/folder.html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html); return; }
    const m = /^\/dist\/(folder\.(js|css))$/.exec(url);
    if (m) { res.writeHead(200, { 'content-type': m[2] === 'js' ? 'text/javascript' : 'text/css' }); res.end(readFileSync(path.join(DIST, m[1]))); return; }
    if (url === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    notFound.push(url);
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  html = panelHtml({ cspSource: origin, nonce: 'dGVzdC1ub25jZS01Njc4', scriptUri: `${origin}/dist/folder.js`, styleUri: `${origin}/dist/folder.css`, title: 'Neuron Path: shop/' });

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`); });
    await page.addInitScript(() => {
      const w = window as unknown as { __posted: unknown[]; __csp: string[]; __state: unknown; acquireVsCodeApi: () => unknown };
      w.__posted = [];
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
      w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => w.__posted.push(m), getState: () => w.__state, setState: (s: unknown) => { w.__state = s; } });
    });
    const setTheme = async (name: string): Promise<void> => {
      await page.evaluate((theme) => {
        document.body.className = theme.bodyClass;
        const style = document.documentElement.style;
        for (const n of Array.from(style)) if (n.startsWith('--vscode-')) style.removeProperty(n);
        for (const [k, v] of Object.entries(theme.vars)) document.documentElement.style.setProperty(k, v);
      }, THEME_VARS[name]);
    };
    const send = (m: HostToFolderWebview): Promise<void> => page.evaluate((msg) => { window.postMessage(msg, '*'); }, m);
    const posted = (): Promise<Array<{ type: string; [k: string]: unknown }>> => page.evaluate(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted);

    await page.goto(`${origin}/folder.html`);
    await setTheme('dark');
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));

    // a batch starts on an empty file: progress only
    const init: FolderInit = { resultFile: '/data/shop.neuron-path.jsonl', folder: '/data/shop', title: 'shop' };
    await send({ type: 'init', init: { ...init, running: { done: 0, total: 13, resumed: 0, analysed: 0, failed: 0, rate: 0 } } });
    await page.waitForSelector('[data-testid=status][data-state=running]');
    await send({ type: 'batchProgress', progress: { done: 4, total: 13, resumed: 0, analysed: 4, failed: 0, rate: 2.5, etaSeconds: 200, latest: { image: '/data/shop/bag/bag-2.png', label: 'bag', probability: 0.7, jas: 0.35 } } });
    await page.waitForFunction(() => /4\/13 images, 2\.5 img\/s, 3 min left/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''));
    assert.match(await page.textContent('[data-testid=latest]') ?? '', /bag-2\.png → bag \(70%\), JAS 0\.350/);

    // the summary arrives (live re-summary): table, chart, heatmap, similarity
    const report = fakeReport();
    await send({ type: 'report', report, skipped: [{ line: 7, reason: 'not valid JSON (cut off by a stopped run?)' }] });
    await page.waitForSelector('[data-testid=method-row]');
    const rows = await page.$$eval('[data-testid=method-row]', (els) => els.map((e) => [e.getAttribute('data-method'), ...Array.from(e.children).map((c) => c.textContent)]));
    assert.deepEqual(rows.map((r) => r[0]), ['path', 'activation', 'ig', 'random']);
    assert.equal(rows[0][2], '12');
    assert.match(rows[0][3] ?? '', /^0\.\d{3} ± 0\.\d{3}$/);
    assert.equal(rows[0][6], '25%');
    for (const id of ['#comparison-chart', '#accuracy-chart']) {
      const canvas = await page.$eval(id, (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
      assert.ok(canvas[0] > 100 && canvas[1] > 100, `${id}: ${canvas}`);
    }
    assert.equal(await page.$$eval('[data-testid=sim-cell]', (els) => els.length), 9);
    assert.match(await page.textContent('[data-testid=status]') ?? '', /1 unreadable line skipped \(line 7\)/);

    // heatmap of the first class; a cell lists the images whose path uses its neuron
    const cells = await page.$$eval('[data-testid=heat-cell]', (els) => els.map((e) => [e.getAttribute('data-layer'), e.getAttribute('data-neuron'), e.getAttribute('data-count')]));
    assert.ok(cells.length >= 6, `${cells.length}`);
    assert.deepEqual(cells[0], ['0', '0', '4']);
    await page.click('[data-testid=heat-cell][data-layer="2"][data-rank="0"]');
    await page.waitForSelector('[data-testid=image-link]');
    const images = await page.$$eval('[data-testid=image-link]', (els) => els.map((e) => e.getAttribute('data-image')));
    assert.deepEqual(images, ['/data/shop/bag/bag-1.png', '/data/shop/bag/bag-3.png']);
    assert.match(await page.textContent('#cell-title') ?? '', /Layer 2, neuron 6: 2 images/);
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
    await page.screenshot({ path: path.join(mkdirOut(), 'running-dark.png'), fullPage: true });

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
    await page.click('#resume');
    assert.ok((await posted()).some((m) => m.type === 'resume'));

    for (const theme of ['dark', 'light']) {
      await setTheme(theme);
      await page.waitForTimeout(100);
      await page.screenshot({ path: path.join(mkdirOut(), `done-${theme}.png`), fullPage: true });
    }

    const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(notFound, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

function mkdirOut(): string {
  mkdirSync(OUT, { recursive: true });
  return OUT;
}
