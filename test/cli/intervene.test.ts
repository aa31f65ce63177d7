// `neuron-path intervene` and `export-edited` as a user runs them: the bundled CLI in a child process
// with the bundled model, on a sample image, on an ImageFolder copy of media/samples, and the edited
// model analysed by `neuron-path analyze` like any other model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import type { InterventionRecord } from '../../src/engine/intervene';
import type { AnalysisResult } from '../../src/engine/result';
import { formatPercent } from '../../src/format';
import { REPO, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const SAMPLES = path.join(REPO, 'media', 'samples');
const COAT = path.join(SAMPLES, 'coat-1.png');
const env = { ...process.env, NEURON_PATH_CACHE: tempDir('intervene-cli-cache') };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--threads', '1'], { encoding: 'utf8', env });
const json = <T>(file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

function classFolder(): string {
  const labels = json<Record<string, number>>(path.join(SAMPLES, 'labels.json'));
  const dir = path.join(tempDir('intervene-cli'), 'samples');
  for (const [f, c] of Object.entries(labels)) {
    fs.mkdirSync(path.join(dir, String(c)), { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, f), path.join(dir, String(c), f));
  }
  return dir;
}

test('intervene IMAGE: the path of a record zeroed gives the analysis\'s remove; top-5 before and after, --json, --rows all', () => {
  const dir = tempDir('intervene-image');
  const record = path.join(dir, 'coat.json'), out = path.join(dir, 'iv.json');
  assert.equal(cli('analyze', COAT, '--baselines', 'none', '--json', record, '-q').status, 0);
  const a = json<AnalysisResult>(record);
  const r = cli('intervene', COAT, '--set', `path:${record}=0`, '--json', out, '-q');
  assert.equal(r.status, 0, r.stderr);
  const iv = json<InterventionRecord>(out);
  assert.equal(iv.schema, 'neuron-path/intervention-1');
  assert.deepEqual(iv.settings, a.path.map((n) => ({ layer: n.layer, neuron: n.neuron, factor: 0 })));
  assert.equal(iv.rows, 'readout');
  assert.equal(iv.target.class, a.target.class);
  assert.ok(Math.abs(iv.target.before - a.target.probability) < 1e-6);
  assert.ok(Math.abs(iv.target.after - a.manipulation.remove.probability) < 1e-6, `${iv.target.after} vs the analysis's remove ${a.manipulation.remove.probability}`);
  assert.deepEqual(iv.before.map((c) => c.class), a.prediction.top.map((c) => c.class));
  for (const list of [iv.before, iv.after]) {
    assert.equal(list.length, 5);
    for (const c of list) assert.ok(typeof c.label === 'string' && c.label.length > 0 && c.probability > 0);
  }
  assert.match(r.stdout, new RegExp(`^Image      coat-1\\.png\\nSet        ${a.path.map((n) => `${n.layer}:${n.neuron}=0`).join(', ')} \\(at the readout rows cls\\)\\nBefore     Coat 0\\.\\d+ \\|`));
  assert.match(r.stdout, /Target {5}class 4 "Coat": p 0\.\d+ -> 0\.\d+ \(-0\.\d+\)/);

  const kept = cli('intervene', COAT, '--set', '1:2=0', '--json', record, '-q');
  assert.equal(kept.status, 1, 'an analysis record is not replaced by an intervention record');
  assert.match(kept.stderr, /--json .*coat\.json holds neuron-path results \(neuron-path\/1\)/);
  assert.equal(json<AnalysisResult>(record).schema, 'neuron-path/1');
  assert.equal(cli('intervene', COAT, '--set', '1:2=0', '--json', out, '-q').status, 0, 'the intervention record of the same image is replaced');
  assert.deepEqual(json<InterventionRecord>(out).settings, [{ layer: 1, neuron: 2, factor: 0 }]);

  const all = cli('intervene', COAT, '--set', `path:${record}=0`, '--rows', 'all', '--json', '-', '-q');
  assert.equal(all.status, 0, all.stderr);
  const everyRow = JSON.parse(all.stdout) as InterventionRecord;
  assert.equal(everyRow.rows, 'all');
  assert.ok(Math.abs(everyRow.target.after - iv.target.after) > 1e-4, 'every row is another intervention than the readout row');
});

test('intervene: flags are checked (exit 2) and a layer or neuron out of range names the valid range', () => {
  const bad = (pattern: RegExp, ...args: string[]) => {
    const r = cli('intervene', ...args, '-q');
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  };
  bad(/--set: layer 6 does not exist: the model has 6 blocks \(0\.\.5\)/, COAT, '--set', '6:1=0');
  bad(/--set: neuron 256 does not exist: block 1 has 256 FFN neurons \(0\.\.255\)/, COAT, '--set', '1:256=0');
  bad(/--set: the factor of 1:2 must be a finite number/, COAT, '--set', '1:2=x');
  bad(/--set: '1:2' is not LAYER:NEURON=FACTOR/, COAT, '--set', '1:2');
  bad(/--set: neuron 1:2 is set twice/, COAT, '--set', '1:2=0,1:2=2');
  bad(/name the neurons to set: --set/, COAT);
  bad(/--rows must be one of readout\|all, got 'some'/, COAT, '--set', '1:2=0', '--rows', 'some');
  bad(/--target 10 is out of range: the model has 10 classes \(0\.\.9\)/, COAT, '--set', '1:2=0', '--target', '10');
  bad(/--set: .*nothing\.json/, COAT, '--set', 'path:/nothing.json=0');
  bad(/--out, --limit and --shard are for a folder/, COAT, '--set', '1:2=0', '--out', 'x.jsonl');
});

test('intervene DIR: per class accuracy and target probability before and after, resumed by the same command', () => {
  const dir = classFolder();
  const out = path.join(path.dirname(dir), 'iv.jsonl');
  const r = cli('intervene', dir, '--set', '5:254=0,4:54=0,2:193=-1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /20 images now, 0 before, 0 failed/);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as InterventionRecord & { trueClass: number });
  assert.equal(lines.length, 20);
  for (const l of lines) assert.equal(l.target.class, l.trueClass, 'the target is the folder class');
  const rows = r.stdout.trim().split('\n').slice(2);
  assert.equal(rows.length, 11, 'ten classes and all');
  const accuracy = (pick: (l: InterventionRecord) => number) => formatPercent(lines.filter((l) => pick(l) === l.target.class).length / 20).replace('.', '\\.');
  assert.match(rows[10], new RegExp(`^  all\\s+20\\s+${accuracy((l) => l.before[0].class)}\\s+${accuracy((l) => l.top1After)}\\s`));

  const again = cli('intervene', dir, '--set', '5:254=0,4:54=0,2:193=-1', '--out', out);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /0 images now, 20 before/);
  assert.equal(again.stdout, r.stdout);
  const other = cli('intervene', dir, '--set', '5:254=0', '--out', out);
  assert.equal(other.status, 1, 'a file made with other settings is not appended to');
  assert.match(other.stderr, /other settings/);
});

test('export-edited: a plain ONNX model that analyze runs, predicting what the intervention predicted; configs copied; never over the model', () => {
  const dir = tempDir('export-edited');
  for (const rows of ['all', 'readout']) {
    const out = path.join(dir, rows, 'model.onnx');
    fs.mkdirSync(path.dirname(out));
    const r = cli('export-edited', '--set', '5:254=0,2:193=2,0:17=-1', '--rows', rows, '--out', out, '-q');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    assert.deepEqual(fs.readdirSync(path.dirname(out)).sort(), ['config.json', 'model.onnx', 'preprocessor_config.json']);
    const iv = cli('intervene', COAT, '--set', '5:254=0,2:193=2,0:17=-1', '--rows', rows, '--json', '-', '-q');
    const expected = JSON.parse(iv.stdout) as InterventionRecord;
    const record = path.join(dir, `${rows}.json`);
    assert.equal(cli('analyze', COAT, '--model', out, '--baselines', 'none', '--json', record, '-q').status, 0);
    const a = json<AnalysisResult>(record);
    assert.deepEqual(a.prediction.top.map((c) => c.class), expected.after.map((c) => c.class), `${rows}: the edited model predicts what the intervention did`);
    a.prediction.top.forEach((c, i) => assert.ok(Math.abs(c.probability - expected.after[i].probability) < 1e-5, `${rows}: ${c.probability} vs ${expected.after[i].probability}`));
  }
  const model = path.join(REPO, 'media', 'model', 'model.onnx');
  const over = cli('export-edited', '--set', '1:2=0', '--out', model, '-q');
  assert.equal(over.status, 1);
  assert.match(over.stderr, /--out .*model\.onnx is one of the command's inputs; name another --out file/);
  const forced = cli('export-edited', '--set', '1:2=0', '--out', model, '--force', '-q');
  assert.equal(forced.status, 2, 'never over the model, even with --force');
  assert.match(forced.stderr, /--out: .*model\.onnx is the model or one of its configs/);
  const config = cli('export-edited', '--set', '1:2=0', '--out', path.join(REPO, 'media', 'model', 'config.json'), '--force', '-q');
  assert.equal(config.status, 2);
  assert.match(config.stderr, /is the model or one of its configs/);
  const none = cli('export-edited', '--set', '1:2=0', '-q');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /export-edited needs --out EDITED\.onnx/);
});

test('--set: a record\'s file name with commas, beside plain neurons; a path item without a factor is refused in words', () => {
  const dir = tempDir('intervene-comma');
  const record = path.join(dir, 'coat, first.json');
  assert.equal(cli('analyze', COAT, '--baselines', 'none', '--json', record, '-q').status, 0);
  const a = json<AnalysisResult>(record);
  const free = [0, 1, 2].find((j) => j !== a.path[1].neuron)!;
  const r = cli('intervene', COAT, '--set', `path:${record}=0,1:${free}=2`, '--json', '-', '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as InterventionRecord).settings,
    [...a.path.map((n) => ({ layer: n.layer, neuron: n.neuron, factor: 0 })), { layer: 1, neuron: free, factor: 2 }]);
  const bad = cli('intervene', COAT, '--set', `path:${record}=x`, '-q');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--set: 'path:.*coat, first\.json=x' needs a finite factor after its last '='/);
});

test('export-edited: a float16 or bfloat16 model is refused in words (the edit is written for float32 models), nothing written', () => {
  const dir = tempDir('export-edited-half');
  for (const name of ['precision_float16', 'precision_bfloat16']) {
    const out = path.join(dir, `${name}.onnx`);
    const r = cli('export-edited', '--model', path.join(REPO, 'test', 'fixtures', name, 'model.onnx'), '--set', '0:0=0', '--out', out, '-q');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--model: the model is stored in ${name.split('_')[1]}; an edited model is written for float32 models only \\(export the model in float32 and edit that\\)`));
    assert.equal(fs.existsSync(out), false);
  }
});
