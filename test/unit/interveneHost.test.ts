// The bundled extension host (dist/extension.js) against the vscode stub and the real worker on the
// tiny fixture ViT: the image panel's Intervene section. A newer request cancels the older one (only
// the newest is answered), the prediction before is the analysis's, a neuron out of range is refused
// in words, the folder run writes its resumable file beside the folder and reports per class, and
// "Export edited model..." writes a model that predicts what the intervention did. Skipped before `npm run build`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  deactivate, HOST_MODEL as MODEL, HOST_READY as ready, loadExtension, postedOf as of, ROOT, sampleImageFolder, stubVscode, untilWithin,
} from './fixtures/extensionHost';
import { makeContext, Uri } from './fixtures/vscodeStub';

const until = untilWithin(60_000);

test('extension host: Intervene live (newest request only), over a folder (per class, resumed) and the edited model', { skip: ready ? false : 'needs npm run build, the fixture model and media/samples', timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-intervene-'));
  const folder = sampleImageFolder(tmp);
  const { h, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 2, 'neuronPath.threads': 1, 'neuronPath.baselines': [] });
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    const { service } = loadExtension().activate(ctx) as { service: { client: { request(method: string, ...rest: unknown[]): unknown } } };
    // every model load the host asks of the worker
    const loads: unknown[] = [];
    const request = service.client.request.bind(service.client);
    service.client.request = (method, ...rest) => { if (method === 'loadModel') loads.push(rest[0]); return request(method, ...rest); };
    await h.commands.get('neuronPath.analyzeImage')!(Uri.file(path.join(folder, 'coat', 'coat-1.png')));
    const panel = h.panels.find((p) => p.viewType === 'neuronPath.panel')!;
    panel.receive({ type: 'ready' });
    const m = await until('result', () => of(panel, 'result')[0] ?? of(panel, 'init').find((x) => x.init.result));
    const result = m.result ?? m.init.result;
    const settings = (factor: number) => result.path.map((p: { layer: number; neuron: number }) => ({ layer: p.layer, neuron: p.neuron, factor }));

    // two requests in a row: the first is cancelled and gets no answer
    panel.receive({ type: 'intervene', requestId: 1, intervention: { settings: settings(0), rows: 'readout' } });
    panel.receive({ type: 'intervene', requestId: 2, intervention: { settings: settings(3), rows: 'all' } });
    const answer = (await until('answer', () => of(panel, 'intervention').find((a) => a.requestId === 2))).result;
    assert.deepEqual(of(panel, 'intervention').map((a) => a.requestId), [2]);
    assert.equal(answer.target.class, result.target.class, 'the class the analysis explains');
    assert.deepEqual(answer.before.map((c: { class: number }) => c.class), result.prediction.top.slice(0, 5).map((c: { class: number }) => c.class));
    for (const [i, c] of answer.before.entries()) assert.ok(Math.abs(c.probability - result.prediction.top[i].probability) < 1e-6, 'before: the clean prediction');
    assert.ok(Math.abs(answer.target.after - answer.target.before) > 1e-4, `x3 at every row moves the target: ${answer.target.before} -> ${answer.target.after}`);
    assert.deepEqual([answer.rows, answer.settings], ['all', settings(3)]);
    // the model the analysis loaded serves the interventions: one identity for the same settings
    assert.equal(loads.length, 1, JSON.stringify(loads));

    // a malformed message is dropped; a neuron out of range is refused in words
    panel.receive({ type: 'intervene', requestId: 3, intervention: { settings: [{ layer: -1, neuron: 0, factor: 0 }], rows: 'readout' } });
    panel.receive({ type: 'intervene', requestId: 4, intervention: { settings: [{ layer: 99, neuron: 0, factor: 0 }], rows: 'readout' } });
    const refused = await until('refusal', () => of(panel, 'intervention').find((a) => a.requestId === 4));
    assert.match(refused.error, /layer 99 does not exist: the model has \d+ blocks/);
    assert.equal(of(panel, 'intervention').some((a) => a.requestId === 3), false);

    // the folder: its file beside it, per class before and after, resumed the second time
    h.openDialogResult = [Uri.file(folder)];
    const intervention = { settings: settings(0), rows: 'all' };
    panel.receive({ type: 'interveneFolder', intervention });
    const done = await until('folder done', () => of(panel, 'folderIntervention').find((x) => x.run.state === 'done'));
    assert.equal(loads.length, 1, 'nor the folder run');
    assert.ok(of(panel, 'folderIntervention').some((x) => x.run.state === 'running' && x.run.progress), 'live progress');
    assert.equal(done.run.run.analysed, 8);
    assert.deepEqual(done.run.effects.classes.map((c: { label: string; images: number }) => [c.label, c.images]), [['coat', 4], ['sandal', 4]]);
    assert.equal(done.run.effects.all.images, 8);
    const files = readdirSync(tmp).filter((f) => /^shop\.intervention-[0-9a-f]{12}\.jsonl$/.test(f));
    assert.equal(files.length, 1, readdirSync(tmp).join(', '));
    assert.equal(readFileSync(path.join(tmp, files[0]), 'utf8').trim().split('\n').length, 8);
    // Open Results on it: refused in words (the folder panel shows analyses), no folder panel
    const panels = h.panels.length;
    await h.commands.get('neuronPath.openResults')!(Uri.file(path.join(tmp, files[0])));
    assert.equal(h.panels.length, panels);
    const refusedOpen = h.messages.find((x) => x.level === 'error' && x.text.startsWith(`Neuron Path: ${files[0]} holds an intervention over a folder, not analyses`));
    assert.ok(refusedOpen, JSON.stringify(h.messages));
    assert.match(refusedOpen.text, /Intervene section: set the same neurons and press Apply to folder\.\.\./);
    panel.receive({ type: 'interveneFolder', intervention });
    const again = await until('second run', () => of(panel, 'folderIntervention').filter((x) => x.run.state === 'done')[1]);
    assert.deepEqual([again.run.run.resumed, again.run.run.analysed], [8, 0]);
    assert.deepEqual(again.run.effects, done.run.effects);

    // the edited model: written, and onnxruntime alone gives the intervention's probabilities
    const out = path.join(tmp, 'edited', 'model-edited.onnx');
    mkdirSync(path.dirname(out));   // a save dialog names a file in a folder that exists
    h.saveDialogResult = Uri.file(out);
    panel.receive({ type: 'exportEdited', intervention: { settings: settings(3), rows: 'all' } });
    const saved = await until('export', () => of(panel, 'editedModel')[0]);
    assert.equal(saved.out, out, saved.error);
    assert.ok(h.messages.some((x) => x.level === 'info' && x.text.startsWith('Neuron Path: saved the edited model')));
    const { Engine } = await import('../../src/engine/index');
    const edited = await Engine.open({ modelPath: out, threads: 1 });
    try {
      // factor 1 changes nothing: its "before" is the edited model's own prediction
      const r = await edited.intervene(path.join(folder, 'coat', 'coat-1.png'), { settings: [{ layer: 0, neuron: 0, factor: 1 }], rows: 'readout' }, answer.target.class);
      assert.deepEqual(r.before.map((c) => c.class), answer.after.map((c: { class: number }) => c.class));
      for (const [i, c] of r.before.entries()) assert.ok(Math.abs(c.probability - answer.after[i].probability) < 1e-5, `${c.probability} vs ${answer.after[i].probability}`);
    } finally {
      await edited.dispose();
    }

    // never over the model itself
    h.saveDialogResult = Uri.file(MODEL);
    panel.receive({ type: 'exportEdited', intervention: { settings: settings(0), rows: 'readout' } });
    const refusedExport = await until('refused export', () => of(panel, 'editedModel')[1]);
    assert.match(refusedExport.error, /is the model or one of its configs: write the edited model to another file/);
    assert.ok(existsSync(MODEL));
  } finally {
    await deactivate(ctx, 300);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
