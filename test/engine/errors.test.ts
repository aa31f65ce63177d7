// Bad input gets a clear, specific error: corrupt or non-ViT models, unsupported ops, external data
// that leaves the model's folder, unreadable images, out-of-range targets, missing label files,
// cancellation.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import { Engine } from '../../src/engine/index';
import { EngineError } from '../../src/engine/errors';
import { GraphBuilder } from '../../src/engine/onnx/builder';
import { decodeModel, encodeModel, onnx } from '../../src/engine/onnx/proto';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const cache = tempDir('err-cache');
const vit = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
const open = (modelPath: string, extra = {}) => Engine.open({ modelPath, cacheDir: cache, threads: 1, ...extra });

function sampleImage(dir: string): Promise<string> {
  const file = path.join(dir, 'img.png');
  return sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 120, g: 40, b: 200 } } }).png().toFile(file).then(() => file);
}

test('a corrupt model file is a readable error', async () => {
  const dir = tempDir('corrupt');
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, fs.readFileSync(vit).subarray(0, 5000));
  await assert.rejects(open(file), /is not an ONNX model, or it is damaged or incomplete|holds no graph/);
  fs.writeFileSync(file, 'not a model at all');
  await assert.rejects(open(file), /is not an ONNX model, or it is damaged or incomplete|holds no graph/);
});

test('a missing model file names the path', async () => {
  await assert.rejects(open('/nonexistent/model.onnx'), /model file \/nonexistent\/model.onnx does not exist/);
});

test('a CNN is refused as not a ViT', async () => {
  await assert.rejects(open(path.join(FIXTURES, 'not_a_vit', 'model.onnx')), /no transformer FFN/);
});

for (const name of ['timm_swin_op14', 'timm_pit_op14']) {
  test(`${name}: a hierarchical model (token rows that change between blocks) is refused with that reason, not an op it cannot differentiate`, async () => {
    const error = await open(path.join(FIXTURES, name, 'model.onnx')).then(() => undefined, (e: EngineError) => e);
    assert.ok(error, 'refused');
    assert.equal(error.code, 'method-undefined');
    assert.match(error.message, /^the token rows change between blocks .* one sequence of blocks over the same token rows.*: 2 blocks \(.*\) read \d+ token rows of width \d+, but the FFN .* after them reads \[1,\d+,\d+\]/);
    assert.doesNotMatch(error.message, /cannot differentiate/);
  });
}

test('an int8-quantized model is refused with the reason and what to export instead', async () => {
  await assert.rejects(open(path.join(FIXTURES, 'quantized_int8', 'model.onnx')),
    /the model is quantized \(\d+ QuantizeLinear, \d+ DequantizeLinear.*no gradient.*export it in float32/s);
});

test('a ViT whose FFN is not recognised is told which linear layers were looked at and why each is not an fc2', async () => {
  // Every FFN activation of the ViT replaced by an Atan (no FFN activation): the blocks' fc2 are then
  // linears whose inputs are not an FFN.
  const model = decodeModel(fs.readFileSync(vit), vit);
  for (const node of model.graph!.node!) if (node.opType === 'Erf') node.opType = 'Atan';
  const dir = tempDir('unrecognised');
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(model));
  const error = await open(path.join(dir, 'model.onnx')).then(() => undefined, (e: Error) => e);
  assert.ok(error, 'refused');
  assert.match(error.message, /no transformer FFN was recognised .* 3 attention softmaxes; the \d+ linear layers over \[batch, tokens, width\] were looked at:/s);
  assert.match(error.message, /MatMul '[^']*' reads '[^']*' \[1,17,64\]: it is made through Atan '[^']*', which is not part of an FFN/);
  assert.doesNotMatch(error.message, /not a vision transformer/i);
});

test('an FFN outside the blocks\' token sequence (a stem MLP over the patches, before the class token) is refused with what was found', async () => {
  const model = decodeModel(fs.readFileSync(vit), vit);
  const graph = model.graph!;
  // The Concat that prepends the class token: insert patches + W2 relu(W1 patches) before it.
  const concat = graph.node!.find((n) => n.opType === 'Concat' && (n.attribute ?? []).some((a) => a.name === 'axis' && Number(a.i) === 1))!;
  const patches = concat.input![1];
  const b = new GraphBuilder(graph, 17, 'stem/');
  const hidden = b.op('Relu', [b.op('MatMul', [patches, b.floats(Array.from({ length: 32 * 8 }, (_, i) => Math.sin(i)), [32, 8])])]);
  concat.input![1] = b.op('Add', [patches, b.op('MatMul', [hidden, b.floats(Array.from({ length: 8 * 32 }, (_, i) => Math.cos(i)), [8, 32])])]);
  graph.node!.splice(graph.node!.indexOf(concat), 0, ...b.added);
  const dir = tempDir('stem');
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(model));
  await assert.rejects(open(path.join(dir, 'model.onnx')), (e: EngineError) => e.code === 'method-undefined' &&
    /the token rows change between blocks .*: 3 blocks \(.* \.\. .*\) read 17 token rows of width 32, but the FFN .* before them reads \[1,16,8\]/.test(e.message));
});

test('an op without a gradient rule names the op and the node', async () => {
  const model = decodeModel(fs.readFileSync(vit), vit);
  const nodes = model.graph!.node!;
  // Put an Atan on the residual stream of the last block, inside the part that is differentiated.
  const lastAdd = [...nodes].reverse().find((n) => n.opType === 'Add' && nodes.some((m) => m.opType === 'LayerNormalization' && m.input![0] === n.output![0]))!;
  const original = lastAdd.output![0];
  lastAdd.output = [`${original}_pre`];
  nodes.splice(nodes.indexOf(lastAdd) + 1, 0, onnx.NodeProto.create({ opType: 'Atan', input: [`${original}_pre`], output: [original], name: 'my_atan' }));
  const dir = tempDir('unsupported');
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(model));
  await assert.rejects(open(path.join(dir, 'model.onnx')), /cannot differentiate Atan node 'my_atan'/);
});

function withExternalData(location: string): string {
  const model = decodeModel(fs.readFileSync(vit), vit);
  const dir = tempDir('external');
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    if (!t.rawData || t.rawData.length < 256) continue;
    const data = Buffer.from(t.rawData);
    t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(data.length) }];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    chunks.push(data);
    offset += data.length;
  }
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.resolve(dir, 'model', location), Buffer.concat(chunks));
  fs.writeFileSync(path.join(dir, 'model', 'model.onnx'), encodeModel(model));
  return path.join(dir, 'model', 'model.onnx');
}

test('a model with external data gives the same result as the inline model', async () => {
  const dir = tempDir('ext-img');
  const image = await sampleImage(dir);
  const inline = await open(vit);
  const external = await open(withExternalData('weights.bin'));
  try {
    const a = await inline.analyze(image, { baselines: [] });
    const b = await external.analyze(image, { baselines: [] });
    assert.deepEqual(b.path, a.path);
    assert.equal(b.jas, a.jas);
  } finally { await inline.dispose(); await external.dispose(); }
});

test('external data outside the model folder is refused', async () => {
  await assert.rejects(open(withExternalData('../escape.bin')), /outside the model's folder; refused/);
});

test('image errors: missing, unreadable, truncated', async () => {
  const engine = await open(vit);
  const dir = tempDir('img');
  try {
    await assert.rejects(engine.analyze(path.join(dir, 'none.png')), /does not exist/);
    fs.writeFileSync(path.join(dir, 'junk.png'), 'this is not an image');
    await assert.rejects(engine.analyze(path.join(dir, 'junk.png')), /cannot read .*junk.png as an image/);
    const good = fs.readFileSync(await sampleImage(dir));
    fs.writeFileSync(path.join(dir, 'cut.png'), good.subarray(0, good.length - 30));
    await assert.rejects(engine.analyze(path.join(dir, 'cut.png')), /cannot (read|decode)/);
  } finally { await engine.dispose(); }
});

test('an out-of-range target class is refused with the valid range', async () => {
  const engine = await open(vit);
  const dir = tempDir('target');
  try {
    const image = await sampleImage(dir);
    const C = engine.info.numClasses;
    await assert.rejects(engine.analyze(image, { target: C }), new RegExp(`target class ${C} is out of range: the model has ${C} classes \\(0..${C - 1}\\)`));
    await assert.rejects(engine.analyze(image, { target: -1 }), /out of range/);
  } finally { await engine.dispose(); }
});

test('a missing labels file is a clear error', async () => {
  await assert.rejects(open(vit, { labelsPath: '/nowhere/labels.txt' }), /labels file \/nowhere\/labels.txt does not exist/);
});

test('cancelling stops the analysis between passes', async () => {
  const engine = await open(vit);
  const dir = tempDir('cancel');
  try {
    const image = await sampleImage(dir);
    const controller = new AbortController();
    const layers: number[] = [];
    await assert.rejects(engine.analyze(image, {}, {
      signal: controller.signal,
      onProgress: (p) => { if (p.phase === 'layer') { layers.push(p.layer!); controller.abort(); } },
    }), { name: 'AbortError' });
    assert.deepEqual(layers, [0], 'no layer step ran after the cancel');
    const again = await engine.analyze(image, { baselines: [] });
    assert.equal(again.path.length, engine.info.layers, 'the engine still works after a cancel');
  } finally { await engine.dispose(); }
});

test('non-finite probabilities are an error with code numeric, never a result', { timeout: 60_000 }, async () => {
  const engine = await open(vit);
  try {
    for (const v of [3e38, NaN]) {
      const pixels = new Float32Array(3 * 16 * 16).fill(v);
      await assert.rejects(engine.analyzeTensor(pixels, { steps: 2, baselines: [] }), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.code, 'numeric');
        assert.match(e.message, /probabilities of the clean pass include NaN/);
        return true;
      });
    }
  } finally {
    await engine.dispose();
  }
});

test('analysis options from anywhere are bounded: steps, random count, seed', { timeout: 60_000 }, async () => {
  const engine = await open(vit);
  try {
    const pixels = new Float32Array(3 * 16 * 16).fill(0.1);
    for (const [options, field] of [[{ steps: 100_000 }, 'steps'], [{ randomCount: 1e6 }, 'randomCount'], [{ randomSeed: -1 }, 'randomSeed'], [{ steps: 2.5 }, 'steps']] as const) {
      await assert.rejects(engine.analyzeTensor(pixels, options), (e: unknown) => e instanceof EngineError && e.code === 'invalid-option' && e.facts.field === field);
    }
  } finally {
    await engine.dispose();
  }
});
