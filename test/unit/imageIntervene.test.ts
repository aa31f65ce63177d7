// The image panel's Intervene section, the real page in headless chromium under its CSP: the path's
// neurons and a typed L:J are added, a factor per neuron (slider and field) and for all, one request
// per burst of changes (debounced), an answer to an older request dropped, the top-5 after drawn
// beside the one before, "Apply to folder..." with its progress, cancel and per-class table, and
// "Export edited model...", and a neuron added from the layer view's top-10 rows and from the path
// card. Skipped without a chromium or before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AnalysisResult } from '../../src/engine/result';
import type { HostToImageWebview, LiveIntervention } from '../../src/protocol/imagePanel';
import { BASE_THEMES, skipUnlessPage, withPanelPage, type Posted } from './fixtures/chromiumPage';
import { fakeResult } from './fixtures/fakeEngine';
import { ROOT } from './fixtures/extensionHost';

const LABELS = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const requests = (posted: Posted) => posted.filter((m) => m.type === 'intervene') as unknown as Array<{ requestId: number; intervention: { settings: { layer: number; neuron: number; factor: number }[]; rows: 'readout' | 'all' } }>;

test('image page: the Intervene section asks once per change, shows the newest answer, runs a folder and exports', { skip: skipUnlessPage('image'), timeout: 120_000 }, async () => {
  const result: AnalysisResult = fakeResult('/img/cat.png', { layers: 6, neurons: 256, target: 'predicted' });
  const opts = { bundle: 'image', outDir: 'image', pagePath: '/panel.html', nonce: 'dGVzdC1ub25jZS1pbnRlcnZlbmU=', title: 'Neuron Path: cat.png', themes: { dark: BASE_THEMES.dark },
    files: { '/img/cat.png': { contentType: 'image/png', body: readFileSync(path.join(ROOT, 'media', 'samples', 'coat-1.png')) } } };
  await withPanelPage<HostToImageWebview>(opts, async ({ page, origin, errors, load, send, posted, cspViolations, screenshot }) => {
    await load();
    await send({ type: 'init', init: { imagePath: '/img/cat.png', imageUri: `${origin}/img/cat.png`, fileName: 'cat.png', modelName: 'model.onnx', target: 'predicted', labels: LABELS } });
    assert.equal(await page.isVisible('[data-testid=intervene-neurons] tr'), false);
    assert.equal(await page.$eval('[data-testid=intervene-folder]', (b) => (b as HTMLElement & { disabled: boolean }).disabled), true, 'nothing to apply yet');
    await send({ type: 'runStarted', runId: 1, target: 'predicted' });
    await send({ type: 'result', runId: 1, result, cached: false });
    await page.waitForSelector('[data-testid=status][data-state=done]');

    // the path's six neurons, each removed: one request after the debounce
    await page.click('[data-testid=intervene-add-path]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-neuron]').length === 6);
    await page.waitForFunction(() => document.querySelector('[data-testid=intervene-status]')?.getAttribute('data-state') === 'pending');
    let sent = requests(await posted());
    assert.equal(sent.length, 1);
    const fieldValue = (key: string) => page.$eval(`[data-factor-field="${key}"]`, (f) => (f as HTMLElement & { value: string }).value);
    assert.equal(await fieldValue(`${result.path[0].layer}:${result.path[0].neuron}`), '0');
    assert.deepEqual(sent[0], { type: 'intervene', requestId: 1, intervention: { rows: 'readout', settings: result.path.map((p) => ({ layer: p.layer, neuron: p.neuron, factor: 0 })) } });

    // a typed neuron out of range is refused in words; one in range is added with its factor
    await page.fill('[data-testid=intervene-typed] >> input', '9:3');
    await page.click('[data-testid=intervene-add]');
    assert.match(await page.textContent('[data-testid=intervene-typed-error]') ?? '', /Layer 9 does not exist: the model has 6 blocks \(0 to 5\)/);
    await page.fill('[data-testid=intervene-typed] >> input', '2:200=0.5');
    await page.press('[data-testid=intervene-typed] >> input', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-neuron]').length === 7);
    assert.equal(await page.isVisible('[data-testid=intervene-typed-error]'), false);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-all]').length === 1);

    // a burst of slider moves (one task) is one request, with the last value
    const before = requests(await posted()).length;
    await page.evaluate(() => {
      const slider = document.querySelector('input[data-factor="2:200"]') as HTMLInputElement;
      for (const v of ['1', '1.5', '2']) { slider.value = v; slider.dispatchEvent(new Event('input')); }
    });
    await waitForRequests(page, posted, before + 1);
    sent = requests(await posted());
    assert.equal(sent.length, before + 1, 'one request for the burst');
    const last = sent[sent.length - 1];
    assert.deepEqual(last.intervention.settings.find((s) => s.layer === 2 && s.neuron === 200), { layer: 2, neuron: 200, factor: 2 });
    assert.equal(await page.inputValue('input[data-factor="2:200"]'), '2');

    // the number field takes any factor; "All" sets every neuron's
    await page.fill('[data-factor-field="0:1"] >> input', '-3');
    await waitForRequests(page, posted, before + 2);
    assert.equal(requests(await posted()).at(-1)!.intervention.settings.find((s) => s.layer === 0)!.factor, -3);
    await page.evaluate(() => {
      const slider = document.querySelector('input[data-factor="all"]') as HTMLInputElement;
      slider.value = '0'; slider.dispatchEvent(new Event('input'));
    });
    await waitForRequests(page, posted, before + 3);
    sent = requests(await posted());
    assert.ok(sent.at(-1)!.intervention.settings.every((s) => s.factor === 0));
    assert.deepEqual([await fieldValue('all'), await fieldValue('2:200')], ['0', '0'], 'the fields follow the shared factor');
    assert.equal(sent.at(-1)!.intervention.settings.length, 7);

    // an answer to an older request is dropped; the newest one draws before and after
    const answer = (requestId: number, after: number[]): LiveIntervention => ({
      settings: sent.at(-1)!.intervention.settings, rows: 'readout',
      before: [2, 4, 6, 0, 3].map((c, i) => ({ class: c, label: LABELS[c], probability: [0.6, 0.2, 0.1, 0.05, 0.03][i] })),
      after: after.map((c, i) => ({ class: c, label: LABELS[c], probability: [0.45, 0.3, 0.12, 0.06, 0.04][i] })),
      target: { class: 2, label: 'Pullover', before: 0.6, after: requestId === 1 ? 0.1 : 0.3 }, top1After: after[0],
    });
    // (messages reach the page in order, later than send() returns: the marker after it shows it was handled)
    await send({ type: 'intervention', requestId: 1, result: answer(1, [6, 2, 4, 0, 3]) });
    await send({ type: 'editedModel', error: 'marker' });
    await page.waitForFunction(() => document.querySelector('[data-testid=intervene-exported]')?.textContent === 'Not saved: marker');
    assert.equal(await page.getAttribute('[data-testid=intervene-status]', 'data-state'), 'pending');
    assert.equal(await page.$$eval('[data-testid=intervene-after] li', (els) => els.length), 0);
    const newest = sent.at(-1)!.requestId;
    await send({ type: 'intervention', requestId: newest, result: answer(newest, [4, 2, 6, 0, 3]) });
    await page.waitForSelector('[data-testid=intervene-status][data-state=done]', { state: 'attached' });
    const lists = await page.evaluate(() => ['before', 'after'].map((w) => Array.from(document.querySelectorAll(`[data-testid=intervene-${w}] li`), (li) => li.getAttribute('data-class'))));
    assert.deepEqual(lists, [['2', '4', '6', '0', '3'], ['4', '2', '6', '0', '3']]);
    assert.equal(await page.textContent('[data-testid=intervene-target]'), 'Pullover: 60.0% \u2192 30.0% (-30 pp); the top-1 is now Coat');
    assert.match(await page.textContent('[data-testid=intervene-after] li[data-class="4"]') ?? '', /45\.0% \(\+25 pp\)/);

    // an error of the newest request is shown in words
    await page.click('[data-testid=intervene-neuron][data-layer="5"] vscode-button');
    await waitForRequests(page, posted, before + 4);
    assert.equal(requests(await posted()).at(-1)!.intervention.settings.length, 6);
    await send({ type: 'intervention', requestId: requests(await posted()).at(-1)!.requestId, error: 'neuron 300 does not exist' });
    await page.waitForSelector('[data-testid=intervene-status][data-state=error]');
    assert.equal(await page.textContent('[data-testid=intervene-status]'), 'neuron 300 does not exist');

    // every row: the select changes the request's rows
    await page.evaluate(() => {
      const sel = document.querySelector('[data-testid=intervene-rows]') as HTMLElement & { value: string };
      sel.value = 'all'; sel.dispatchEvent(new Event('change'));
    });
    await waitForRequests(page, posted, before + 5);
    const setting = requests(await posted()).at(-1)!.intervention;
    assert.equal(setting.rows, 'all');

    // the folder: the setting is sent, progress and cancel while it runs, then the per-class table
    await page.click('[data-testid=intervene-folder]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'interveneFolder'), [{ type: 'interveneFolder', intervention: setting }]);
    await send({ type: 'folderIntervention', run: { state: 'running', folder: '/data/test', progress: { done: 3, total: 20, resumed: 0, analysed: 3, failed: 0, rate: 10, etaSeconds: 2 } } });
    await page.waitForSelector('[data-testid=intervene-folder-status][data-state=running]', { state: 'attached' });
    assert.match(await page.textContent('[data-testid=intervene-folder-status]') ?? '', /^\/data\/test: 3\/20 images/);
    assert.ok(await page.isVisible('[data-testid=intervene-folder-cancel]'));
    await page.click('[data-testid=intervene-folder-cancel]');
    assert.equal((await posted()).filter((m) => m.type === 'cancelInterveneFolder').length, 1);
    const effect = (label: string, images: number, acc: [number, number], p: [number, number]) => ({ label, images, accuracy: { before: acc[0], after: acc[1] }, probability: { before: p[0], after: p[1] } });
    await send({ type: 'folderIntervention', run: {
      state: 'done', folder: '/data/test', intervention: setting, run: { out: '/data/test.intervention-abc.jsonl', total: 20, resumed: 0, analysed: 20, failed: 0, cancelled: false, seconds: 2 },
      effects: { classes: [effect('Coat', 10, [0.9, 0.5], [0.8, 0.4]), effect('Bag', 10, [1, 1], [0.95, 0.94])], all: effect('all', 20, [0.95, 0.75], [0.875, 0.67]) },
    } });
    await page.waitForSelector('[data-testid=intervene-folder-status][data-state=done]');
    const rows = await page.$$eval('[data-testid=intervene-effect]', (els) => els.map((e) => Array.from(e.children, (c) => c.textContent)));
    assert.deepEqual(rows[0], ['Coat', '10', '90.0%', '50.0%', '0.8', '0.4', '-40 pp']);
    assert.equal(rows.length, 3);
    assert.equal(await page.isVisible('[data-testid=intervene-folder-cancel]'), false);

    // the edited model
    await page.click('[data-testid=intervene-export]');
    assert.deepEqual((await posted()).filter((m) => m.type === 'exportEdited'), [{ type: 'exportEdited', intervention: setting }]);
    await send({ type: 'editedModel', out: '/data/model-edited.onnx' });
    await page.waitForFunction(() => document.querySelector('[data-testid=intervene-exported]')?.textContent?.startsWith('Saved'));
    assert.equal(await page.textContent('[data-testid=intervene-exported]'), 'Saved the edited model /data/model-edited.onnx.');
    await page.$eval('#section-intervene', (el) => el.scrollIntoView());
    await screenshot('intervene-dark.png');

    // clearing empties the section and asks nothing more
    const count = requests(await posted()).length;
    await page.click('[data-testid=intervene-clear]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-neuron]').length === 0);
    await page.waitForTimeout(400);
    assert.equal(requests(await posted()).length, count);

    // the layer view's top-10 row adds its neuron (factor 0), once; so does the selected path card
    const top = await page.$eval('#top10 tr:first-child [data-testid=top10-intervene]', (b) => ({ layer: Number(b.getAttribute('data-layer')), neuron: Number(b.getAttribute('data-neuron')), label: b.getAttribute('aria-label') }));
    assert.equal(top.label, `Add layer ${top.layer}, neuron ${top.neuron} to Intervene (factor 0: removed)`);
    await page.click(`[data-testid=top10-intervene][data-neuron="${top.neuron}"]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=intervene-neuron]').length === 1);
    await waitForRequests(page, posted, count + 1);
    sent = requests(await posted());
    assert.equal(sent.length, count + 1, 'one request for the click');
    assert.deepEqual(sent.at(-1)!.intervention.settings, [{ layer: top.layer, neuron: top.neuron, factor: 0 }]);
    assert.equal(await page.$eval(`[data-testid=top10-intervene][data-neuron="${top.neuron}"]`, (b) => (b as HTMLElement & { disabled: boolean }).disabled), true, 'no second copy');
    const card = result.path.find((p) => p.layer === top.layer)!;
    assert.notEqual(card.neuron, top.neuron);
    assert.equal(await page.getAttribute('[data-testid=path-intervene]', 'aria-label'), `Add layer ${card.layer}, neuron ${card.neuron} to Intervene (factor 0: removed)`);
    await page.click('[data-testid=path-intervene]');
    await waitForRequests(page, posted, count + 2);
    assert.deepEqual(requests(await posted()).at(-1)!.intervention.settings, [{ layer: top.layer, neuron: top.neuron, factor: 0 }, { layer: card.layer, neuron: card.neuron, factor: 0 }]);
    assert.equal(await page.$$eval('[data-testid=intervene-neuron]', (rows) => rows.length), 2);

    const csp = await cspViolations();
    assert.deepEqual(csp, [], `CSP violations:\n${csp.join('\n')}`);
    assert.deepEqual(errors, []);
  });
});

/** Waits until the page has posted `n` intervene requests (the debounce delays each burst). */
async function waitForRequests(page: { waitForTimeout(ms: number): Promise<void> }, posted: () => Promise<Posted>, n: number): Promise<void> {
  for (let i = 0; i < 800 && requests(await posted()).length < n; i++) await page.waitForTimeout(25);
}
