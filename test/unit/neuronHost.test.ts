// The bundled extension host (dist/extension.js) against the vscode stub and the real worker on the
// tiny fixture ViT: a path card's "What excites #j?" opens the neuron view over the image's
// ImageFolder (its parent, which has a folder analysis), the worker scans it into
// <folder>.neurons-L<l>-<j>.jsonl with live progress, the view gets the summary with the "on paths"
// frequencies of the folder analysis; the folder panel's heatmap cell opens the same view; running
// again resumes (nothing rescanned); a top image opens its analysis; the serializer revives the view.
// Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  deactivate, folderAndImagePanels, HOST_MODEL as MODEL, HOST_READY as ready, loadExtension, postedOf as of, ROOT, sampleImageFolder, SAMPLES, stubVscode, untilWithin,
} from './fixtures/extensionHost';
import { makeContext, Uri, type FakeWebviewPanel } from './fixtures/vscodeStub';

const until = untilWithin(60_000);
test('extension host: the neuron view from a path card and a heatmap cell, live scan, resume, open an image, revive', { skip: ready ? false : 'needs npm run build, the fixture model and media/samples', timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-neuron-'));
  const folder = sampleImageFolder(tmp);
  const { h, stub, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 2, 'neuronPath.threads': 1, 'neuronPath.baselines': ['activation'] });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    loadExtension().activate(ctx);
    // the image panel of shop/coat/coat-1.png: its second path card's neuron
    const image = path.join(folder, 'coat', 'coat-1.png');
    const { folderPanel, imagePanel, result } = await folderAndImagePanels(h, folder, image, until);
    const { layer, neuron } = result.path[1];
    imagePanel.receive({ type: 'neuronView', layer: -1, neuron: 'x' });
    imagePanel.receive({ type: 'neuronView', layer, neuron });
    const view = await until('neuron view', () => h.panels.find((p) => p.viewType === 'neuronPath.neuronPanel'));
    assert.equal(view.title, `Neuron L${layer}:${neuron} · shop/`, 'the ImageFolder (the parent, which has a folder analysis), not coat/');
    assert.match(/Content-Security-Policy" content="([^"]+)"/.exec(view.html)?.[1] ?? '', /^default-src 'none'; .*script-src 'nonce-[A-Za-z0-9+/=]{16,}'$/);
    assert.match(view.html, /neuron\.js/);
    view.receive({ type: 'ready' });
    const done = await until('scan done', () => of(view, 'batchDone')[0]);
    assert.equal(done.cancelled, false);
    assert.equal(done.result.analysed, 8);
    const file = `${folder}.neurons-L${layer}-${neuron}.jsonl`;
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 8);
    assert.ok(of(view, 'batchProgress').length >= 1, 'live progress');
    assert.ok(h.progress.some((p) => p.title === 'Neuron Path: shop' && p.cancellable), 'under a cancellable notification');
    const summaries = of(view, 'summary');
    const s = summaries[summaries.length - 1];
    assert.equal(s.summary.images, 8);
    assert.equal(s.summary.top.length, 8);
    assert.equal(s.pathsFile, `${folder}.neuron-path.jsonl`);
    const coat = s.summary.classes.find((c: { label: string }) => c.label === 'coat');
    assert.ok(coat.onPaths >= 0.5, `coat-1 and its copy have it on their path: ${coat.onPaths}`);
    assert.ok(s.summary.all.ablated, 'single-neuron ablation per class');
    // where the neuron lives: its block's FFN nodes, from the model that scanned it; Copy puts a line on the host's clipboard
    assert.match(s.location.nodes.fc2, new RegExp(`${layer}`), `the fc2 node of block ${layer}: ${s.location.nodes.fc2}`);
    assert.equal(s.location.gated, false);
    view.receive({ type: 'copy', text: `Neuron #${neuron} of block ${layer}: fc2 ${s.location.nodes.fc2}` });
    await until('clipboard', () => h.clipboard);
    assert.equal(h.clipboard, `Neuron #${neuron} of block ${layer}: fc2 ${s.location.nodes.fc2}`);
    view.receive({ type: 'copy', text: 'x'.repeat(5000) });
    await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(h.clipboard.length, 5000, 'an over-long text from the page is refused');
    for (const t of s.summary.top) assert.match(s.imageUris[t.image], /^https:\/\/stub\.vscode-cdn\.net/);

    // the visualization: computed in the worker with its steps shown, then served from the cache
    view.receive({ type: 'visualize' });
    const shown = await until('visualization', () => of(view, 'visualization').find((m) => m.status.visualization));
    assert.match(shown.status.visualization.uri, /^https:\/\/stub\.vscode-cdn\.net\/.*visualizations\/[0-9a-f]{32}\.png$/);
    assert.equal(shown.status.visualization.steps, 256);
    const stepped = of(view, 'visualization').filter((m) => m.status.step).length;
    assert.ok(stepped >= 1, 'steps are shown');
    assert.ok(h.progress.some((p) => p.title === `Neuron Path: visualizing layer ${layer}, neuron ${neuron}` && p.cancellable));
    view.receive({ type: 'visualize' });
    const cached = await until('cached visualization', () => of(view, 'visualization').filter((m) => m.status.visualization)[1]);
    assert.deepEqual(cached.status.visualization, shown.status.visualization);
    assert.equal(of(view, 'visualization').filter((m) => m.status.step).length, stepped, 'the cached one runs no step');

    // the folder panel's heatmap cell opens the same view; running again resumes without rescanning
    folderPanel.receive({ type: 'neuronView', layer, neuron });
    const done2 = await until('second scan', () => of(view, 'batchDone')[1]);
    assert.equal(h.panels.filter((p) => p.viewType === 'neuronPath.neuronPanel').length, 1, 'one view per folder and neuron');
    assert.equal(done2.result.resumed, 8);
    assert.equal(done2.result.analysed, 0);

    // a top image opens its analysis; anything else is ignored
    view.receive({ type: 'openImage', image: '/etc/passwd' });
    const other = s.summary.top.find((t: { image: string }) => t.image !== image).image;
    view.receive({ type: 'openImage', image: other });
    await until('image panel of a top image', () => h.panels.find((p) => p.viewType === 'neuronPath.panel' && p.title === `Neuron Path: ${path.basename(other)}`));
    assert.equal(h.panels.filter((p) => p.viewType === 'neuronPath.panel').length, 2);

    // the serializer revives the view from its state, showing the file at once
    const restored = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.neuronPanel', 'x');
    view.dispose();
    await h.serializers.get('neuronPath.neuronPanel')!.deserializeWebviewPanel(restored.api, { folder, layer, neuron });
    restored.fake.receive({ type: 'ready' });
    const revived = (await until('revived init', () => of(restored.fake, 'init')[0])).init;
    assert.equal(revived.summary.images, 8);
    assert.equal(revived.left, 0, 'a revived view of a finished scan: nothing to resume (the page hides Resume)');
    // an image added to the folder since: the next revived view counts it, and offers Resume
    copyFileSync(image, path.join(folder, 'coat', 'coat-added.png'));
    const again = (stub.window as { __restorePanel(v: string, t: string): { api: unknown; fake: FakeWebviewPanel } }).__restorePanel('neuronPath.neuronPanel', 'x');
    restored.fake.dispose();
    await h.serializers.get('neuronPath.neuronPanel')!.deserializeWebviewPanel(again.api, { folder, layer, neuron });
    again.fake.receive({ type: 'ready' });
    const counted = (await until('second revived init', () => of(again.fake, 'init')[0])).init;
    assert.equal(counted.summary.images, 8);
    assert.equal(counted.left, 1);
  } finally {
    await deactivate(ctx, 200);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('extension host: Compare Two Paths from an image panel, the other image picked; the worker computes the cross JAS', { skip: ready ? false : 'needs npm run build, the fixture model and media/samples', timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-compare-'));
  const images = ['coat-1.png', 'sandal-1.png'].map((f) => { const to = path.join(tmp, f); copyFileSync(path.join(SAMPLES, f), to); return to; });
  const { h, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 3, 'neuronPath.threads': 1, 'neuronPath.baselines': ['activation'] });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    loadExtension().activate(ctx);
    const results: Array<Record<string, any>> = [];
    for (const image of images) {
      await h.commands.get('neuronPath.analyzeImage')!(Uri.file(image));
      const p = h.panels.find((x) => x.viewType === 'neuronPath.panel' && x.title === `Neuron Path: ${path.basename(image)}`)!;
      p.receive({ type: 'ready' });
      const m = await until('result', () => of(p, 'result')[0] ?? of(p, 'init').find((x) => x.init.result));
      results.push(m.result ?? m.init.result);
    }
    const offered: string[][] = [];
    h.quickPick = (items) => { offered.push(items.map((i) => i.detail ?? '')); return items.find((i) => i.detail === images[1]); };
    h.panels.find((x) => x.title === 'Neuron Path: coat-1.png')!.receive({ type: 'compare' });
    const view = await until('compare panel', () => h.panels.find((p) => p.viewType === 'neuronPath.comparePanel'));
    assert.deepEqual(offered, [[images[1]]], 'the other analysed image is offered');
    assert.match(view.html, /compare\.js/);
    view.receive({ type: 'ready' });
    const c = (await until('comparison', () => of(view, 'comparison')[0] ?? of(view, 'init').find((m) => m.init.comparison)));
    const comparison = c.comparison ?? c.init.comparison;
    assert.deepEqual(comparison.layers.map((l: { a: number; b: number }) => [l.a, l.b]), results[0].path.map((p: { neuron: number }, i: number) => [p.neuron, results[1].path[i].neuron]));
    assert.equal(comparison.a.jas, results[0].jas);
    assert.ok(Number.isFinite(comparison.a.jasOnOther) && Number.isFinite(comparison.b.jasOnOther));
    view.receive({ type: 'openImage', side: 'b' });
    assert.equal(h.panels.filter((p) => p.viewType === 'neuronPath.panel').length, 2, 'revealed, not a new panel');
  } finally {
    await deactivate(ctx, 200);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
