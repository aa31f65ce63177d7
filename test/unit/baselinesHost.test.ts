// The image panel's host with the real worker (stubbed `vscode`): "Skip baselines" gives a complete
// result without them, kept in the result cache and re-opened as it is; "Compute baselines" adds them
// to the same path. "Compare with..." alone says why; "Settings" in a remote window opens the Remote tab;
// the Fast box sets the fast preset for the next run.
// Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deactivate as deactivateHost, EXTENSION, loadExtension, postedOf, ROOT, stubVscode, untilWithin, WORKER } from './fixtures/extensionHost';
import { makeContext, Uri } from './fixtures/vscodeStub';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'cls_op13', 'model.onnx');
const IMAGE = path.join(ROOT, 'media', 'samples', 'coat-1.png');
const ready = existsSync(EXTENSION) && existsSync(WORKER) && existsSync(FIXTURE);
const until = untilWithin(60_000);

test('image panel host: skip the baselines, re-open the path result, compute them later on the same path', { skip: ready ? false : 'needs npm run build and test/fixtures', timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-baselines-'));
  const { h, restore } = stubVscode({ 'neuronPath.modelPath': FIXTURE, 'neuronPath.steps': 400, 'neuronPath.threads': 1 });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    loadExtension().activate(ctx);
    await h.commands.get('neuronPath.analyzeImage')!(Uri.file(IMAGE));
    const panel = h.panels[0];
    panel.receive({ type: 'ready' });
    const init = await until('init', () => postedOf(panel, 'init')[0]);
    assert.deepEqual(init.init.wantedBaselines, ['activation', 'ig', 'ip', 'random']);
    // Skip while the run goes: it stops once the path is complete (m = 400 makes the baselines last far
    // longer than the stop's way from the path result to the worker).
    await until('the run', () => postedOf(panel, 'progress')[0]);
    panel.receive({ type: 'skipBaselines' });
    const first = await until('result', () => postedOf(panel, 'result')[0]);
    assert.equal(first.baselinesCancelled, true);
    assert.deepEqual(first.result.settings.baselines, []);
    assert.deepEqual(first.result.baselines, {});
    assert.equal(first.result.path.length, first.result.model.layers);
    assert.ok(!postedOf(panel, 'progress').some((m) => m.progress.pathResult), 'the page gets progress, not the whole path result');

    // "Compare with..." with no other analysed image says why instead of an empty picker.
    panel.receive({ type: 'compare' });
    const why = await until('compare message', () => h.messages.find((m) => /no other analysed image to compare coat-1.png with/.test(m.text)));
    assert.equal(why.level, 'info');

    // "Settings" in a remote window (code-server is one) opens the Remote tab, where the model path shows.
    const opened: unknown[] = [];
    h.commands.set('workbench.action.openRemoteSettings', (arg) => opened.push(arg));
    h.remoteName = 'localhost:8080';
    panel.receive({ type: 'openSettings' });
    await until('remote settings opened', () => opened[0]);
    assert.deepEqual(opened, [{ query: '@ext:neuron-path.neuron-path' }]);
    h.remoteName = undefined;
    assert.ok(!h.messages.some((m) => m.level === 'error'), JSON.stringify(h.messages));

    // Re-opened (closed and analysed again): the path result comes from the cache, nothing runs.
    const runs = h.progress.length;
    panel.dispose();
    await h.commands.get('neuronPath.analyzeImage')!(Uri.file(IMAGE));
    const again = h.panels.at(-1)!;
    again.receive({ type: 'ready' });
    const reopened = await until('re-opened init', () => postedOf(again, 'init').find((m) => m.init.result));
    assert.deepEqual(reopened.init.result.settings.baselines, []);
    assert.equal(h.progress.length, runs, 'no analysis ran');

    // Compute them now: the same path, the baselines added.
    again.receive({ type: 'runBaselines' });
    const reuse = await until('runStarted reusing the path', () => postedOf(again, 'runStarted').find((m) => m.reusesPath));
    assert.equal(reuse.target, 'predicted');
    assert.deepEqual(reuse.baselines, ['activation', 'ig', 'ip', 'random']);
    const full = await until('full result', () => postedOf(again, 'result').find((m) => m.result.settings.baselines?.length === 4));
    assert.deepEqual(full.result.path, first.result.path);
    assert.equal(full.result.jas, first.result.jas);
    assert.ok(full.result.baselines.activation && full.result.baselines.integratedGradients && full.result.baselines.influencePattern && full.result.baselines.random);
    assert.ok(!h.messages.some((m) => m.level === 'error'), JSON.stringify(h.messages));

    // The Fast box sets neuronPath.fast in the user settings; the page is told, and the next run takes 8 Gauss-Legendre steps.
    assert.equal(postedOf(again, 'init').at(-1)!.init.fast, false);
    again.receive({ type: 'setFast', fast: true });
    await until('init with fast on', () => postedOf(again, 'init').find((m) => m.init.fast === true));
    assert.equal(h.config['neuronPath.fast'], true);
    again.receive({ type: 'analyze', target: 'predicted' });
    const fast = await until('fast result', () => postedOf(again, 'result').find((m) => m.result.settings.rule === 'gauss'));
    assert.equal(fast.result.settings.steps, 8);
  } finally {
    await deactivateHost(ctx, 100).catch(() => undefined);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
