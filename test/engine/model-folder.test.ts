// Models as the hubs lay them out: a transformers.js folder (configs at the root, onnx/model.onnx
// beside a quantized variant) and a timm hub folder (config.json with pretrained_cfg and
// label_names). The probability explained must be the one the model gives on the input its own
// library makes (scripts/python/make_preprocess_fixtures.py), run here through onnxruntime.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { Engine } from '../../src/engine';
import { batchSettings } from '../../src/engine/batch/records';
import { EngineError } from '../../src/engine/errors';
import { readPreprocessing } from '../../src/engine/modelFolder';
import { locateModel } from '../../src/engine/modelLocation';
import { defaultedFields, preprocessingKey } from '../../src/engine/preprocessing';
import { Session } from '../../src/engine/runtime';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const JS = path.join(FIXTURES, 'hub_transformersjs');
const TIMM = path.join(FIXTURES, 'hub_timm');
const CHELSEA = path.join(FIXTURES, 'preprocess', 'chelsea.png');
const LABELS = ['tabby', 'beagle', 'coffee mug', 'astronaut', 'teapot'];

/** The model's own probabilities on its library's input for chelsea.png. */
async function expectedProbs(onnx: string, folder: string): Promise<number[]> {
  const { data } = JSON.parse(fs.readFileSync(path.join(folder, 'input.json'), 'utf8')) as { data: number[] };
  const session = await Session.create(fs.readFileSync(onnx), { threads: 1 });
  try {
    const out = await session.run({ pixel_values: { type: 'float32', data: Float32Array.from(data), dims: [1, 3, 32, 32] } }, [session.outputNames[0]]);
    const logits = Array.from(out[session.outputNames[0]].data as Float32Array);
    const max = Math.max(...logits), exp = logits.map((v) => Math.exp(v - max)), total = exp.reduce((a, b) => a + b, 0);
    return exp.map((e) => e / total);
  } finally {
    await session.release();
  }
}

for (const [name, folder, onnx, config] of [
  ['transformers.js folder', JS, path.join(JS, 'onnx', 'model.onnx'), path.join(JS, 'preprocessor_config.json')],
  ['timm hub folder', TIMM, path.join(TIMM, 'model.onnx'), path.join(TIMM, 'config.json')],
] as const) {
  test(`a ${name} opens as the model, and the analysis explains the probability the model gives`, async () => {
    const engine = await Engine.open({ modelPath: folder, cacheDir: tempDir('folder-cache'), threads: 1 });
    try {
      assert.equal(engine.info.path, onnx);
      assert.deepEqual(engine.info.labels, LABELS);
      assert.equal(engine.info.preprocessing.config?.file, config);
      assert.deepEqual(defaultedFields(engine.info.preprocessing), []);
      const probs = await expectedProbs(onnx, folder);
      const result = await engine.analyze(CHELSEA, { steps: 2, baselines: [] });
      const best = probs.indexOf(Math.max(...probs));
      assert.equal(result.target.class, best);
      assert.equal(result.target.label, LABELS[best]);
      assert.ok(Math.abs(result.target.probability - probs[best]) < 1e-5, `explained ${result.target.probability}, the model gives ${probs[best]}`);
      for (const c of result.prediction.top) assert.ok(Math.abs(c.probability - probs[c.class]) < 1e-5);
      assert.deepEqual(result.model.preprocessing, engine.info.preprocessing);
    } finally {
      await engine.dispose();
    }
  });
}

test('the ONNX file of a transformers.js folder named directly still reads the configs of its hub folder', () => {
  const loc = locateModel(path.join(JS, 'onnx', 'model.onnx'));
  assert.deepEqual(loc, { file: path.join(JS, 'onnx', 'model.onnx'), root: JS, dirs: [path.join(JS, 'onnx'), JS] });
  const prep = readPreprocessing(loc);
  assert.equal(prep.config?.processor, 'CLIPImageProcessor');
  assert.deepEqual(prep.mean.source, { from: 'file', file: path.join(JS, 'preprocessor_config.json'), field: 'image_mean' });
});

test('a folder: model.onnx preferred over its variants, the only float32 export taken, ambiguity and absence named', () => {
  const d = tempDir('locate');
  const put = (rel: string) => { fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true }); fs.writeFileSync(path.join(d, rel), ''); };
  assert.throws(() => locateModel(d), (e: unknown) => e instanceof EngineError && e.code === 'not-found' && /has no ONNX file \(looked for model\.onnx and onnx\/model\.onnx\)/.test(e.message));
  put('onnx/model_quantized.onnx'); put('onnx/model_fp16.onnx');
  assert.throws(() => locateModel(d), (e: unknown) => e instanceof EngineError && e.code === 'model-choice'
    && e.message.endsWith('has several ONNX files and none is the float32 model.onnx: onnx/model_fp16.onnx, onnx/model_quantized.onnx')
    && JSON.stringify(e.facts.candidates) === '["onnx/model_fp16.onnx","onnx/model_quantized.onnx"]');
  put('onnx/vit_small.onnx');
  assert.equal(locateModel(d).file, path.join(d, 'onnx', 'vit_small.onnx'), 'the only float32 export');
  put('onnx/model.onnx');
  assert.equal(locateModel(d).file, path.join(d, 'onnx', 'model.onnx'));
  put('model.onnx');
  assert.throws(() => locateModel(d), (e: unknown) => e instanceof EngineError && e.code === 'model-choice' && e.message.includes('model.onnx, onnx/model.onnx'));
});

test('configs are never read from above the folder the user named', () => {
  const parent = tempDir('above');
  const named = path.join(parent, 'vit');
  fs.mkdirSync(named);
  fs.copyFileSync(path.join(TIMM, 'model.onnx'), path.join(named, 'model.onnx'));
  fs.writeFileSync(path.join(parent, 'preprocessor_config.json'), JSON.stringify({ image_processor_type: 'ViTImageProcessor', image_mean: [0.1, 0.1, 0.1] }));
  fs.writeFileSync(path.join(parent, 'config.json'), JSON.stringify({ id2label: { 0: 'above' } }));
  const loc = locateModel(named);
  assert.deepEqual(loc.dirs, [named]);
  const prep = readPreprocessing(loc);
  assert.equal(prep.config, null);
  assert.deepEqual(defaultedFields(prep), ['resize', 'interpolation', 'crop', 'rescale', 'mean', 'std']);
});

test('the preprocessing key follows the values, not their sources: an edited config changes it (and the settings key of batch files and cached results), the same values from a flag do not', () => {
  const d = tempDir('prep-key');
  fs.copyFileSync(path.join(TIMM, 'config.json'), path.join(d, 'config.json'));
  const loc = locateModel(path.join(d, 'model.onnx'));
  const settingsKey = () => batchSettings('a'.repeat(64), { modelPath: path.join(d, 'model.onnx') }, {}).key;
  const keyBefore = settingsKey();
  const before = preprocessingKey(readPreprocessing(loc));
  assert.equal(preprocessingKey(readPreprocessing(loc, { mean: [0.485, 0.456, 0.406] })), before);
  const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
  cfg.pretrained_cfg.crop_pct = 1;
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
  assert.notEqual(preprocessingKey(readPreprocessing(loc)), before);
  assert.notEqual(settingsKey(), keyBefore);
});
