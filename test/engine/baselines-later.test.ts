// A result without baselines is complete and says so; asking for them later reuses its path and
// gives the figures a full analysis gives. The path result arrives in progress before the
// baselines start (a run cancelled then keeps it), and progress carries the work done and planned.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import test from 'node:test';
import { CancelledError, EngineError } from '../../src/engine/errors';
import { Engine, type AnalysisResult, type LayerProgress } from '../../src/engine/index';
import { REPO, tempDir } from '../helpers/fixtures';

const MODEL = path.join(REPO, 'media', 'model', 'model.onnx');
const IMAGE = path.join(REPO, 'media', 'samples', 'coat-1.png');
const options = { steps: 6, randomCount: 3 };

test('baselines skipped, then added to the same path, equal a full analysis', async () => {
  const engine = await Engine.open({ modelPath: MODEL, cacheDir: tempDir('later'), threads: 1 });
  try {
    const full = await engine.analyze(IMAGE, options);
    assert.deepEqual(full.settings.baselines, ['activation', 'ig', 'ip', 'random']);

    const progress: LayerProgress[] = [];
    const pathOnly = await engine.analyze(IMAGE, { ...options, baselines: [] }, { onProgress: (p) => progress.push(p) });
    assert.deepEqual(pathOnly.settings.baselines, []);
    assert.deepEqual(pathOnly.baselines, {});
    assert.deepEqual(pathOnly.path, full.path);
    assert.equal(pathOnly.jas, full.jas);
    assert.ok(Math.abs(pathOnly.manipulation.remove.probability - full.manipulation.remove.probability) < 1e-6);
    // The work estimate: rows done grow to the planned total, which is exact for a run without baselines.
    const works = progress.flatMap((p) => (p.work ? [p.work] : []));
    assert.ok(works.length >= pathOnly.model.layers);
    for (let i = 1; i < works.length; i++) assert.ok(works[i].done >= works[i - 1].done);
    const last = works.at(-1)!;
    assert.equal(last.done, last.total, 'the plan counts every row the path needs');
    assert.ok(progress.some((p) => p.pathResult?.path.length === pathOnly.path.length));

    const later = await engine.analyze(IMAGE, options, {}, { prior: pathOnly });
    assert.deepEqual(later.settings.baselines, ['activation', 'ig', 'ip', 'random']);
    assert.deepEqual(later.path, pathOnly.path, 'the path is reused as it was');
    const b = later.baselines, f = full.baselines;
    for (const key of ['activation', 'integratedGradients', 'influencePattern'] as const) {
      assert.deepEqual(b[key]!.path.map((p) => p.neuron), f[key]!.path.map((p) => p.neuron), key);
      assert.ok(Math.abs(b[key]!.jas - f[key]!.jas) <= 1e-6 * Math.max(1, Math.abs(f[key]!.jas)), `${key} JAS`);
      assert.ok(Math.abs(b[key]!.remove - f[key]!.remove) < 1e-6, `${key} remove`);
    }
    assert.ok(Math.abs(b.random!.jasMean - f.random!.jasMean) <= 1e-6 * Math.max(1, Math.abs(f.random!.jasMean)));
    assert.ok(later.timing.backwardPasses > pathOnly.timing.backwardPasses, 'the timing adds both runs');

    // Only what is missing is computed: the activation baseline alone, then the rest.
    const act = await engine.analyze(IMAGE, { ...options, baselines: ['activation'] }, {}, { prior: pathOnly });
    assert.deepEqual(act.settings.baselines, ['activation']);
    const rest = await engine.analyze(IMAGE, options, {}, { prior: act });
    assert.equal(rest.baselines.activation!.jas, act.baselines.activation!.jas);
    assert.deepEqual(rest.settings.baselines, ['activation', 'ig', 'ip', 'random']);

    // A prior made with other settings is refused in words.
    await assert.rejects(engine.analyze(IMAGE, { ...options, steps: 7 }, {}, { prior: pathOnly }),
      (e: unknown) => e instanceof EngineError && e.code === 'invalid-option' && /other settings/.test(e.message));
  } finally { await engine.dispose(); }
});

test('a run cancelled during the baselines has already sent its complete path result', async () => {
  const engine = await Engine.open({ modelPath: MODEL, cacheDir: tempDir('later-cancel'), threads: 1 });
  try {
    const controller = new AbortController();
    let pathResult: AnalysisResult | undefined;
    await assert.rejects(engine.analyze(IMAGE, options, {
      signal: controller.signal,
      onProgress: (p) => { if (p.pathResult) pathResult = p.pathResult; if (p.phase === 'baselines') controller.abort(); },
    }), (e: unknown) => e instanceof CancelledError);
    assert.ok(pathResult);
    assert.deepEqual(pathResult.settings.baselines, []);
    assert.equal(pathResult.path.length, pathResult.model.layers);
    assert.equal(pathResult.schema, 'neuron-path/1');
    assert.ok(pathResult.image.sha256.length === 64);
  } finally { await engine.dispose(); }
});
