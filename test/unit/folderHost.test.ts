// The bundled extension host (dist/extension.js) against the vscode stub and the real worker on the
// tiny fixture ViT: Analyze Folder opens the folder panel, streams the batch progress into it and the
// notification ("n/total images, rate, ETA"), re-summarises the result file next to the folder;
// cancelling and running again resumes (each image once); a heatmap image opens the image panel;
// Open Results shows a file without computing and skips its bad lines, and on a shard file shows
// the whole run. Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  deactivate, HOST_MODEL as MODEL, HOST_READY as ready, loadExtension, postedOf as of, ROOT, sampleImageFolder, stubVscode, untilWithin,
} from './fixtures/extensionHost';
import { makeContext, Uri, type FakeWebviewPanel } from './fixtures/vscodeStub';

const until = untilWithin(60_000);

test('extension host: Analyze Folder, live folder panel, cancel and resume, open an image, Open Results', { skip: ready ? false : 'needs npm run build, the fixture model and media/samples', timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-folder-'));
  const folder = sampleImageFolder(tmp);
  const { h, stub, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 100, 'neuronPath.threads': 1, 'neuronPath.baselines': ['activation', 'random'], 'neuronPath.batch.refreshEvery': 2 });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    const ext = loadExtension();
    ext.activate(ctx);
    const analyzeFolder = h.commands.get('neuronPath.analyzeFolder')!;
    const out = `${folder}.neuron-path.jsonl`;

    // first run, cancelled from the notification at its third report (loading, 0/8, 1/8 images): 100 steps
    // an image, so that the 7 images left take far longer than the cancel's way to the worker
    h.cancelAfterReports = 3;
    const first = analyzeFolder(Uri.file(folder)) as Promise<void>;
    const panel = await until('folder panel', () => h.panels.find((p) => p.viewType === 'neuronPath.folderPanel'));
    assert.equal(panel.title, 'Neuron Path: shop/');
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(panel.html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none'; .*script-src 'nonce-[A-Za-z0-9+/=]{16,}'$/);
    assert.match(panel.html, /folder\.js/);
    panel.receive({ type: 'ready' });
    await first;
    const done1 = await until('batchDone', () => of(panel, 'batchDone')[0]);
    assert.equal(done1.cancelled, true);
    const note = h.progress[0];
    assert.equal(note.title, 'Neuron Path: shop');
    assert.equal(note.cancellable, true);
    assert.ok(note.reports.some((r) => /^\d\/8 images(, [\d.]+ img\/s)?/.test(r.message ?? '')), JSON.stringify(note.reports));
    assert.ok(of(panel, 'batchProgress').length >= 1);
    const analysedFirst = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
    assert.ok(analysedFirst >= 1 && analysedFirst < 8, `${analysedFirst} lines after the cancel`);

    // again: resumes, the panel re-summarises as lines arrive, then the whole file
    await analyzeFolder(Uri.file(folder));
    assert.equal(h.panels.filter((p) => p.viewType === 'neuronPath.folderPanel').length, 1, 'one panel per folder');
    const done2 = await until('second batchDone', () => of(panel, 'batchDone')[1]);
    assert.equal(done2.cancelled, false);
    assert.equal(done2.result.resumed, analysedFirst);
    const images = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).image.path as string);
    assert.equal(images.length, 8);
    assert.equal(new Set(images).size, 8, 'each image once');
    const reports = of(panel, 'report');
    assert.ok(reports.length >= 2, `${reports.length} summaries`);
    const last = reports[reports.length - 1].report;
    assert.equal(last.images, 8);
    assert.deepEqual(last.patterns.classes.map((c: { label: string }) => c.label), ['coat', 'sandal']);
    assert.deepEqual(last.comparison.map((m: { method: string }) => m.method), ['path', 'activation', 'random']);

    // an image of the report opens the image panel; anything else is ignored
    panel.receive({ type: 'openImage', image: '/etc/passwd' });
    panel.receive({ type: 'openImage', image: images[0] });
    const imagePanel = await until('image panel', () => h.panels.find((p) => p.viewType === 'neuronPath.panel'));
    assert.equal(imagePanel.title, `Neuron Path: ${path.basename(images[0])}`);
    assert.equal(h.panels.filter((p) => p.viewType === 'neuronPath.panel').length, 1);
    // the batch's record was made with the current settings: it is shown as the cached result, nothing runs
    imagePanel.receive({ type: 'ready' });
    const imageInit = await until('image init', () => of(imagePanel, 'init').find((m) => m.init.result));
    assert.equal(imageInit.init.cached, true);
    assert.equal(imageInit.init.result.image.path, images[0]);
    assert.equal(imageInit.init.result.batch, undefined);
    assert.ok(!h.progress.some((p) => p.title === `Neuron Path: ${path.basename(images[0])}`), 'no analysis ran');

    // Open Results on a copy with a cut-off line: no computation, the bad line is reported
    const copy = path.join(tmp, 'copy.jsonl');
    writeFileSync(copy, readFileSync(out));
    appendFileSync(copy, '{"schema":"neuron-path/1","image":\n');
    const runsBefore = h.progress.length;
    await h.commands.get('neuronPath.openResults')!(Uri.file(copy));
    const results = await until('results panel', () => h.panels.filter((p) => p.viewType === 'neuronPath.folderPanel')[1]);
    results.receive({ type: 'ready' });
    const init = await until('init', () => of(results, 'init')[0]);
    assert.equal(init.init.report.images, 8);
    assert.equal(init.init.skipped.length, 1);
    assert.equal(init.init.skipped[0].line, 9);
    assert.equal(init.init.folder, undefined);
    assert.equal(h.progress.length, runsBefore, 'nothing was computed');

    // the serializer revives a folder panel from its state
    const restored = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.folderPanel', 'x');
    results.dispose();
    await h.serializers.get('neuronPath.folderPanel')!.deserializeWebviewPanel(restored.api, { resultFile: copy });
    restored.fake.receive({ type: 'ready' });
    assert.equal((await until('revived init', () => of(restored.fake, 'init')[0])).init.report.images, 8);

    // Open Results on one shard file of a cluster run: the whole run, as one result
    const runDir = path.join(tmp, 'run');
    mkdirSync(runDir);
    const all = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    writeFileSync(path.join(runDir, 'shop.neuron-path.shard-0-of-2.jsonl'), `${all.slice(0, 5).join('\n')}\n`);
    writeFileSync(path.join(runDir, 'shop.neuron-path.shard-1-of-2.jsonl'), `${all.slice(5).join('\n')}\n`);
    await h.commands.get('neuronPath.openResults')!(Uri.file(path.join(runDir, 'shop.neuron-path.shard-1-of-2.jsonl')));
    const shards = await until('shard run panel', () => h.panels.filter((p) => p.viewType === 'neuronPath.folderPanel' && !p.disposed).find((p) => p.title.includes('shard-*')));
    shards.receive({ type: 'ready' });
    const shardInit = await until('shard init', () => of(shards, 'init')[0]);
    assert.equal(shardInit.init.report.images, 8);
    assert.equal(shardInit.init.report.files.length, 2);

    // state the page saved is not trusted: a file that is not a result file revives nothing
    const events = path.join(tmp, 'events.jsonl');
    writeFileSync(events, '{"event":"login"}\n');
    for (const state of [{ resultFile: events }, { resultFile: path.join(tmp, 'missing.jsonl') }, { resultFile: '/etc/passwd' }]) {
      const evil = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.folderPanel', 'evil');
      await h.serializers.get('neuronPath.folderPanel')!.deserializeWebviewPanel(evil.api, state);
      assert.equal(evil.fake.disposed, true, JSON.stringify(state));
    }
  } finally {
    await deactivate(ctx, 200);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
