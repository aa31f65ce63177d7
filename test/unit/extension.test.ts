// The bundled extension host (dist/extension.js) activated against a stub of the `vscode` module and
// driving the real worker (dist/worker.js) on a fixture ViT: contributions match the code, Analyze
// opens one panel per image and streams progress into it, the target picker re-runs, exports write,
// cancel stops, a reloaded window revives the panel from the result cache, an untrusted workspace
// cannot pick the model. Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deactivate as deactivateHost, EXTENSION, loadExtension, postedOf, ROOT, stubVscode, untilWithin, WORKER } from './fixtures/extensionHost';
import { makeContext, Uri, type FakeWebviewPanel } from './fixtures/vscodeStub';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'cls_op13', 'model.onnx');
const ready = existsSync(EXTENSION) && existsSync(WORKER) && existsSync(FIXTURE);

interface Pkg {
  activationEvents: string[];
  contributes: {
    commands: Array<{ command: string; title: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    configuration: { properties: Record<string, { default?: unknown }> };
  };
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
}
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Pkg;

const until = untilWithin(60_000);

async function writeImage(file: string, hue: number): Promise<string> {
  const sharp = (await import('sharp')).default;
  const size = 40;
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) { px[i * 3] = (i * hue) % 256; px[i * 3 + 1] = (i % size) * 6; px[i * 3 + 2] = 90; }
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
  return file;
}

test('package.json contributions: commands, menus, activation and trust', () => {
  const ids = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(ids, ['neuronPath.analyzeFolder', 'neuronPath.analyzeImage', 'neuronPath.analyzeSample', 'neuronPath.comparePaths', 'neuronPath.openResults', 'neuronPath.openSettings', 'neuronPath.selectModel']);
  assert.equal(pkg.contributes.commands.find((c) => c.command === 'neuronPath.analyzeImage')?.title, 'Neuron Path: Analyze Image');
  assert.deepEqual(pkg.activationEvents.sort(), [...ids.map((c) => `onCommand:${c}`), 'onWebviewPanel:neuronPath.panel', 'onWebviewPanel:neuronPath.folderPanel', 'onWebviewPanel:neuronPath.neuronPanel'].sort());
  const menu = (id: string) => pkg.contributes.menus['explorer/context'].find((m) => m.command === id)?.when;
  assert.equal(menu('neuronPath.analyzeFolder'), 'explorerResourceIsFolder');
  // A context menu shows titles without their category: every entry names the extension itself.
  for (const m of [...pkg.contributes.menus['explorer/context'], ...pkg.contributes.menus['editor/title']]) {
    const c = pkg.contributes.commands.find((x) => x.command === m.command);
    assert.match(`${c?.title}`, /^Neuron Path: /, m.command);
  }
  assert.equal(menu('neuronPath.openResults'), '!explorerResourceIsFolder && resourceExtname == .jsonl');
  const explorer = pkg.contributes.menus['explorer/context'][0];
  assert.equal(explorer.command, 'neuronPath.analyzeImage');
  const when = /resourceExtname =~ \/(.*)\/i/.exec(explorer.when ?? '');
  assert.ok(when, explorer.when);
  const re = new RegExp(when[1], 'i');
  for (const ext of ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif', 'PNG']) assert.ok(re.test(`.${ext}`), ext);
  for (const ext of ['svg', 'bmp', 'pngx', 'onnx']) assert.ok(!re.test(`.${ext}`), ext);
  assert.equal(pkg.contributes.menus['editor/title'][0].when, 'activeCustomEditorId == imagePreview.previewEditor');
  const props = pkg.contributes.configuration.properties;
  for (const key of ['resultsLocation', 'batch.refreshEvery', 'modelPath', 'labelsPath', 'preprocess.size', 'preprocess.mean', 'preprocess.std', 'preprocess.resize', 'steps', 'formula', 'scope', 'target', 'executionProvider', 'threads', 'baselines']) {
    assert.ok(`neuronPath.${key}` in props, key);
  }
  assert.equal(props['neuronPath.steps'].default, 20);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['neuronPath.modelPath', 'neuronPath.labelsPath']);
});

test('extension host: analyze, live progress, one panel per image, target, export, cancel, revive from cache, trust', { skip: ready ? false : 'needs npm run build and test/fixtures', timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-ext-'));
  const { h, stub, restore } = stubVscode({ 'neuronPath.modelPath': FIXTURE, 'neuronPath.steps': 4, 'neuronPath.threads': 1 });
  let ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  const deactivate = (): Promise<void> => deactivateHost(ctx, 100);
  try {
    const ext = loadExtension();
    const activated = ext.activate(ctx) as { service: { client: { pid?: number }; cache: { get(key: string): Promise<unknown> } } };
    // the result cache's reads: one per panel open, not one to look and one more to run
    const cacheReads: string[] = [];
    const { cache } = activated.service;
    const get = cache.get.bind(cache);
    cache.get = (key) => { cacheReads.push(key); return get(key); };
    // the contributed commands, and the internal one the panels open the neuron view with
    assert.deepEqual([...h.commands.keys()].sort(), ['neuronPath.analyzeFolder', 'neuronPath.analyzeImage', 'neuronPath.analyzeSample', 'neuronPath.comparePaths', 'neuronPath.openNeuronView', 'neuronPath.openResults', 'neuronPath.openSettings', 'neuronPath.selectModel']);
    assert.ok(h.serializers.has('neuronPath.panel'));
    assert.ok(h.serializers.has('neuronPath.folderPanel'));

    const image = await writeImage(path.join(tmp, 'coat-1.png'), 3);
    const analyze = h.commands.get('neuronPath.analyzeImage')!;
    await analyze(Uri.file(image));
    assert.equal(h.panels.length, 1);
    const panel = h.panels[0];
    assert.equal(panel.viewType, 'neuronPath.panel');
    assert.equal(panel.title, 'Neuron Path: coat-1.png');
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(panel.html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none'; img-src https:\/\/stub\.vscode-cdn\.net data:; style-src https:\/\/stub\.vscode-cdn\.net 'nonce-[A-Za-z0-9+/=]{16,}'; script-src 'nonce-[A-Za-z0-9+/=]{16,}'$/);
    assert.ok(!csp.includes('unsafe'));
    panel.receive({ type: 'ready' });
    const init = await until('init', () => postedOf(panel, 'init')[0]);
    assert.equal(init.init.fileName, 'coat-1.png');
    const result = await until('result', () => postedOf(panel, 'result')[0]);
    assert.equal(result.result.path.length, 4);
    assert.equal(result.cached, false);
    assert.equal(cacheReads.length, 1, 'the cache is asked once when a panel opens');
    const grown = postedOf(panel, 'progress').filter((m) => m.progress.phase === 'layer').map((m) => m.progress.partialPath?.length);
    assert.ok(grown.length >= 1, 'progress reached the panel');
    for (let i = 1; i < grown.length; i++) assert.ok(grown[i] >= grown[i - 1], `${grown.join(',')}`);
    assert.equal(h.progress.length, 1);
    assert.equal(h.progress[0].title, 'Neuron Path: coat-1.png');
    assert.equal(h.progress[0].cancellable, true);
    assert.ok(h.progress[0].reports.length >= 2);
    assert.ok(postedOf(panel, 'labels').length >= 1, 'the model labels reach the panel');

    // a second request reveals the same panel and runs nothing
    await analyze(Uri.file(image));
    assert.equal(h.panels.length, 1);
    assert.ok(panel.revealed >= 1);
    assert.equal(h.progress.length, 1);

    // the target picker re-runs for that class
    panel.receive({ type: 'analyze', target: 1 });
    const second = await until('second result', () => postedOf(panel, 'result')[1]);
    assert.equal(second.result.target.class, 1);
    assert.equal(second.result.settings.target, 1);

    // export the CSV of the path next to the image
    h.saveDialogResult = Uri.file(path.join(tmp, 'coat-1.path.csv'));
    panel.receive({ type: 'export', request: { format: 'csv' } });
    const csv = await until('csv', () => h.written.get(path.join(tmp, 'coat-1.path.csv')));
    assert.equal(csv.toString().trim().split('\n').length, 5);
    assert.match(csv.toString(), /^layer,neuron,activation,score/);

    // cancel from the notification, in a run of 1000 steps (4 would end before the cancel reached a fast worker)
    h.config['neuronPath.steps'] = 1000;
    h.cancelAfterReports = 2;
    panel.receive({ type: 'analyze', target: 2 });
    const failed = await until('runFailed', () => postedOf(panel, 'runFailed')[0], 30_000);
    assert.equal(failed.cancelled, true);
    assert.match(failed.message, /cancel/i);
    assert.ok(!h.messages.some((m) => m.level === 'error'), JSON.stringify(h.messages));

    // the worker dies mid-run (of 1000 steps, long after its first progress): one clear error, the panel
    // says so, the next run starts a new worker
    const api = activated;
    const errorsBefore = h.messages.filter((m) => m.level === 'error').length;
    panel.receive({ type: 'analyze', target: 3 });
    await until('a progress message of the slow run', () => postedOf(panel, 'progress').some((m) => m.runId === postedOf(panel, 'runStarted').at(-1)?.runId));
    const pid = api.service.client.pid!;
    process.kill(pid, 'SIGKILL');
    const crashed = await until('runFailed after the crash', () => postedOf(panel, 'runFailed').find((m) => /stopped unexpectedly/.test(m.message)));
    assert.equal(crashed.cancelled, false);
    const newErrors = h.messages.filter((m) => m.level === 'error').slice(errorsBefore);
    assert.equal(newErrors.length, 1, JSON.stringify(newErrors));
    assert.match(newErrors[0].text, /stopped unexpectedly: it was killed \(SIGKILL\), most likely out of memory \(the system's out-of-memory killer sends SIGKILL; so does kill -9\): the model file is [\d.]+ MB \(an analysis needs a few times that\); this machine has [\d.]+ GB of [\d.]+ GB free.*\. It will be restarted on the next run\. To use less memory: fewer threads \(neuronPath\.threads\), fewer steps \(neuronPath\.steps\)/);
    h.config['neuronPath.steps'] = 4;
    panel.receive({ type: 'analyze', target: 3 });
    const afterCrash = await until('result after the restart', () => postedOf(panel, 'result').find((m) => m.result.target.class === 3));
    assert.equal(afterCrash.result.settings.steps, 4);
    assert.notEqual(api.service.client.pid, pid);

    // asked again after a settings change: the panel runs the analysis with the new settings
    const runs = h.progress.length;
    h.config['neuronPath.steps'] = 3;
    await analyze(Uri.file(image));
    assert.equal(h.panels.length, 1);
    const rerun = await until('re-run with new settings', () => postedOf(panel, 'result').find((m) => m.result.settings.steps === 3));
    assert.equal(rerun.cached, false);
    assert.equal(h.progress.length, runs + 1);
    h.config['neuronPath.steps'] = 4;

    // a window reload: the serializer revives the panel from the result cache, without running anything
    await deactivate();
    assert.ok(readdirSync(path.join(tmp, 'storage', 'results')).length >= 2, 'results cached on disk');
    const runsBefore = h.progress.length;
    ctx = makeContext(ROOT, path.join(tmp, 'storage'));
    ext.activate(ctx);
    const restored = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.panel', 'Neuron Path: coat-1.png');
    await h.serializers.get('neuronPath.panel')!.deserializeWebviewPanel(restored.api, { imagePath: image, target: 1 });
    restored.fake.receive({ type: 'ready' });
    const revived = await until('revived init', () => postedOf(restored.fake, 'init').find((m) => m.init.result));
    assert.equal(revived.init.cached, true);
    assert.equal(revived.init.result.target.class, 1);
    assert.equal(revived.init.labels?.length, 10, 'the model labels are remembered across the reload');
    assert.equal(h.progress.length, runsBefore, 'no analysis ran');
    // state the page saved is not trusted: no image file there (or not an image), no panel
    for (const state of [{ imagePath: path.join(tmp, 'missing.png') }, { imagePath: '/' }, { imagePath: path.join(tmp, 'storage') }]) {
      const evil = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.panel', 'evil');
      await h.serializers.get('neuronPath.panel')!.deserializeWebviewPanel(evil.api, state);
      assert.equal(evil.fake.disposed, true, JSON.stringify(state));
    }

    // an untrusted workspace cannot point the model elsewhere: the user setting is used
    h.trusted = false;
    h.workspaceConfig['neuronPath.modelPath'] = path.join(tmp, 'evil.onnx');
    const other = await writeImage(path.join(tmp, 'other.png'), 7);
    await h.commands.get('neuronPath.analyzeImage')!(Uri.file(other));
    const otherPanel = h.panels[h.panels.length - 1];
    otherPanel.receive({ type: 'ready' });
    const otherResult = await until('untrusted result', () => postedOf(otherPanel, 'result')[0]).catch((e: Error) => {
      throw new Error(`${e.message}\n${JSON.stringify(otherPanel.posted).slice(0, 2000)}\n${JSON.stringify(h.messages)}`);
    });
    assert.equal(otherResult.result.model.path, FIXTURE);
  } finally {
    await deactivate().catch(() => undefined);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
