// Where the extension writes results (neuronPath.resultsLocation): the names in each place, the
// workspace folder's .gitignore, finding the folder of a file away from the data; then the bundled
// extension host (vscode stub, real worker, tiny fixture ViT) analysing a flat folder with a
// labels.json into the workspace's .neuron-path/ and the extension's storage, nothing beside the
// data, and the neuron view reading the folder's classes as the folder analysis does.
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { folderOfAwayFile, prepareResultsDir, resultFileOf, type ResultsPlaces } from '../../src/extension/resultsLocation';
import { deactivate, HOST_MODEL as MODEL, HOST_READY as ready, loadExtension, postedOf as of, ROOT, SAMPLES, stubVscode, untilWithin } from './fixtures/extensionHost';
import { makeContext, Uri } from './fixtures/vscodeStub';

const until = untilWithin(60_000);

test('results location: next to the data, in the workspace\'s .neuron-path/ or the extension storage, named so two folders never share a file', () => {
  const ws = path.resolve('/w'), storage = path.resolve('/s');
  const places = (location: ResultsPlaces['location'], workspaceRoot: string | undefined = ws): ResultsPlaces => ({ location, workspaceRoot, storage });
  const a = path.join(ws, 'data', 'shop'), b = path.join(ws, 'other', 'shop');
  assert.equal(resultFileOf(a, places('nextToData')), `${a}.neuron-path.jsonl`);
  assert.equal(resultFileOf(`${a}${path.sep}`, places('nextToData'), '.neurons-L1-2.jsonl'), `${a}.neurons-L1-2.jsonl`);
  const inWs = resultFileOf(a, places('workspace'));
  assert.match(path.basename(inWs), /^shop-[0-9a-f]{12}\.neuron-path\.jsonl$/);
  assert.equal(path.dirname(inWs), path.join(ws, '.neuron-path'));
  assert.notEqual(resultFileOf(b, places('workspace')), inWs, 'same name, other folder: other file');
  assert.equal(resultFileOf(a, places('workspace'), '.neurons-L1-2.jsonl'), inWs.replace('.neuron-path.jsonl', '.neurons-L1-2.jsonl'));
  assert.equal(path.dirname(resultFileOf(a, places('extensionStorage'))), path.join(storage, 'batches'));
  assert.equal(path.dirname(resultFileOf(a, { location: 'workspace', storage })), path.join(storage, 'batches'), 'no open folder: the storage');
  // the folder of a file away from the data, from one of its images (flat, or ImageFolder a level up)
  assert.equal(folderOfAwayFile(inWs, path.join(a, 'x.png'), places('workspace')), a);
  assert.equal(folderOfAwayFile(inWs, path.join(a, 'coat', 'x.png'), places('workspace')), a);
  assert.equal(folderOfAwayFile(inWs, path.join(b, 'x.png'), places('workspace')), undefined);
  assert.equal(folderOfAwayFile(inWs, undefined, places('workspace')), undefined);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-where-'));
  try {
    prepareResultsDir(path.join(tmp, 'beside.neuron-path.jsonl'));
    assert.deepEqual(readdirSync(tmp), [], 'next to the data: nothing made');
    const file = resultFileOf(path.join(tmp, 'shop'), places('workspace', tmp));
    prepareResultsDir(file);
    assert.match(readFileSync(path.join(tmp, '.neuron-path', '.gitignore'), 'utf8'), /^\*$/m);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** `dir`/flat: four samples at the top and a labels.json giving coat 0 and sandal 1 (the fixture's "class 0" and "class 1"). */
function flatFolder(dir: string): string {
  const folder = path.join(dir, 'flat');
  mkdirSync(folder, { recursive: true });
  const labels: Record<string, number> = {};
  for (const [cls, index] of [['coat', 0], ['sandal', 1]] as const) {
    for (const n of [1, 2]) { copyFileSync(path.join(SAMPLES, `${cls}-${n}.png`), path.join(folder, `${cls}-${n}.png`)); labels[`${cls}-${n}.png`] = index; }
  }
  writeFileSync(path.join(folder, 'labels.json'), JSON.stringify(labels));
  return folder;
}

test('extension host: results in the workspace\'s .neuron-path/ and in the extension storage, nothing beside the data; the neuron view groups a flat folder by its labels.json', { skip: ready ? false : 'needs npm run build, the fixture model and media/samples', timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'np-where-host-'));
  const folder = flatFolder(tmp);
  const { h, restore } = stubVscode({ 'neuronPath.modelPath': MODEL, 'neuronPath.steps': 2, 'neuronPath.threads': 1, 'neuronPath.baselines': ['activation'], 'neuronPath.resultsLocation': 'workspace' });
  h.workspaceFolder = tmp;
  const ctx = makeContext(ROOT, path.join(tmp, 'storage'));
  try {
    loadExtension().activate(ctx);
    await h.commands.get('neuronPath.analyzeFolder')!(Uri.file(folder));
    const results = path.join(tmp, '.neuron-path');
    const [file] = readdirSync(results).filter((f) => f.endsWith('.neuron-path.jsonl'));
    assert.match(file, /^flat-[0-9a-f]{12}\.neuron-path\.jsonl$/);
    assert.ok(existsSync(path.join(results, '.gitignore')));
    const records = readFileSync(path.join(results, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: { path: string }; trueClass: number | null });
    assert.deepEqual(records.map((r) => [path.basename(r.image.path), r.trueClass]).sort(), [['coat-1.png', 0], ['coat-2.png', 0], ['sandal-1.png', 1], ['sandal-2.png', 1]], 'classes from labels.json');
    assert.ok(!existsSync(`${folder}.neuron-path.jsonl`) && readdirSync(tmp).sort().join() === '.neuron-path,flat,storage', 'nothing beside the data');

    // the neuron view scans into the same place and reads the folder's classes, not the predicted ones
    await h.commands.get('neuronPath.openNeuronView')!({ folder, layer: 0, neuron: 0 });
    const view = await until('neuron view', () => h.panels.find((p) => p.viewType === 'neuronPath.neuronPanel'));
    view.receive({ type: 'ready' });
    const scans = readdirSync(results).filter((f) => f.endsWith('.neurons-L0-0.jsonl'));
    assert.deepEqual(scans, [file.replace('.neuron-path.jsonl', '.neurons-L0-0.jsonl')]);
    const summaries = await until('summary', () => { const s = of(view, 'summary'); return s.length ? s : undefined; });
    const s = summaries[summaries.length - 1];
    assert.equal(s.pathsFile, path.join(results, file), 'the folder analysis in the workspace gives the "on paths" frequencies');
    assert.deepEqual(s.summary.classes.map((c: { class: number; images: number }) => [c.class, c.images]), [[0, 2], [1, 2]]);
    const scanned = readFileSync(path.join(results, scans[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trueClass: number; prediction: { top: { class: number }[] } });
    for (const row of s.summary.classes as { class: number; clean: { accuracy: number } }[]) {
      const mine = scanned.filter((r) => r.trueClass === row.class);
      assert.equal(row.clean.accuracy, mine.filter((r) => r.prediction.top[0].class === row.class).length / mine.length, `class ${row.class}: accuracy against labels.json`);
    }

    // extensionStorage: into the storage; Open Results on that file knows its folder (so it can resume)
    h.config['neuronPath.resultsLocation'] = 'extensionStorage';
    await h.commands.get('neuronPath.analyzeFolder')!(Uri.file(folder));
    const stored = readdirSync(path.join(tmp, 'storage', 'batches')).filter((f) => f.endsWith('.neuron-path.jsonl'));
    assert.deepEqual(stored, [file]);
    assert.ok(!existsSync(`${folder}.neuron-path.jsonl`));
    for (const p of h.panels.filter((x) => x.viewType === 'neuronPath.folderPanel')) p.dispose();
    await h.commands.get('neuronPath.openResults')!(Uri.file(path.join(tmp, 'storage', 'batches', file)));
    const reopened = await until('reopened', () => h.panels.find((p) => p.viewType === 'neuronPath.folderPanel' && !p.disposed));
    reopened.receive({ type: 'ready' });
    assert.equal((await until('init', () => of(reopened, 'init')[0])).init.folder, folder);
  } finally {
    await deactivate(ctx, 200);
    restore();
    rmSync(tmp, { recursive: true, force: true });
  }
});
