// The `neuron-path` command as a user runs it: the bundled CLI in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import type { AnalysisResult } from '../../src/engine/result';
import { FIXTURES, REPO, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const model = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
const cache = tempDir('cli-cache');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NEURON_PATH_CACHE: cache } });
}

async function image(): Promise<string> {
  const file = path.join(tempDir('cli-img'), 'photo.jpg');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 160, b: 90 } } }).jpeg().toFile(file);
  return file;
}

test('analyze prints progress per layer, a summary, and writes the neuron-path/1 record', async () => {
  const img = await image();
  const json = path.join(tempDir('cli-json'), 'out.json');
  const r = cli('analyze', img, '--model', model, '--json', json, '--threads', '1', '--random', '3');
  assert.equal(r.status, 0, r.stderr);
  const layers = (r.stderr.match(/layer \d+\/3: neuron \d+/g) ?? []).length;
  assert.equal(layers, 3, 'one progress line per layer');
  assert.match(r.stdout, /Influential neuron path \(reference formula, 20 steps\)/);
  assert.match(r.stdout, /random \(3, mean\)/);
  const rec = JSON.parse(fs.readFileSync(json, 'utf8')) as AnalysisResult;
  assert.equal(rec.schema, 'neuron-path/1');
  assert.deepEqual(Object.keys(rec).sort(), ['baselines', 'image', 'jas', 'layerScores', 'manipulation', 'model', 'path', 'prediction', 'schema', 'settings', 'target', 'timing', 'tokenMaps'].sort());
  assert.equal(rec.model.layers, 3);
  assert.match(rec.model.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(rec.model.inputSize, [16, 16]);
  assert.equal(rec.model.scope, 'cls');
  assert.deepEqual(rec.model.readout, { rows: [0], source: 'graph', graphRows: [0], grid: [4, 4], gridSource: 'graph' });
  assert.deepEqual(rec.model.precision, { stored: 'float32', analysedIn: 'float32' });
  assert.equal(rec.image.width, 64);
  assert.equal(rec.prediction.top.length, 5);
  assert.equal(rec.target.class, rec.prediction.top[0].class);
  assert.equal(rec.path.length, 3);
  rec.path.forEach((n, l) => {
    assert.equal(n.layer, l);
    assert.equal(rec.layerScores[l].length, rec.model.neuronsPerLayer);
    assert.equal(n.score, Math.max(...rec.layerScores[l]), 'the path neuron has the best score of its layer');
  });
  for (const map of rec.tokenMaps) assert.equal(map.grid[0] * map.grid[1], map.values.length);
  assert.deepEqual(rec.tokenMaps.map((m) => m.grid), [[4, 4], [4, 4], [4, 4]]);
  assert.ok(rec.baselines.activation && rec.baselines.integratedGradients && rec.baselines.influencePattern && rec.baselines.random, 'every baseline by default');
  assert.match(r.stdout, /\n {2}influence pattern +-?[\d.e-]+ /);
  assert.equal(rec.baselines.random.count, 3);
  const { remove, enhance } = rec.manipulation;
  assert.ok(Math.abs(remove.deviation - (remove.probability - rec.target.probability)) < 1e-12);
  assert.ok(Math.abs(enhance.deviation - (enhance.probability - rec.target.probability)) < 1e-12);
  assert.ok(rec.timing.backwardPasses > 0 && rec.timing.forwardPasses > rec.timing.backwardPasses);
});

test('--top-k 3: three neurons per layer, the first of each is the path; the summary lists them with the set\'s JAS', async () => {
  const img = await image();
  const r = cli('analyze', img, '--model', model, '--json', '-', '--threads', '1', '--steps', '5', '--baselines', 'ip', '--top-k', '3', '-q');
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout) as AnalysisResult;
  assert.equal(rec.settings.topK, 3);
  assert.equal(rec.topK!.k, 3);
  rec.topK!.layers.forEach((set, l) => {
    assert.equal(set.length, 3);
    assert.equal(set[0].neuron, rec.path[l].neuron);
    assert.deepEqual(set.map((n) => n.score), [...rec.layerScores[l]].sort((a, b) => b - a).slice(0, 3), 'the K best scores of the layer');
  });
  assert.deepEqual(Object.keys(rec.baselines), ['influencePattern']);
  const text = cli('analyze', img, '--model', model, '--threads', '1', '--steps', '5', '--baselines', 'none', '--top-k', '2', '-q');
  assert.match(text.stdout, /top-2 per layer: \[\d+ \d+\] -> \[\d+ \d+\] -> \[\d+ \d+\]/);
  assert.match(text.stdout, /top-2 path \(all 2\) +-?[\d.e-]+ /);
  const tooMany = cli('analyze', img, '--model', model, '--threads', '1', '--top-k', '100000', '-q');
  assert.equal(tooMany.status, 2);
  assert.match(tooMany.stderr, /--top-k must be an integer from 1 to 64, got '100000'/);
});

test('--json - writes the record to stdout; --target, --formula, --steps, --baselines none are honoured', async () => {
  const img = await image();
  const r = cli('analyze', img, '--model', model, '--json', '-', '--target', '2', '--formula', 'paper', '--steps', '5', '--baselines', 'none', '-q');
  assert.equal(r.status, 0, r.stderr);
  // Quiet: no progress. The fixture has no preprocessing config and no labels: a warning line says what is guessed, another that the names are placeholders.
  assert.equal(r.stderr.split('\n').length, 3, r.stderr);
  assert.match(r.stderr, /^neuron-path: warning: preprocessing guesses interpolation bilinear, crop none, rescale 1\/255, mean \[0\.5, 0\.5, 0\.5\], std \[0\.5, 0\.5, 0\.5\] \(no preprocessor_config\.json, timm config\.json \(pretrained_cfg\) or open_clip_config\.json in [^)]*cls_op17_dynamic\)/);
  assert.match(r.stderr, /Add the model's preprocessor_config\.json \(transformers\) or config\.json with pretrained_cfg \(timm\) to \S*cls_op17_dynamic, or give --resize\/--size\/--mean\/--std\.\n/);
  assert.match(r.stderr, /\nneuron-path: warning: class names are placeholders for all \d+ classes, shown as "class N" \(no labels file, config\.json with id2label or label_names, or labels\.txt in \S*cls_op17_dynamic\)\. Add the model's labels\.txt \(one name per line\) or config\.json to \S*cls_op17_dynamic, or give --labels FILE\.\n$/);
  const rec = JSON.parse(r.stdout) as AnalysisResult;
  assert.deepEqual(rec.model.classNames, { defaulted: rec.model.numClasses, folders: [path.dirname(model)] });
  assert.deepEqual(rec.model.preprocessing?.mean, { value: [0.5, 0.5, 0.5], source: { from: 'default' } });
  assert.equal(rec.target.class, 2);
  assert.deepEqual(rec.settings, { steps: 5, formula: 'paper', target: 2, baselines: [] });
  assert.deepEqual(rec.baselines, {});
  // Path (m = 5) + JAS: 4 backward passes.
  assert.equal(rec.timing.backwardPasses, 4);
});

test('--model a hub folder without labels (onnx/model.onnx): both warnings say to add the configs to the hub folder, not onnx/', async () => {
  const hub = tempDir('cli-hub');
  fs.mkdirSync(path.join(hub, 'onnx'));
  fs.copyFileSync(model, path.join(hub, 'onnx', 'model.onnx'));
  const r = cli('analyze', await image(), '--model', hub, '--steps', '2', '--baselines', 'none', '-q');
  assert.equal(r.status, 0, r.stderr);
  const [prep, names] = r.stderr.split('\n');
  assert.ok(prep.endsWith(`to ${hub}, or give --resize/--size/--mean/--std.`), prep);
  assert.equal(names, `neuron-path: warning: class names are placeholders for all 5 classes, shown as "class N" (no labels file, config.json with id2label or label_names, or labels.txt in ${path.join(hub, 'onnx')} or ${hub}). ` +
    `Add the model's labels.txt (one name per line) or config.json to ${hub}, or give --labels FILE.`);
});

test('--model a hub folder: its ONNX file and configs, no warning, and the image line says what the model was shown', () => {
  const r = cli('analyze', path.join(FIXTURES, 'preprocess', 'chelsea.png'), '--model', path.join(FIXTURES, 'hub_timm'), '--steps', '2', '--baselines', 'none', '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'every value comes from config.json');
  assert.match(r.stdout, /Model {6}\S*hub_timm\/model\.onnx /);
  // timm: short side to floor(32 / 0.9) = 35 (451x300 -> 52x35), then the 32x32 window, rounded to the centre.
  assert.match(r.stdout, /Image {6}chelsea\.png \(451x300\) -> 52x35 bicubic, 32x32 window at x 10, y 2 \(timm eval transform, \S*hub_timm\/config\.json\)/);
  assert.match(r.stdout, /Predicted {2}(tabby|beagle|coffee mug|astronaut|teapot) /);
  const choice = cli('analyze', path.join(FIXTURES, 'preprocess', 'chelsea.png'), '--model', path.join(FIXTURES, 'hub_transformersjs', 'onnx', 'model_quantized.onnx'));
  assert.equal(choice.status, 1, 'a quantized variant named directly is refused by the quantization check');
  const variants = tempDir('variants');
  fs.mkdirSync(path.join(variants, 'onnx'));
  for (const f of ['model_fp16.onnx', 'model_quantized.onnx']) fs.copyFileSync(path.join(FIXTURES, 'hub_transformersjs', 'onnx', 'model_quantized.onnx'), path.join(variants, 'onnx', f));
  const ambiguous = cli('analyze', path.join(FIXTURES, 'preprocess', 'chelsea.png'), '--model', variants);
  assert.equal(ambiguous.status, 1);
  assert.match(ambiguous.stderr, /neuron-path: the model folder \S+ has several ONNX files and none is the float32 model\.onnx: onnx\/model_fp16\.onnx, onnx\/model_quantized\.onnx; give --model the path of the one to analyse\n$/);
});

test('usage errors exit 2 with the reason and the usage', () => {
  const r = cli('analyze', 'x.png', '--steps', 'zero');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--steps must be an integer from 1 to 1000, got 'zero'/);
  assert.match(r.stderr, /usage: neuron-path analyze IMAGE/);
  const scope = cli('analyze', 'x.png', '--scope', 'registers');
  assert.equal(scope.status, 2);
  assert.match(scope.stderr, /--scope must be auto .* or a token range a:b .*; got 'registers'/);
  const rule = cli('analyze', 'x.png', '--rule', 'simpson');
  assert.equal(rule.status, 2);
  assert.match(rule.stderr, /--rule must be one of left\|midpoint\|gauss, got 'simpson'/);
  const fast = cli('analyze', 'x.png', '--fast', '--steps', '4');
  assert.equal(fast.status, 2);
  assert.match(fast.stderr, /--fast sets the steps and the rule: give --fast, or --steps and --rule/);
  assert.equal(cli('frobnicate').status, 2);
  assert.equal(cli('analyze').status, 2);
});

test('--rule gauss: the record and the summary say the rule; the path JAS is the Gauss-Legendre one', async () => {
  const img = await image();
  const out = path.join(tempDir('rule'), 'r.json');
  const r = cli('analyze', img, '--model', model, '--json', out, '--steps', '4', '--rule', 'gauss', '--baselines', 'none', '-q');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Influential neuron path \(reference formula, 4 steps, gauss rule\)/);
  const rec = JSON.parse(fs.readFileSync(out, 'utf8')) as AnalysisResult;
  assert.deepEqual(rec.settings, { steps: 4, rule: 'gauss', formula: 'reference', target: 'predicted', baselines: [] });
  const left = JSON.parse(cli('analyze', img, '--model', model, '--json', '-', '--steps', '4', '--baselines', 'none', '-q').stdout) as AnalysisResult;
  assert.equal(left.settings.rule, undefined, 'the paper\'s left rule is the default and is not written');
  assert.notEqual(rec.jas, left.jas, 'other points and weights give another integral');
  const fast = JSON.parse(cli('analyze', img, '--model', model, '--json', '-', '--fast', '--baselines', 'none', '-q').stdout) as AnalysisResult;
  assert.deepEqual(fast.settings, { steps: 8, rule: 'gauss', formula: 'reference', target: 'predicted', baselines: [] });
});

test('CaiT: the path runs through the self-attention blocks; the summary and the record say the class-attention blocks were left out and why', async () => {
  const img = await image();
  const json = path.join(tempDir('cli-cait'), 'out.json');
  const r = cli('analyze', img, '--model', path.join(FIXTURES, 'timm_cait_op17', 'model.onnx'), '--steps', '4', '--baselines', 'none', '--threads', '1', '--json', json);
  assert.equal(r.status, 0, r.stderr);
  const record = JSON.parse(fs.readFileSync(json, 'utf8')) as AnalysisResult;
  assert.equal(record.model.layers, 2);
  assert.deepEqual(record.model.ffn!.headFfns, ['/blocks_token_only.0/mlp/fc2/MatMul', '/blocks_token_only.1/mlp/fc2/MatMul']);
  assert.match(record.model.ffn!.leftOut!, /^2 FFNs after the 2 blocks \(\/blocks_token_only\.0\/mlp\/fc2\/MatMul, .*\) read 1 row of a learned query token, not the 12 token rows: class-attention blocks/);
  assert.ok(r.stdout.includes(`Left out   ${record.model.ffn!.leftOut}`), r.stdout);
  // A model without such FFNs has neither the field nor the line.
  const plain = cli('analyze', img, '--model', model, '--steps', '4', '--baselines', 'none', '--threads', '1');
  assert.doesNotMatch(plain.stdout, /Left out/);
});

test('Swin: refused because its token rows change between blocks, said in words (exit 1)', async () => {
  const r = cli('analyze', await image(), '--model', path.join(FIXTURES, 'timm_swin_op14', 'model.onnx'), '--threads', '1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^neuron-path: the token rows change between blocks \(tokens merged or pooled between stages, as in Swin or PiT\)/m);
  assert.doesNotMatch(r.stderr, /cannot differentiate/);
});

test('a bad model or image exits 1 with a specific message', async () => {
  const img = await image();
  const bad = cli('analyze', img, '--model', path.join(FIXTURES, 'not_a_vit', 'model.onnx'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /neuron-path: no transformer FFN/);
  const missing = cli('analyze', '/nope.png', '--model', model);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /image \/nope.png does not exist/);
});
