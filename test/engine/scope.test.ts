// The readout rows a scope setting picks (docs/method.md): auto takes the rows the head reads from the
// graph; cls, patches, all and a:b pick rows by position, with patches the last gh*gw tokens (the
// patch grid, after any class, distillation or register tokens), never simply tokens 1:.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { Engine, type ScopeSetting } from '../../src/engine/index';
import { FIXTURES, tempDir, type Fixture } from '../helpers/fixtures';

const cache = tempDir('scope-cache');
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const fixture = (name: string) => path.join(FIXTURES, name, 'model.onnx');
const open = (name: string, scope?: ScopeSetting) => Engine.open({ modelPath: fixture(name), cacheDir: cache, threads: 1, scope });
const reference = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8')) as Fixture;

test('4 registers + avg pool: auto finds the patch tokens after the registers; each setting picks its rows and says so', async () => {
  const name = 'timm_reg4_avg_op14_fixed';
  const { tokens: T, grid } = reference(name);
  const patches = range(T - grid[0] * grid[1], T);
  assert.equal(patches[0], 5, 'class token and 4 registers before the patch grid');
  const cases: [ScopeSetting, number[], string][] = [
    ['auto', patches, 'patches'], ['patches', patches, 'patches'], ['cls', [0], 'cls'],
    ['all', range(0, T), 'all'], ['1:5', [1, 2, 3, 4], '1:5'], ['3:', range(3, T), `3:${T}`],
  ];
  for (const [scope, rows, label] of cases) {
    const engine = await open(name, scope);
    try {
      assert.deepEqual(engine.info.readout.rows, rows, `scope ${scope}`);
      assert.equal(engine.info.scope, label);
      assert.equal(engine.info.readout.source, scope === 'auto' ? 'graph' : 'setting');
      assert.deepEqual(engine.info.readout.graphRows, patches, 'the graph\'s rows are recorded whatever the setting');
      assert.deepEqual(engine.info.readout.grid, grid);
    } finally { await engine.dispose(); }
  }
});

test('no class token: patches is every token, and equals what auto finds', async () => {
  const { tokens: T, grid } = reference('timm_gap_op14');
  assert.equal(grid[0] * grid[1], T, 'no class token');
  const engine = await open('timm_gap_op14', 'patches');
  try {
    assert.deepEqual(engine.info.readout.rows, range(0, T));
    assert.deepEqual(engine.info.readout.graphRows, range(0, T));
  } finally { await engine.dispose(); }
});

test('a scope that names the rows auto finds gives the same analysis', async () => {
  const pixels = Float32Array.from(reference('timm_deit_distilled_op14_fixed').input.data);
  const auto = await open('timm_deit_distilled_op14_fixed');
  const forced = await open('timm_deit_distilled_op14_fixed', '0:2');
  try {
    assert.deepEqual(forced.info.readout.rows, [0, 1]);
    const a = await auto.analyzeTensor(pixels, { steps: 8, baselines: [] });
    const b = await forced.analyzeTensor(pixels, { steps: 8, baselines: [] });
    assert.deepEqual(b.path, a.path);
    assert.equal(b.jas, a.jas);
  } finally { await auto.dispose(); await forced.dispose(); }
});

test('a token range outside the model is refused with the model\'s token count', async () => {
  const T = reference('timm_gap_op14').tokens;
  await assert.rejects(open('timm_gap_op14', '10:40'), new RegExp(`scope '10:40' is not a token range of this model: it has ${T} tokens \\(0..${T - 1}\\); use a:b with a < b <= ${T}`));
  await assert.rejects(open('timm_gap_op14', '5:5'), /is not a token range of this model/);
});
