// The intervention against the PyTorch reference (scripts/python/make_intervention_fixtures.py): on
// a plain, a mean-pool, a gated and a register model, random sets of 1..8 neurons with factors in
// {0, 0.5, 2, -1}, at the readout rows and at every row; and the edited model it exports, run by
// onnxruntime alone, against the same numbers.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../src/engine/index';
import { EDIT_METADATA_KEY } from '../../src/engine/editModel';
import type { InterventionRows, NeuronSetting } from '../../src/engine/intervene';
import { decodeModel } from '../../src/engine/onnx/proto';
import { Session } from '../../src/engine/runtime';
import { FIXTURES, tempDir, type Fixture } from '../helpers/fixtures';

// float64 reference, float32 engine: probabilities agree to ~1e-7; 1e-5 is the stated tolerance.
const PROB = 1e-5;

interface InterventionCase { settings: [number, number, number][]; rows: InterventionRows; probs: number[] }
interface InterventionFixture { name: string; clean: number[]; cases: InterventionCase[] }

const NAMES = ['cls_op13', 'mae_pool', 'timm_eva02_op14', 'timm_reg4_avg_op14_fixed'];
const cache = tempDir('intervene-cache');
const read = <T>(name: string, file: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name, file), 'utf8')) as T;
const settingsOf = (c: InterventionCase): NeuronSetting[] => c.settings.map(([layer, neuron, factor]) => ({ layer, neuron, factor }));

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function assertProbs(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, what);
  want.forEach((p, i) => assert.ok(Math.abs(got[i] - p) <= PROB, `${what}: class ${i} ${got[i]} vs reference ${p}`));
}

for (const name of NAMES) describe(name, () => {
  const ref = read<Fixture>(name, 'reference.json');
  const fixture = read<InterventionFixture>(name, 'intervention.json');
  const pixels = Float32Array.from(ref.input.data);
  let engine: Engine;
  before(async () => { engine = await Engine.open({ modelPath: path.join(FIXTURES, name, 'model.onnx'), cacheDir: cache, threads: 1 }); });
  after(async () => { await engine?.dispose(); });

  test(`every setting gives PyTorch's probabilities (top-5 and the target within ${PROB})`, async () => {
    for (const c of fixture.cases) {
      const r = await engine.interveneTensor(pixels, { settings: settingsOf(c), rows: c.rows });
      const what = `${c.rows} ${JSON.stringify(c.settings)}`;
      for (const p of r.before) assert.ok(Math.abs(p.probability - fixture.clean[p.class]) <= PROB, `${what}: before, class ${p.class}`);
      for (const p of r.after) assert.ok(Math.abs(p.probability - c.probs[p.class]) <= PROB, `${what}: after, class ${p.class} ${p.probability} vs ${c.probs[p.class]}`);
      // The five most probable classes, in order, where the reference's are apart by more than the tolerance.
      const order = c.probs.map((p, i) => ({ p, i })).sort((a, b) => b.p - a.p).slice(0, r.after.length);
      order.forEach((o, k) => { if (k === 0 || order[k - 1].p - o.p > 2 * PROB) assert.equal(r.after[k].class, o.i, `${what}: rank ${k}`); });
      assert.equal(r.target.class, r.before[0].class, 'the target is the class predicted before');
      assert.ok(Math.abs(r.target.after - c.probs[r.target.class]) <= PROB);
    }
  });

  test('the exported model, run by onnxruntime alone, gives the intervention\'s probabilities', async () => {
    const dims = ref.input.shape;
    const run = async (bytes: Uint8Array) => {
      const session = await Session.create(bytes, { threads: 1 });
      try {
        const out = await session.run({ pixel_values: { type: 'float32', data: pixels, dims } }, ['logits']);
        return softmax(out.logits.data as Float32Array);
      } finally { await session.release(); }
    };
    const original = await run(fs.readFileSync(path.join(FIXTURES, name, 'model.onnx')));
    for (const rows of ['readout', 'all'] as const) {
      const ones = fixture.cases[4].settings.map(([layer, neuron]) => ({ layer, neuron, factor: 1 }));
      const same = await run((await engine.editedModel({ settings: ones, rows })).bytes);
      same.forEach((p, i) => assert.ok(Math.abs(p - original[i]) <= 1e-6, `${rows}, factors 1: class ${i} ${p} vs ${original[i]}`));
    }
    for (const c of fixture.cases) {
      const edited = await engine.editedModel({ settings: settingsOf(c), rows: c.rows });
      assert.deepEqual(edited.blocks.map((b) => b.how), edited.blocks.map(() => (c.rows === 'all' ? 'weights' : 'mask')), 'fc2 weights folded at all rows, a mask at the readout');
      assertProbs(await run(edited.bytes), c.probs, `exported, ${c.rows} ${JSON.stringify(c.settings)}`);
      const meta = decodeModel(edited.bytes, 'edited').metadataProps?.find((p) => p.key === EDIT_METADATA_KEY);
      assert.deepEqual(JSON.parse(meta!.value!).settings, settingsOf(c), 'the metadata records the edit');
    }
  });
});

describe('settings are checked against the model', () => {
  test('a layer or neuron out of range names the valid range; a factor must be finite; a neuron once', async () => {
    const engine = await Engine.open({ modelPath: path.join(FIXTURES, 'cls_op13', 'model.onnx'), cacheDir: cache, threads: 1 });
    try {
      const pixels = Float32Array.from(read<Fixture>('cls_op13', 'reference.json').input.data);
      const bad = async (settings: NeuronSetting[], message: RegExp) => {
        await assert.rejects(engine.interveneTensor(pixels, { settings, rows: 'readout' }), (e: Error & { code?: string }) => e.code === 'invalid-option' && message.test(e.message));
      };
      await bad([{ layer: 4, neuron: 0, factor: 0 }], /layer 4 does not exist: the model has 4 blocks \(0\.\.3\)/);
      await bad([{ layer: 0, neuron: 64, factor: 0 }], /neuron 64 does not exist: block 0 has 64 FFN neurons \(0\.\.63\)/);
      await bad([{ layer: 0, neuron: 1, factor: Infinity }], /must be a finite number/);
      await bad([{ layer: 0, neuron: 1, factor: 0 }, { layer: 0, neuron: 1, factor: 2 }], /set twice/);
      await bad([], /no neuron is set/);
      await assert.rejects(engine.interveneTensor(pixels, { settings: [{ layer: 0, neuron: 1, factor: 0 }], rows: 'some' as InterventionRows }), /rows must be readout or all/);
    } finally { await engine.dispose(); }
  });
});
