// The comparison page (src/extension/html.ts + dist/compare.js + dist/compare.css) in headless
// chromium under its Content Security Policy, with a real comparison of two samples on the bundled
// model: no policy violation, no script error; one row per layer (shared ones marked), the 2x2 JAS
// table; an image posts openImage. Screenshot in test-output/compare/. Skipped without a chromium or
// before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/engine/index';
import { comparePaths } from '../../src/engine/pathCompare';
import type { HostToCompareWebview } from '../../src/protocol/comparePanel';
import { REPO, tempDir } from '../helpers/fixtures';
import { BASE_THEMES, skipUnlessPage, withPanelPage } from './fixtures/chromiumPage';

const SAMPLES = path.join(REPO, 'media', 'samples');

test('compare page: strict CSP, layers with ranks, JAS table, open an image', { skip: skipUnlessPage('compare'), timeout: 120_000 }, async () => {
  const engine = await Engine.open({ modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('compare-page-cache'), threads: 1 });
  let comparison;
  try {
    const [a, b] = [await engine.analyze(path.join(SAMPLES, 'coat-1.png'), { steps: 4, baselines: [] }), await engine.analyze(path.join(SAMPLES, 'coat-2.png'), { steps: 4, baselines: [] })];
    // a shared neuron, so the marking is seen: B's path takes A's neuron at layer 2
    const bShared = { ...b, path: b.path.map((p, l) => (l === 2 ? { ...p, neuron: a.path[2].neuron } : p)) };
    comparison = comparePaths(a, bShared, { aOnB: 0.1, bOnA: 0.2 });
  } finally { await engine.dispose(); }
  const files = Object.fromEntries(['coat-1.png', 'coat-2.png'].map((f) => [`/samples/${f}`, { contentType: 'image/png', body: fs.readFileSync(path.join(SAMPLES, f)) }]));
  const opts = { bundle: 'compare', outDir: 'compare', pagePath: '/compare.html', nonce: 'dGVzdC1ub25jZS03Nzc3', title: 'Compare', themes: BASE_THEMES, files };
  await withPanelPage<HostToCompareWebview>(opts, async ({ page, origin, errors, notFound, load, send, posted, cspViolations, screenshot }) => {
    await load();
    const side = (f: string) => ({ image: path.join(SAMPLES, f), imageUri: `${origin}/samples/${f}`, fileName: f });
    await send({ type: 'init', init: { a: side('coat-1.png'), b: side('coat-2.png') } });
    await page.waitForSelector('[data-testid=status][data-state=running]');
    await send({ type: 'comparison', comparison });
    await page.waitForSelector('[data-testid=status][data-state=done]');
    const rows = await page.$$eval('[data-testid=compare-layer]', (els) => els.map((e) => [e.getAttribute('data-same'), ...Array.from(e.children).map((c) => c.textContent)]));
    assert.equal(rows.length, comparison.layers.length);
    assert.equal(rows[2][0], 'true');
    assert.match(rows[2][1] ?? '', /shared/);
    assert.deepEqual(rows.map((r) => [r[2], r[3], r[4], r[5]]), comparison.layers.map((l) => [`#${l.a}`, String(l.aRankInB), `#${l.b}`, String(l.bRankInA)]));
    const jas = await page.$$eval('[data-testid=jas-row]', (els) => els.map((e) => Array.from(e.children).map((c) => c.textContent)));
    assert.deepEqual(jas.map((r) => r.slice(1)), [[String(Number(comparison.a.jas.toPrecision(3))), '0.1'], ['0.2', String(Number(comparison.b.jas.toPrecision(3)))]]);
    assert.match(await page.textContent('[data-testid=status]') ?? '', /Shared neurons: 1 of 6 layers/);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('img')).every((i) => i.complete && i.naturalWidth > 0));
    await screenshot('compare-dark.png');
    await page.click('[data-testid=compare-image] button');
    assert.deepEqual((await posted()).filter((m) => m.type === 'openImage'), [{ type: 'openImage', side: 'a' }]);
    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(notFound, []);
    assert.deepEqual(errors, []);
  });
});
