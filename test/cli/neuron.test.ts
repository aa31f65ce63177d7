// `neuron-path neuron` as a user runs it: the bundled CLI in a child process on an ImageFolder copy of
// media/samples with the bundled model: the printed summary, --json, resume, --paths, usage errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import type { NeuronSummary } from '../../src/engine/neurons/index';
import { REPO, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const SAMPLES = path.join(REPO, 'media', 'samples');
const env = { ...process.env, NEURON_PATH_CACHE: tempDir('neuron-cli-cache') };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });

function classFolder(): string {
  const labels = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'labels.json'), 'utf8')) as Record<string, number>;
  const dir = path.join(tempDir('neuron-cli'), 'samples');
  for (const [f, c] of Object.entries(labels)) {
    fs.mkdirSync(path.join(dir, String(c)), { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, f), path.join(dir, String(c), f));
  }
  return dir;
}

test('neuron: top images, per-class selectivity and ablation, --json, resume; several neurons and a whole layer at once', () => {
  const dir = classFolder();
  const out = path.join(path.dirname(dir), 'scan.jsonl'), json = path.join(path.dirname(dir), 'summary.json');
  const r = cli('neuron', dir, '--neurons', '3:29,1:7,5', '--top', '4', '--out', out, '--json', json, '--threads', '1', '--batch', '6');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /scanning .* for L3:29, L1:7, L5 into .*scan\.jsonl/);
  assert.match(r.stderr, /20 scanned, 0 already in the file, 0 failed, .*images\/min/);
  assert.match(r.stdout, /^Layer 3, neuron 29 \(20 images; patch grid 7x7\)/);
  assert.match(r.stdout, /Layer 1, neuron 7 /);
  assert.match(r.stdout, /Layer 5: the most class-selective neurons/);
  assert.match(r.stdout, /Ankle boot\s+2\s/);
  const s = JSON.parse(fs.readFileSync(json, 'utf8')) as { images: number; neurons: NeuronSummary[] };
  assert.equal(s.images, 20);
  assert.deepEqual(s.neurons.map((n) => [n.layer, n.neuron]), [[3, 29], [1, 7]]);
  for (const n of s.neurons) {
    assert.equal(n.top.length, 4);
    for (let i = 1; i < 4; i++) assert.ok(n.top[i - 1].activation >= n.top[i].activation);
    assert.equal(n.classes.length, 10);
    assert.ok(n.all.ablated);
    assert.ok(n.all.clean.accuracy >= 0.8);
  }

  const again = cli('neuron', dir, '--neurons', '3:29,1:7,5', '--top', '4', '--out', out, '--threads', '1');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /0 scanned, 20 already in the file/);
  assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, 20);
  assert.equal(again.stdout, r.stdout, 'the same summary from the resumed file');
});

test('neuron: --layer/--neuron, the default file name, and clear errors for bad neurons and flags', () => {
  const dir = classFolder();
  const cwd = path.dirname(dir);
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, cwd });
  const r = run('neuron', dir, '--layer', '2', '--neuron', '5', '--top', '2', '--limit', '5', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(cwd, 'samples.neurons-L2-5.jsonl')));
  assert.match(r.stdout, /Layer 2, neuron 5 \(5 images/);
  const bad = run('neuron', dir, '--layer', '2', '--neuron', '256');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /neuron 256 does not exist: block 2 has 256 FFN neurons \(0\.\.255\)/);
  assert.match(run('neuron', dir, '--neuron', '3').stderr, /--neuron needs --layer/);
  assert.match(run('neuron', dir, '--neurons', '3:x').stderr, /'3:x' is not LAYER:NEURON/);
  assert.match(run('neuron', dir, '--layer', '9').stderr, /layer 9 does not exist: the model has 6 blocks/);
});

test('neuron --paths: how often the neuron is on each class\'s paths, from a folder analysis of the same images', () => {
  const dir = classFolder();
  const paths = path.join(path.dirname(dir), 'paths.jsonl'), json = path.join(path.dirname(dir), 'n.json');
  const b = cli('batch', dir, '--out', paths, '--steps', '2', '--baselines', 'none', '--threads', '1');
  assert.equal(b.status, 0, b.stderr);
  const records = fs.readFileSync(paths, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trueClass: number; path: { neuron: number }[] });
  const neuron = records[0].path[3].neuron, cls = records[0].trueClass;
  const expected = records.filter((x) => x.trueClass === cls && x.path[3].neuron === neuron).length / records.filter((x) => x.trueClass === cls).length;
  const r = cli('neuron', dir, '--layer', '3', '--neuron', String(neuron), '--paths', paths, '--out', path.join(path.dirname(dir), 's.jsonl'), '--json', json, '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /on paths/);
  const s = (JSON.parse(fs.readFileSync(json, 'utf8')) as { neurons: NeuronSummary[] }).neurons[0];
  assert.equal(s.classes.find((c) => c.class === cls)?.onPaths, expected);
  assert.ok(s.classes.every((c) => c.onPaths !== null && c.onPaths >= 0 && c.onPaths <= 1));
  assert.match(cli('neuron', dir, '--layer', '3', '--neuron', '1', '--paths', '/nonexistent.jsonl').stderr, /--paths: result file \/nonexistent\.jsonl does not exist/);
});
