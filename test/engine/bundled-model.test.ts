// The bundled default model (media/model) read through the same code path as a user's model:
// its folder config, its labels, and its predictions on the sample images.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { stampOf } from '../../src/engine/files';
import { sha256File } from '../../src/engine/hash';
import { defaultModelPath, Engine } from '../../src/engine/index';
import { REPO, tempDir } from '../helpers/fixtures';

const SAMPLES = path.join(REPO, 'media', 'samples');
const MODEL = path.join(REPO, 'media', 'model', 'model.onnx');

test('the bundled model is a 6+ layer ViT with Fashion-MNIST labels and classifies the samples', async () => {
  assert.ok(fs.existsSync(MODEL), 'media/model/model.onnx is committed');
  assert.ok(fs.statSync(MODEL).size <= 5 * 1024 * 1024, 'model file at most 5 MB');
  const engine = await Engine.open({ modelPath: MODEL, cacheDir: tempDir('bundled') });
  try {
    assert.ok(engine.info.layers >= 6);
    assert.equal(engine.info.scope, 'cls');
    assert.equal(engine.info.numClasses, 10);
    assert.equal(engine.info.labels[9], 'Ankle boot');
    // Where each block's neurons live, by the ONNX node names Netron shows (HF ViT export names).
    assert.equal(engine.info.blocks.length, engine.info.layers);
    engine.info.blocks.forEach((b, l) => assert.deepEqual(b, {
      fc2: `/blocks.${l}/output/MatMul`, linears: [`/blocks.${l}/intermediate/MatMul`], activation: `/blocks.${l}/act/Erf`,
    }));
    const labels = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'labels.json'), 'utf8')) as Record<string, number>;
    const files = Object.keys(labels).sort();
    assert.equal(files.length, 20, 'two samples per class');
    let agree = 0;
    for (const f of files) if ((await engine.predict(path.join(SAMPLES, f)))[0].class === labels[f]) agree++;
    // The model's test accuracy is ~90% (media/model/README.md); on 20 unpicked samples at least 16.
    assert.ok(agree >= 16, `${agree}/20 sample predictions agree with their labels`);
    process.stdout.write(`# bundled model: ${agree}/20 sample predictions agree with their labels\n`);
  } finally { await engine.dispose(); }
});

test('the default model path resolves to the bundled model', () => {
  assert.equal(defaultModelPath(), MODEL);
});

test('a model opened with the sha256 its caller computed is not hashed again, and is the model of that hash', async () => {
  const sha256 = await sha256File(MODEL, 'model');
  const cacheDir = tempDir('given-sha');
  const given = await Engine.open({ modelPath: MODEL, cacheDir, sha256 });
  await given.dispose();
  assert.equal(given.info.sha256, sha256);
  // The hash names the model (its record, its instrumented cache entry): another one is taken as given, not recomputed.
  const other = 'f'.repeat(64);
  const taken = await Engine.open({ modelPath: MODEL, cacheDir, sha256: other });
  await taken.dispose();
  assert.equal(taken.info.sha256, other);
});

test('an image analysed with the hash its caller computed is not hashed again while the file keeps the stamp of that hash', async () => {
  const file = path.join(tempDir('given-image-sha'), 'image.png');
  const [coat, bag] = ['coat-1.png', 'bag-1.png'].map((f) => path.join(SAMPLES, f));
  assert.notEqual(fs.statSync(coat).size, fs.statSync(bag).size, 'the two versions of the file differ in size');
  fs.copyFileSync(coat, file);
  const options = { steps: 2, baselines: [] };
  const engine = await Engine.open({ modelPath: MODEL, cacheDir: tempDir('given-image-sha-cache') });
  try {
    assert.equal((await engine.analyze(file, options)).image.sha256, await sha256File(coat, 'image'), 'without a given hash the engine hashes the bytes it read');
    // A hash no file has, given with the file's stamp: taken as given, so the engine did not hash again.
    const stamp = stampOf(fs.statSync(file));
    const given = { ...stamp, sha256: 'e'.repeat(64) };
    assert.equal((await engine.analyze(file, options, {}, { imageHash: given })).image.sha256, given.sha256);
    // The stamp of another version (here only ctime differs, as after cp -p): the engine hashes the image itself.
    assert.equal((await engine.analyze(file, options, {}, { imageHash: { ...given, ctimeMs: stamp.ctimeMs + 1 } })).image.sha256, await sha256File(coat, 'image'));
    // The file rewritten since the caller hashed it: a stale hash is never recorded.
    fs.copyFileSync(bag, file);
    const changed = await engine.analyze(file, options, {}, { imageHash: given });
    assert.equal(changed.image.sha256, await sha256File(bag, 'image'));
  } finally { await engine.dispose(); }
});
