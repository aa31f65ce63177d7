// Preprocessing parity on real photos: the engine's tensor against what transformers' image
// processors, timm's eval transform and open_clip's eval transform make of the same photo
// (scripts/python/make_preprocess_fixtures.py, Pillow 9.4). The fixture keeps 256 sampled values
// and the channel means per case; with NEURON_PATH_PARITY_DIR set to the script's --full folder the
// whole tensors are compared and the differences printed (the README's table).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { readPreprocessing } from '../../src/engine/modelFolder';
import { locateModel } from '../../src/engine/modelLocation';
import { loadPixels } from '../../src/engine/preprocess';
import { defaultedFields } from '../../src/engine/preprocessing';
import { FIXTURES, tempDir } from '../helpers/fixtures';

interface Case {
  case: string; photo: string; file: string; config: unknown; shape: [number, number, number];
  channelMean: number[]; samples: { index: number[]; value: number[] };
}
const DIR = path.join(FIXTURES, 'preprocess');
const { cases } = JSON.parse(fs.readFileSync(path.join(DIR, 'parity.json'), 'utf8')) as { cases: Case[] };
const full = process.env.NEURON_PATH_PARITY_DIR;

/** Differences in 0..255 grey levels: a tensor difference times std over the rescale factor. */
async function tensorOf(c: Case) {
  const dir = tempDir(`parity-${c.case}`);
  fs.writeFileSync(path.join(dir, c.file), JSON.stringify(c.config));
  const prep = readPreprocessing(locateModel(path.join(dir, 'model.onnx')));
  const [channels, height, width] = c.shape;
  const px = await loadPixels(path.join(DIR, c.photo), prep, { channels, height, width });
  const grey = (i: number, d: number) => Math.abs(d) * prep.std.value[Math.floor(i / (height * width))] / prep.rescale.value;
  return { px, grey, prep };
}

for (const name of [...new Set(cases.map((c) => c.case))]) {
  test(`preprocessing parity: ${name} on astronaut, chelsea and coffee`, async () => {
    for (const c of cases.filter((x) => x.case === name)) {
      const { px, grey, prep } = await tensorOf(c);
      assert.deepEqual(defaultedFields(prep), [], `${name}: every value comes from the config or its processor`);
      assert.equal(px.data.length, c.shape[0] * c.shape[1] * c.shape[2]);
      let worst = 0;
      c.samples.index.forEach((i, k) => { worst = Math.max(worst, grey(i, px.data[i] - c.samples.value[k])); });
      // Pillow's fixed-point resize is reproduced exactly: only float rounding (and the fixture's 6 decimals) remain.
      assert.ok(worst < 0.01, `${name} ${c.photo}: sampled values differ by up to ${worst.toFixed(4)} grey levels`);
      const plane = c.shape[1] * c.shape[2];
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        for (let i = ch * plane; i < (ch + 1) * plane; i++) sum += px.data[i];
        assert.ok(Math.abs(sum / plane - c.channelMean[ch]) < 1e-4, `${name} ${c.photo} channel ${ch}: mean ${sum / plane} vs ${c.channelMean[ch]}`);
      }
      if (full) {
        const ref = new Float32Array(fs.readFileSync(path.join(full, `${c.case}.${c.photo.replace(/\.png$/, '')}.f32`)).buffer.slice(0));
        let max = 0, total = 0;
        ref.forEach((v, i) => { const g = grey(i, px.data[i] - v); max = Math.max(max, g); total += g; });
        console.log(`parity ${name} ${c.photo}: mean ${(total / ref.length).toFixed(5)} max ${max.toFixed(5)} grey levels`);
      }
    }
  });
}
