// Hostile and broken inputs, through the `neuron-path` command as a user runs it (the README's "What it refuses"): each
// ends in one clear line, in bounded time, and nothing wrong is reported as a result. Every run has
// a time limit: a hang is a failure, not a stuck test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'node:test';
import type { BatchRecord } from '../../src/engine/batch/index';
import { decodeModel, encodeModel, onnx, type ModelProto, type TensorProto } from '../../src/engine/onnx/proto';
import type { AnalysisResult } from '../../src/engine/result';
import { BIN, cli, FAST, fifo, FIXTURE, image, records, resultFile, SLOW, stoppedWriter } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/fixtures';

/** A copy of the fixture model in a folder of its own, changed by `edit` (which may write files beside it). */
function modelCopy(edit: (m: ModelProto, dir: string) => void = () => {}): string {
  const dir = tempDir('hard-model');
  const model = decodeModel(fs.readFileSync(FIXTURE), FIXTURE);
  edit(model, dir);
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(model));
  return path.join(dir, 'model.onnx');
}

/** The bytes of a float tensor (raw or float_data). */
const bytesOf = (t: TensorProto) => (t.rawData?.length ? Buffer.from(t.rawData) : Buffer.from(Float32Array.from(t.floatData ?? []).buffer));
const largeInitializers = (m: ModelProto) => m.graph!.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT && bytesOf(t).length >= 256);

function makeExternal(t: TensorProto, location: string): void {
  const n = bytesOf(t).length;
  t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: String(n) }];
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.rawData = new Uint8Array(0);
  t.floatData = [];
}

function json(file: string): AnalysisResult { return JSON.parse(fs.readFileSync(file, 'utf8')) as AnalysisResult; }
// eslint-disable-next-line no-control-regex -- the escape characters a terminal obeys are what is looked for
const ESC = /[\u001b\u0007\u009b]/;

let baseline: AnalysisResult;
let img: string;
test.before(async () => {
  img = await image(tempDir('hard-img'));
  const out = path.join(tempDir('hard-base'), 'r.json');
  const r = cli(['analyze', img, '--model', FIXTURE, '--json', out, ...FAST, '-q']);
  assert.equal(r.status, 0, r.stderr);
  baseline = json(out);
});

// --------------------------------------------------------------------------------- regular files only

test('an external-data file that is a FIFO is refused at once, not waited on', { timeout: 90_000 }, () => {
  const model = modelCopy((m, dir) => { makeExternal(largeInitializers(m)[0], 'weights.bin'); fifo(path.join(dir, 'weights.bin')); });
  const r = cli(['analyze', img, '--model', model, ...FAST], { limitMs: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /external data file .*weights\.bin is a named pipe \(FIFO\), not a regular file/);
});

test('a FIFO given as the image is refused at once', { timeout: 90_000 }, () => {
  const pipe = fifo(path.join(tempDir('hard-fifo'), 'photo.png'));
  const r = cli(['analyze', pipe, '--model', FIXTURE, ...FAST], { limitMs: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /image .*photo\.png is a named pipe \(FIFO\), not a regular file/);
  const dir = cli(['analyze', path.dirname(pipe), '--model', FIXTURE, ...FAST], { limitMs: 20_000 });
  assert.equal(dir.status, 1);
  assert.match(dir.stderr, /is a folder, not a regular file/);
});

// --------------------------------------------------------------------------------- external data everywhere

test('external data on a Constant node is read from the model folder, not the working folder', { timeout: 120_000 }, () => {
  const model = modelCopy((m, dir) => {
    const t = largeInitializers(m)[0];
    fs.writeFileSync(path.join(dir, 'const.bin'), bytesOf(t));
    m.graph!.initializer = m.graph!.initializer!.filter((x) => x !== t);
    const value = onnx.TensorProto.create({ ...t });
    makeExternal(value, 'const.bin');
    m.graph!.node!.unshift(onnx.NodeProto.create({ opType: 'Constant', output: [t.name!], name: 'ext_const', attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: value }] }));
  });
  // A working folder with a same-named file of other bytes: it must not be what is read.
  const cwd = tempDir('hard-cwd');
  fs.writeFileSync(path.join(cwd, 'const.bin'), Buffer.alloc(fs.statSync(path.join(path.dirname(model), 'const.bin')).size, 0x41));
  const out = path.join(cwd, 'r.json');
  const r = cli(['analyze', img, '--model', model, '--json', out, ...FAST, '-q'], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const got = json(out);
  assert.deepEqual(got.path.map((n) => n.neuron), baseline.path.map((n) => n.neuron));
  assert.ok(Math.abs(got.target.probability - baseline.target.probability) < 1e-6);
});

test('external data that leaves the folder is refused in Constant nodes, If subgraphs and sparse initializers', { timeout: 120_000 }, () => {
  const constant = modelCopy((m) => {
    const value = onnx.TensorProto.create({ name: 'c', dataType: onnx.TensorProto.DataType.FLOAT, dims: [4] });
    makeExternal(value, '../outside.bin');
    m.graph!.node!.push(onnx.NodeProto.create({ opType: 'Constant', output: ['unused_c'], name: 'leaky_const', attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: value }] }));
  });
  const r1 = cli(['analyze', img, '--model', constant, ...FAST]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /Constant node 'leaky_const' attribute 'value' points at external data '\.\.\/outside\.bin' outside the model's folder; refused/);

  const subgraph = modelCopy((m) => {
    const branch = (name: string) => {
      const w = onnx.TensorProto.create({ name: `${name}_w`, dataType: onnx.TensorProto.DataType.FLOAT, dims: [4] });
      makeExternal(w, '../../etc/hostname');
      return onnx.GraphProto.create({ name, initializer: [w], output: [{ name: `${name}_w` }] });
    };
    m.graph!.initializer!.push(onnx.TensorProto.create({ name: 'cond', dataType: onnx.TensorProto.DataType.BOOL, dims: [], int32Data: [1] }));
    m.graph!.node!.push(onnx.NodeProto.create({
      opType: 'If', input: ['cond'], output: ['unused_if'], name: 'leaky_if',
      attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('then') },
        { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch('else') }],
    }));
  });
  const r2 = cli(['analyze', img, '--model', subgraph, ...FAST]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /initializer '(then|else)_w' points at external data '\.\.\/\.\.\/etc\/hostname' outside the model's folder; refused/);

  const sparse = modelCopy((m) => {
    const values = onnx.TensorProto.create({ name: 'sp', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1] });
    makeExternal(values, '/etc/hostname');
    m.graph!.sparseInitializer = [onnx.SparseTensorProto.create({ values, indices: { name: 'sp_i', dataType: onnx.TensorProto.DataType.INT64, dims: [1], int64Data: [0] }, dims: [4] })];
  });
  const r3 = cli(['analyze', img, '--model', sparse, ...FAST]);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /sparse initializer 'sp' \(sparse values\) points at external data '\/etc\/hostname' outside the model's folder; refused/);
});

// --------------------------------------------------------------------------------- bounded graph walks

test('a chain of 50,000 Identity nodes (on the input and on a weight) is analysed in bounded time', { timeout: 120_000 }, () => {
  const model = modelCopy((m) => {
    const g = m.graph!;
    const chain = (from: string, n: number, prefix: string) => {
      const nodes: onnx.INodeProto[] = [];
      let prev = from;
      for (let i = 0; i < n; i++) { nodes.push({ opType: 'Identity', input: [prev], output: [`${prefix}${i}`], name: `${prefix}${i}` }); prev = `${prefix}${i}`; }
      return { nodes, end: prev };
    };
    const input = g.input![0].name!;
    const weight = largeInitializers(m)[0].name!;
    const a = chain(input, 45_000, 'in_'), b = chain(weight, 5_000, 'w_');
    for (const node of g.node!) node.input = node.input!.map((x) => (x === input ? a.end : x === weight ? b.end : x));
    g.node = [...a.nodes, ...b.nodes, ...g.node!];
  });
  const out = path.join(path.dirname(model), 'r.json');
  const r = cli(['analyze', img, '--model', model, '--json', out, ...FAST, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(json(out).path.map((n) => n.neuron), baseline.path.map((n) => n.neuron));
});

test('a graph larger than any ViT (25,000 nodes that are not Identity) is refused at once', { timeout: 60_000 }, () => {
  const model = modelCopy((m) => {
    const g = m.graph!;
    const input = g.input![0].name!;
    const nodes: onnx.INodeProto[] = [];
    for (let i = 0; i < 25_000; i++) nodes.push({ opType: 'Relu', input: [i ? `r_${i - 1}` : input], output: [`r_${i}`], name: `r_${i}` });
    for (const node of g.node!) node.input = node.input!.map((x) => (x === input ? 'r_24999' : x));
    g.node = [...nodes, ...g.node!];
  });
  const r = cli(['analyze', img, '--model', model, ...FAST], { limitMs: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has 25\d{3} nodes \(after removing Identity nodes\), more than the 20000 analysed/);
});

// --------------------------------------------------------------------------------- preprocessing settings

function withConfig(config: unknown): string {
  return modelCopy((_m, dir) => fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify(config)));
}

test('preprocessing values that are not numbers, or would overflow, name the file and the field; nothing is reported', { timeout: 120_000 }, async () => {
  const cases: [unknown, RegExp][] = [
    [{ rescale_factor: 'abc' }, /preprocessor_config\.json: rescale_factor must be a number above 0 and at most 1, got "abc"/],
    [{ image_std: [1e-300, 1e-300, 1e-300] }, /preprocessor_config\.json: image_std\[0\] must be a number from 0\.000001 to 1000, got 1e-300/],
    [{ image_mean: [1e308, 0, 0] }, /preprocessor_config\.json: image_mean\[0\] must be a number from -1000 to 1000, got 1e\+308/],
  ];
  for (const [config, message] of cases) {
    const r = cli(['analyze', img, '--model', withConfig(config), ...FAST]);
    assert.equal(r.status, 1, JSON.stringify(config));
    assert.match(r.stderr, message);
    assert.match(r.stderr, /override it with --size\/--mean\/--std/);
    assert.doesNotMatch(r.stdout, /Predicted|NaN/);
  }
  // A batch of them stops before the first image instead of reporting "JAS 0.0000".
  const dir = tempDir('hard-nanbatch');
  await image(dir, 'a.png');
  const out = path.join(dir, 'r.jsonl');
  const b = cli(['batch', dir, '--model', withConfig({ rescale_factor: 'abc' }), '--out', out, ...FAST]);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /rescale_factor must be/);
  assert.ok(!fs.existsSync(out), 'no result file');
});

test('huge resize targets are refused before any image is resized, naming the field', { timeout: 120_000 }, () => {
  const started = Date.now();
  const edge = cli(['analyze', img, '--model', withConfig({ size: { shortest_edge: 20000 } }), ...FAST]);
  assert.equal(edge.status, 1);
  assert.match(edge.stderr, /size\.shortest_edge must be a whole number from 1 to 2048, got 20000/);
  const size = cli(['analyze', img, '--model', withConfig({ size: 100000 }), ...FAST]);
  assert.equal(size.status, 1);
  assert.match(size.stderr, /preprocessor_config\.json: size must be a whole number from 1 to 1024, got 100000/);
  assert.doesNotMatch(size.stderr, /image|corrupt/i, 'the image is not blamed');
  const flag = cli(['analyze', img, '--model', FIXTURE, '--size', '20000', ...FAST]);
  assert.equal(flag.status, 1);
  assert.match(flag.stderr, /neuron-path: preprocessing size\[0\] must be a whole number from 1 to 1024, got 20000; check --size/);
  assert.ok(Date.now() - started < 45_000, 'refused without resizing');
});

test('steps, random counts and seeds past their bounds are refused, not run for hours', { timeout: 60_000 }, () => {
  // The CLI checks its flags against the engine's bounds (src/engine/options.ts) before opening the
  // model; the engine's own check of the same bounds is in test/engine/errors.test.ts.
  const steps = cli(['analyze', img, '--model', FIXTURE, '--threads', '1', '--steps', '100000'], { limitMs: 20_000 });
  assert.equal(steps.status, 2);
  assert.match(steps.stderr, /--steps must be an integer from 1 to 1000, got '100000'/);
  const random = cli(['analyze', img, '--model', FIXTURE, '--threads', '1', '--steps', '2', '--random', '1000000'], { limitMs: 20_000 });
  assert.equal(random.status, 2);
  assert.match(random.stderr, /--random must be an integer from 1 to 1000, got '1000000'/);
  const seed = cli(['analyze', img, '--model', FIXTURE, '--threads', '1', '--steps', '2', '--seed', String(2 ** 32)], { limitMs: 20_000 });
  assert.equal(seed.status, 2);
  assert.match(seed.stderr, /--seed must be an integer from 0 to 4294967295, got '4294967296'/);
});

test('a size given as text is a type error naming the field, not "28x28 but the model takes 28x28"', { timeout: 60_000 }, () => {
  const r = cli(['analyze', img, '--model', withConfig({ size: { height: '16', width: 16 } }), ...FAST]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /preprocessor_config\.json: size\.height must be a whole number from 1 to 1024, got "16"/);
});

// --------------------------------------------------------------------------------- names and terminal output

test('file names that are not UTF-8 are analysed by their bytes, in worker processes too, and resumed', { timeout: 120_000 }, async () => {
  const dir = tempDir('hard-utf8');
  await image(dir, 'good.png');
  const bad = (n: number) => Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, n]), Buffer.from('.png')]);
  fs.writeFileSync(bad(0xfe), fs.readFileSync(path.join(dir, 'good.png')));
  const out = path.join(tempDir('hard-utf8-out'), 'r.jsonl');
  const r = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /done: 2 images \(2 analysed now, 0 before, 0 failed\)/);
  // A second such name, analysed by a --jobs worker (its bytes cross the IPC channel); the first two are resumed.
  fs.writeFileSync(bad(0xfd), fs.readFileSync(path.join(dir, 'good.png')));
  const again = cli(['batch', dir, '--model', FIXTURE, '--out', out, '--jobs', '2', ...FAST]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /done: 3 images \(1 analysed now, 2 before, 0 failed\)/);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as BatchRecord);
  assert.deepEqual(lines.map((l) => [l.schema, path.basename(l.image.path), l.image.pathBase64 && Buffer.from(l.image.pathBase64, 'base64').toString('hex')]).sort(), [
    ['neuron-path/1', 'bad-\\xFF\\xFD.png', bad(0xfd).toString('hex')],
    ['neuron-path/1', 'bad-\\xFF\\xFE.png', bad(0xfe).toString('hex')],
    ['neuron-path/1', 'good.png', undefined],
  ]);
  // The report reads them like any other record.
  const rep = cli(['report', out]);
  assert.equal(rep.status, 0, rep.stderr);
});

test('control characters in labels, paths and messages are escaped in human output', { timeout: 120_000 }, async () => {
  const evil = '\u001b]0;owned\u0007\u001b[2Jcls\u009b31m\u202e';
  const model = modelCopy((_m, dir) => fs.writeFileSync(path.join(dir, 'labels.txt'), Array.from({ length: 10 }, (_, i) => `${evil}${i}`).join('\n')));
  const dir = tempDir('hard-ansi');
  const file = await image(dir, 'ph\u001b[1moto.png');
  const r = cli(['analyze', file, '--model', model, ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, ESC);
  assert.match(r.stdout, /\\x1b\]0;owned\\x07\\x1b\[2Jcls\\x9b31m\\u202e/);
  const missing = cli(['analyze', path.join(dir, 'no\u001b[31mpe.png'), '--model', model, ...FAST]);
  assert.equal(missing.status, 1);
  assert.doesNotMatch(missing.stderr, ESC);
  assert.match(missing.stderr, /no\\x1b\[31mpe\.png does not exist/);
  // The report of a batch over that folder, with those labels.
  const out = path.join(tempDir('hard-ansi-out'), 'r.jsonl');
  assert.equal(cli(['batch', dir, '--model', model, '--out', out, ...FAST]).status, 0);
  const rep = cli(['report', out]);
  assert.equal(rep.status, 0, rep.stderr);
  assert.doesNotMatch(rep.stdout + rep.stderr, ESC);
  assert.match(rep.stdout, /\\x1b\]0;owned/);
});

// --------------------------------------------------------------------------------- result files

test('records of the wrong shape are skipped and counted; the report goes on', { timeout: 120_000 }, async () => {
  const { out } = await resultFile(3);
  const [first] = records(out);
  const nullPrediction = { ...first, image: { ...first.image, path: '/x/a.png' }, prediction: null };
  const hugeNeuron = { ...first, image: { ...first.image, path: '/x/b.png' }, path: first.path.map((n, l) => (l === 1 ? { ...n, neuron: 1e9 } : n)) };
  fs.appendFileSync(out, `${JSON.stringify(nullPrediction)}\n${JSON.stringify(hugeNeuron)}\n{"schema": "neuron-path/1", "cut off\n`);
  const r = cli(['report', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /3 lines skipped: line 4 \(no prediction \(top classes with probabilities\)\), line 5 \(a path neuron out of range \(0\.\.\d+\)\), line 6 \(not valid JSON/);
  assert.match(r.stdout, /r\.jsonl: 3 images, 3 unreadable lines skipped/);
});

test('a result file over 512 MiB is streamed (a line over 256 MiB is skipped)', { timeout: 300_000 }, async () => {
  const { out, dir } = await resultFile(2);
  const [first] = records(out);
  const fd = fs.openSync(out, 'a');
  try {
    const spaces = Buffer.alloc(16 * 1024 * 1024, 0x20);
    for (let i = 0; i < 36; i++) fs.writeSync(fd, spaces); // 576 MiB on one line
    fs.writeSync(fd, `\n${JSON.stringify({ ...first, image: { ...first.image, path: '/x/late.png' } })}\n`);
  } finally {
    fs.closeSync(fd);
  }
  try {
    assert.ok(fs.statSync(out).size > 512 * 1024 * 1024);
    const r = cli(['report', out], { limitMs: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /1 line skipped: line 3 \(longer than 256 MiB\)/);
    assert.match(r.stdout, /3 images/);
    // and a batch resumes from it
    const resumed = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...FAST], { limitMs: 240_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /2 images already in .*; resuming/);
  } finally {
    fs.rmSync(out, { force: true });
  }
});

test('two batch runs on one result file: the second is refused and names the first; no image is analysed twice', { timeout: 180_000 }, async () => {
  const dir = tempDir('hard-lock');
  for (let i = 0; i < 3; i++) await image(dir, `${i}.png`, 40 + 60 * i);
  const out = path.join(tempDir('hard-lock-out'), 'r.jsonl');
  const { exited, writer } = await stoppedWriter(dir, out); // held there, lock taken, while the second run starts
  try {
    const second = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...FAST]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`r\\.jsonl is being written by process ${writer} on .* \\(.*batch.*, since \\d{4}-.*\\); wait for that run to finish`));
  } finally {
    process.kill(writer, 'SIGCONT');
  }
  assert.equal(await exited, 0);
  const images = records(out).map((l) => l.image.path);
  assert.equal(images.length, 3);
  assert.equal(new Set(images).size, 3, 'each image once');
  assert.ok(!fs.existsSync(`${out}.lock`), 'the lock is released');
  // A lock left by a process that has ended is taken over.
  fs.writeFileSync(`${out}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), command: 'batch (killed)', since: '2026-01-01T00:00:00Z' }));
  const again = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...SLOW]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /3 images already in/);
});

test('batch --out naming a file of another kind refuses it and leaves it as it was', { timeout: 60_000 }, async () => {
  const dir = tempDir('hard-other');
  await image(dir, 'a.png');
  for (const [name, text] of [['events.jsonl', '{"event":"login","user":"x"}\n'], ['notes.txt', 'my notes\n']]) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const r = cli(['batch', dir, '--model', FIXTURE, '--out', file, ...FAST]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${name} is not a neuron-path result file .*; it is left as it is; name another --out file`));
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  }
});

test('report --prune takes the model from the command line, never a path written in the file', { timeout: 180_000 }, async () => {
  const { out } = await resultFile(2);
  const trap = fifo(path.join(tempDir('hard-trap'), 'model.onnx'));
  const lines = records(out).map((l) => ({ ...l, model: { ...l.model, path: trap }, batch: { ...l.batch, model: { ...l.batch.model, labelsPath: trap } } }));
  fs.writeFileSync(out, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const refused = cli(['report', out, '--prune', '0.5'], { limitMs: 20_000 });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, new RegExp(`--prune runs the model: give it with --model \\(the records name ${trap.replace(/[.]/g, '\\.')}\\)`));
  const wrong = cli(['report', out, '--prune', '0.5', '--model', path.join(FIXTURES, 'timm_qkv', 'model.onnx')], { limitMs: 20_000 });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /is not the model the records were made with/);
  const ok = cli(['report', out, '--prune', '0.5', '--model', FIXTURE, '--threads', '1'], { limitMs: 30_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Pruning: in the first 3 of 3 blocks/);
});

// --------------------------------------------------------------------------------- the cache

/** The cache entry's two model files: the gradient model and the forward-only one. */
function cacheModels(dir: string): { gradient: string; forward: string } {
  const [entry] = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  const { model, forward } = JSON.parse(fs.readFileSync(path.join(dir, entry), 'utf8')) as { model: string; forward: string };
  return { gradient: path.join(dir, model), forward: path.join(dir, forward) };
}

test('a truncated or edited cached model is detected by its hash and rebuilt; the answers stay the original model\'s', { timeout: 240_000 }, () => {
  const dir = tempDir('hard-cache-int');
  const out = path.join(dir, 'r.json');
  const run = () => {
    const r = cli(['analyze', img, '--model', FIXTURE, '--json', out, ...FAST], { cacheDir: path.join(dir, 'cache') });
    assert.equal(r.status, 0, r.stderr);
    return { r, result: json(out) };
  };
  run();
  const same = (res: AnalysisResult) => {
    assert.deepEqual(res.path.map((n) => n.neuron), baseline.path.map((n) => n.neuron));
    assert.ok(Math.abs(res.target.probability - baseline.target.probability) < 1e-6);
  };
  // Truncated gradient model: unreadable as a model.
  const { gradient } = cacheModels(path.join(dir, 'cache'));
  fs.truncateSync(gradient, Math.floor(fs.statSync(gradient).size / 2));
  let again = run();
  assert.match(again.r.stderr, /the cached instrumented model is missing or damaged; rebuilding it/);
  same(again.result);
  // Forward-only model edited in place (same size, still a valid protobuf): weights of another model.
  const { forward } = cacheModels(path.join(dir, 'cache'));
  const bytes = fs.readFileSync(forward);
  const w = bytes.length - 4096;
  for (let i = 0; i < 256; i += 4) bytes.writeFloatLE(bytes.readFloatLE(w + i) * 3 + 1, w + i);
  fs.writeFileSync(forward, bytes);
  again = run();
  assert.match(again.r.stderr, /damaged; rebuilding it/);
  same(again.result);
  assert.match(run().r.stderr, /loading the cached instrumented model/);
});

test('two processes building the cache at once end with one good entry', { timeout: 240_000 }, async () => {
  const dir = path.join(tempDir('hard-cache-race'), 'cache');
  const start = () => new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [BIN, 'analyze', img, '--model', FIXTURE, ...FAST, '-q'], { env: { ...process.env, NEURON_PATH_CACHE: dir }, stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  assert.deepEqual(await Promise.all([start(), start()]), [0, 0]);
  const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.equal(entries.length, 1);
  const entry = JSON.parse(fs.readFileSync(path.join(dir, entries[0]), 'utf8')) as { model: string; sha256: string; forward: string; forwardSha256: string };
  assert.equal(createHash('sha256').update(fs.readFileSync(path.join(dir, entry.model))).digest('hex'), entry.sha256);
  assert.equal(createHash('sha256').update(fs.readFileSync(path.join(dir, entry.forward))).digest('hex'), entry.forwardSha256);
  assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary files left');
  const third = cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir: dir });
  assert.match(third.stderr, /loading the cached instrumented model/);
});
