// Settings -> engine options, workspace trust, the result cache and the export formats. No VS Code.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchSettings } from '../../src/engine/batch/records';
import { openSettingsCommand, parseTarget, readSettings, resolvePath, type ConfigReader } from '../../src/extension/settings';
import { stampOf } from '../../src/engine/files';
import { sha256File } from '../../src/engine/hash';
import { FileHasher, ResultCache, resultKey } from '../../src/extension/resultCache';
import { exportStem, pathCsv, pngFromDataUrl } from '../../src/extension/export';
import { fakeResult } from './fixtures/fakeEngine';

/** A configuration with user (global) values and workspace values on top, like VS Code's. */
function config(globalValues: Record<string, unknown>, workspaceValues: Record<string, unknown> = {}): ConfigReader {
  return {
    get: <T>(key: string) => (key in workspaceValues ? workspaceValues[key] : globalValues[key]) as T | undefined,
    inspect: <T>(key: string) => ({ globalValue: globalValues[key] as T | undefined }),
  };
}

const CTX = { trusted: true, bundledModelPath: '/ext/media/model/model.onnx', workspaceFolder: '/ws', cacheDir: '/storage/models', cores: 8 };

test('defaults: the bundled model and the documented analysis defaults', () => {
  const s = readSettings(config({}), CTX);
  assert.equal(s.bundledModel, true);
  assert.equal(s.model.modelPath, '/ext/media/model/model.onnx');
  assert.equal(s.model.labelsPath, undefined);
  assert.equal(s.model.preprocess, undefined);
  assert.equal(s.model.scope, 'auto');
  assert.equal(s.model.executionProvider, 'cpu');
  assert.equal(s.model.threads, 0);
  assert.equal(s.model.cacheDir, '/storage/models');
  assert.deepEqual(s.analyze, { target: 'predicted', steps: 20, rule: 'left', formula: 'reference', baselines: ['activation', 'ig', 'ip', 'random'], topK: 1 });
  assert.deepEqual(s.warnings, []);
});

test('every setting is passed on', () => {
  const s = readSettings(config({
    modelPath: '~/models/vit.onnx', labelsPath: 'labels.txt',
    'preprocess.size': [384, 384], 'preprocess.mean': [0.5, 0.5, 0.5], 'preprocess.std': [0.5, 0.5, 0.5], 'preprocess.resize': 'bicubic',
    steps: 8, rule: 'gauss', formula: 'paper', scope: 'patches', target: 7, executionProvider: 'cuda', threads: 4, baselines: ['ig'], topK: 3,
  }), CTX);
  assert.equal(s.model.modelPath, path.join(os.homedir(), 'models/vit.onnx'));
  assert.equal(s.model.labelsPath, path.normalize('/ws/labels.txt'));
  assert.deepEqual(s.model.preprocess, { size: [384, 384], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'bicubic' });
  assert.equal(s.model.scope, 'patches');
  assert.equal(s.model.executionProvider, 'cuda');
  assert.equal(s.model.threads, 4);
  assert.deepEqual(s.analyze, { target: 7, steps: 8, rule: 'gauss', formula: 'paper', baselines: ['ig'], topK: 3 });
  assert.equal(s.bundledModel, false);
});

test('the fast preset: 8 Gauss-Legendre steps whatever steps and rule say', () => {
  const s = readSettings(config({ fast: true, steps: 50, rule: 'midpoint' }), CTX);
  assert.equal(s.analyze.steps, 8);
  assert.equal(s.analyze.rule, 'gauss');
  assert.deepEqual(s.warnings, []);
});

test('bad values fall back and say why', () => {
  const s = readSettings(config({
    'preprocess.size': [224], 'preprocess.std': [0.5, 0], steps: 0, rule: 'simpson', target: 'cat', formula: 'magic', baselines: ['activation', 'oracle'], topK: 0,
    'preprocess.mean': null, 'preprocess.resize': '',
  }), CTX);
  assert.equal(s.model.preprocess, undefined);
  assert.equal(s.analyze.steps, 20);
  assert.equal(s.analyze.target, 'predicted');
  assert.equal(s.analyze.formula, 'reference');
  assert.equal(s.analyze.rule, 'left');
  assert.deepEqual(s.analyze.baselines, ['activation']);
  assert.equal(s.analyze.topK, 1);
  assert.equal(s.warnings.length, 7, s.warnings.join('\n'));
  assert.ok(s.warnings.some((w) => w.includes('neuronPath.rule must be one of left, midpoint, gauss')));
  assert.ok(s.warnings.some((w) => w.includes('neuronPath.topK')));
  assert.ok(s.warnings.some((w) => w.includes('neuronPath.steps')));
  assert.ok(s.warnings.some((w) => w.includes('neuronPath.target')));
});

test('scope: auto, cls, patches, all and token ranges are taken; anything else falls back to auto and says why', () => {
  for (const scope of ['auto', 'cls', 'patches', 'all', '0:2', '5:']) assert.equal(readSettings(config({ scope }), CTX).model.scope, scope);
  for (const scope of ['registers', '1-3', ':4', 3]) {
    const s = readSettings(config({ scope }), CTX);
    assert.equal(s.model.scope, 'auto');
    assert.ok(s.warnings.some((w) => w.includes('neuronPath.scope') && w.includes('a:b')), s.warnings.join('\n'));
  }
});

test('an untrusted workspace cannot choose the model or labels; the user settings still count', () => {
  const cfg = config({ modelPath: '/home/me/good.onnx' }, { modelPath: '/ws/evil.onnx', labelsPath: '/ws/evil.txt', steps: 5 });
  const trusted = readSettings(cfg, CTX);
  assert.equal(trusted.model.modelPath, '/ws/evil.onnx');
  const untrusted = readSettings(cfg, { ...CTX, trusted: false });
  assert.equal(untrusted.model.modelPath, '/home/me/good.onnx');
  assert.equal(untrusted.model.labelsPath, undefined);
  assert.equal(untrusted.analyze.steps, 5, 'unrestricted settings still apply');
  assert.ok(untrusted.warnings.some((w) => w.includes('not trusted')));
  const none = readSettings(config({}, { modelPath: '/ws/evil.onnx' }), { ...CTX, trusted: false });
  assert.equal(none.model.modelPath, CTX.bundledModelPath);
  assert.equal(none.bundledModel, true);
});

test('parseTarget and resolvePath', () => {
  assert.equal(parseTarget(undefined), 'predicted');
  assert.equal(parseTarget('predicted'), 'predicted');
  assert.equal(parseTarget(3), 3);
  assert.equal(parseTarget(' 12 '), 12);
  assert.equal(parseTarget(-1), undefined);
  assert.equal(parseTarget(1.5), undefined);
  assert.equal(resolvePath('${workspaceFolder}/m/x.onnx', { workspaceFolder: '/ws' }), path.normalize('/ws/m/x.onnx'));
  assert.equal(resolvePath('/abs/x.onnx', { workspaceFolder: '/ws' }), path.normalize('/abs/x.onnx'));
  assert.equal(resolvePath('rel.onnx', {}), 'rel.onnx');
});

test('the result key changes with what changes the result, not with threads or provider', () => {
  const base = readSettings(config({}), CTX);
  const k = (s: typeof base, t: 'predicted' | number = 'predicted', model = 'm', image = 'i') =>
    resultKey(s.model, { ...s.analyze, target: t }, model.repeat(64), image.repeat(64)).key;
  assert.equal(k(base), k(readSettings(config({ threads: 8, executionProvider: 'cuda' }), CTX)));
  assert.equal(k(base), k(readSettings(config({ baselines: ['random', 'ip', 'ig', 'activation'] }), CTX)), 'baseline order does not matter');
  assert.notEqual(k(base), k(readSettings(config({ steps: 10 }), CTX)));
  assert.notEqual(k(base), k(readSettings(config({ formula: 'paper' }), CTX)));
  assert.notEqual(k(base), k(readSettings(config({ scope: 'patches' }), CTX)));
  assert.notEqual(k(base), k(readSettings(config({ labelsPath: '/l/labels.txt' }), CTX)), 'labels: the result holds their names');
  assert.notEqual(k(base), k(readSettings(config({ topK: 2 }), CTX)));
  assert.notEqual(k(base), k(base, 3));
  assert.notEqual(k(base), k(base, 'predicted', 'n'));
  assert.notEqual(k(base), k(base, 'predicted', 'm', 'j'));
  assert.match(k(base), /^[0-9a-f]{64}$/);
});

test('the result key is built on the settings key a batch file\'s lines carry', () => {
  const s = readSettings(config({ steps: 7, formula: 'paper' }), CTX);
  const { settingsKey } = resultKey(s.model, s.analyze, 'm'.repeat(64), 'i'.repeat(64));
  assert.equal(settingsKey, batchSettings('m'.repeat(64), s.model, s.analyze).key);
});

const cacheKey = (steps: number) => resultKey({ modelPath: '/m.onnx' }, { steps }, 'a'.repeat(64), 'b'.repeat(64)).key;

test('result cache: memory, then disk across instances; corrupt files are misses', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-cache-'));
  try {
    const key = cacheKey(20);
    const result = fakeResult('/img/cat.png');
    const cache = new ResultCache(dir, 2, 3);
    assert.equal(await cache.get(key), undefined);
    await cache.set(key, result);
    assert.equal(await cache.get(key), result, 'memory hit is the same object');
    const fresh = new ResultCache(dir);
    assert.deepEqual(await fresh.get(key), result, 'read back from disk');
    const bad = cacheKey(1);
    writeFileSync(path.join(dir, `${bad}.json`), '{not json');
    assert.equal(await fresh.get(bad), undefined);
    await assert.rejects(fresh.get('../../etc/passwd'), /bad cache key/);
    // pruning keeps the newest diskEntries files
    for (let i = 0; i < 5; i++) {
      const k = cacheKey(100 + i);
      await cache.set(k, result);
      const t = new Date(Date.now() - (10 - i) * 1000);
      utimesSync(path.join(dir, `${k}.json`), t, t);
    }
    await cache.set(cacheKey(99), result);
    assert.ok(readdirSync(dir).filter((n) => n.endsWith('.json')).length <= 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file hashes are remembered until the file changes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-hash-'));
  try {
    const file = path.join(dir, 'm.onnx');
    writeFileSync(file, 'abc');
    const hasher = new FileHasher();
    const h1 = await hasher.hash(file, 'image');
    // with the stamp of the version hashed, which the worker checks before it takes the hash
    assert.deepEqual(h1, { ...stampOf(statSync(file)), sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    assert.equal(await sha256File(file, 'image'), h1.sha256);
    assert.equal(await hasher.hash(file, 'image'), h1, 'remembered');
    writeFileSync(file, 'abcd');
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    const h2 = await hasher.hash(file, 'image');
    assert.notEqual(h2.sha256, h1.sha256);
    assert.equal(h2.size, 4);
    await assert.rejects(hasher.hash(path.join(dir, 'missing'), 'image'));
    // opened as every file a user names: a FIFO is refused at once, never read (it would block)
    execFileSync('mkfifo', [path.join(dir, 'pipe.png')]);
    await assert.rejects(sha256File(path.join(dir, 'pipe.png'), 'image'), { code: 'not-a-file' });
    await assert.rejects(sha256File(dir, 'model'), { code: 'not-a-file' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exports: CSV of the path with the baselines, PNG data URLs, file names', () => {
  const r = fakeResult('/img/cat.png', { layers: 2 });
  const csv = pathCsv(r).trim().split('\n');
  assert.equal(csv[0], 'layer,neuron,activation,score,activation_baseline_neuron,ig_baseline_neuron,ip_baseline_neuron,topk_neurons');
  assert.equal(csv.length, 3);
  assert.equal(csv[1], `0,${r.path[0].neuron},${r.path[0].activation},${r.path[0].score},0,1,,`);
  const withIp = { ...r, baselines: { ...r.baselines, influencePattern: { path: r.path.map((p) => ({ ...p, neuron: 5 })), jas: 0, remove: 0, enhance: 0 } },
    topK: { k: 2, jas: 0, remove: { probability: 0, deviation: 0 }, enhance: { probability: 0, deviation: 0 }, layers: r.path.map((p) => [p, { ...p, neuron: 9 }]) } };
  assert.equal(pathCsv(withIp).split('\n')[2], `1,${r.path[1].neuron},${r.path[1].activation},${r.path[1].score},0,1,5,${r.path[1].neuron} 9`);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  assert.deepEqual(pngFromDataUrl(`data:image/png;base64,${png.toString('base64')}`), png);
  assert.equal(pngFromDataUrl('data:image/png;base64,AAAA'), undefined, 'not a PNG');
  assert.equal(pngFromDataUrl('data:text/html;base64,AAAA'), undefined);
  assert.equal(exportStem('/a/b/cat.1.png', 'layer3-scores'), 'cat.1.neuron-path.layer3-scores');
  assert.equal(exportStem('C:\\x\\dog.jpg', ''), 'dog.neuron-path');
  assert.equal(exportStem('/a/cat.png', '../../x'), 'cat.neuron-path.x');
});

test('threads from settings are at most the cores: a workspace cannot ask for 32 on 2', () => {
  const s = readSettings(config({ threads: 32 }), { ...CTX, cores: 2 });
  assert.equal(s.model.threads, 2);
  assert.match(s.warnings.join('\n'), /neuronPath\.threads is 32 but this machine has 2 cores; using 2/);
  assert.equal(readSettings(config({ threads: 2 }), { ...CTX, cores: 2 }).model.threads, 2);
  const negative = readSettings(config({ threads: -3 }), CTX);
  assert.equal(negative.model.threads, 0);
  assert.match(negative.warnings.join('\n'), /neuronPath\.threads must be a whole number/);
});

test('Open Settings lands where the machine-overridable settings are: the Remote tab in a remote window', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { scope?: string }> } } };
  const machine = Object.entries(pkg.contributes.configuration.properties).filter(([, p]) => p.scope === 'machine-overridable').map(([k]) => k);
  assert.deepEqual(machine.sort(), ['neuronPath.executionProvider', 'neuronPath.labelsPath', 'neuronPath.modelPath', 'neuronPath.threads']);
  assert.deepEqual(openSettingsCommand('ssh-remote', 'neuron-path.neuron-path'), { command: 'workbench.action.openRemoteSettings', arg: { query: '@ext:neuron-path.neuron-path' } });
  assert.deepEqual(openSettingsCommand(undefined, 'neuron-path.neuron-path'), { command: 'workbench.action.openSettings', arg: '@ext:neuron-path.neuron-path' });
});
