// EXIF orientation: a photo is analysed as every viewer shows it. The committed JPEGs
// (scripts/python/make_exif_images.py) store their pixels turned, as a phone held sideways does,
// tagged with Orientation 6 or 8; the upright comparison images are made here from the same
// decoded pixels, turned by the EXIF definition written out below (not by sharp), and saved
// losslessly, so "the same" is exact.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import { analyzeFolder, readLines, recordsOf, type BatchRecord } from '../../src/engine/batch/index';
import { Engine } from '../../src/engine/index';
import { readPreprocessing } from '../../src/engine/modelFolder';
import { locateModel } from '../../src/engine/modelLocation';
import { loadPixels } from '../../src/engine/preprocess';
import { FIXTURES, REPO, tempDir } from '../helpers/fixtures';

const IMAGES = path.join(FIXTURES, 'images');
const dir = tempDir('orientation');

interface Raw { data: Buffer; width: number; height: number; channels: number }

async function storedPixels(file: string): Promise<Raw> {
  // No rotate(): the pixels as the file stores them.
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * The upright image of stored pixels under EXIF orientation o (TIFF 6.0 / EXIF 2.3: where the
 * stored row 0 and column 0 are shown): for each shown pixel (x, y), the stored pixel it is.
 */
function upright(s: Raw, o: number): Raw {
  const swap = o >= 5;
  const width = swap ? s.height : s.width, height = swap ? s.width : s.height;
  const W = s.width, H = s.height;
  const from: Record<number, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y) => [W - 1 - x, y],             // mirrored left-right
    3: (x, y) => [W - 1 - x, H - 1 - y],     // turned 180 degrees
    4: (x, y) => [x, H - 1 - y],             // mirrored top-bottom
    5: (x, y) => [y, x],                     // transposed
    6: (x, y) => [y, H - 1 - x],             // shown turned 90 degrees clockwise
    7: (x, y) => [W - 1 - y, H - 1 - x],     // transversed
    8: (x, y) => [W - 1 - y, x],             // shown turned 90 degrees counter-clockwise
  };
  const data = Buffer.alloc(width * height * s.channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = from[o](x, y);
      s.data.copy(data, (y * width + x) * s.channels, (sy * W + sx) * s.channels, (sy * W + sx + 1) * s.channels);
    }
  }
  return { data, width, height, channels: s.channels };
}

async function png(r: Raw, file: string, orientation?: number): Promise<string> {
  const img = sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels as 3 } });
  await (orientation ? img.withMetadata({ orientation }) : img).png().toFile(file);
  return file;
}

const target = { channels: 3, height: 7, width: 5 };
const prep = readPreprocessing(locateModel(path.join(dir, 'model.onnx')), { size: [7, 5], resize: 'bilinear', mean: [0, 0, 0], std: [1, 1, 1] });

test('each of the 8 EXIF orientations gives exactly the tensor of the upright image', async () => {
  // A real photo, not square, so a width/height swap or a turn the wrong way changes the tensor.
  const stored = await storedPixels(path.join(IMAGES, 'chelsea-exif6.jpg'));
  assert.deepEqual([stored.width, stored.height], [40, 60]);
  const tensors: Float32Array[] = [];
  for (let o = 1; o <= 8; o++) {
    const tagged = await loadPixels(await png(stored, path.join(dir, `tagged-${o}.png`), o), prep, target);
    const want = upright(stored, o);
    const plain = await loadPixels(await png(want, path.join(dir, `upright-${o}.png`)), prep, target);
    assert.deepEqual(tagged.data, plain.data, `orientation ${o}`);
    assert.deepEqual([tagged.width, tagged.height, tagged.orientation], [want.width, want.height, o], `orientation ${o}: upright size`);
    assert.equal(plain.orientation, 1);
    tensors.push(tagged.data);
  }
  // The eight are eight different images: none is read as another.
  for (let a = 0; a < 8; a++) for (let b = a + 1; b < 8; b++) assert.notDeepEqual(tensors[a], tensors[b], `orientations ${a + 1} and ${b + 1}`);
});

test('a phone JPEG tagged 6 or 8 is read upright, and both taggings show the same photo', async () => {
  const read: Float32Array[] = [];
  for (const o of [6, 8]) {
    const file = path.join(IMAGES, `chelsea-exif${o}.jpg`);
    const px = await loadPixels(file, prep, target);
    assert.deepEqual([px.width, px.height, px.orientation], [60, 40, o]);
    const plain = await loadPixels(await png(upright(await storedPixels(file), o), path.join(dir, `chelsea-${o}.png`)), prep, target);
    assert.deepEqual(px.data, plain.data, `chelsea-exif${o}.jpg`);
    read.push(px.data);
  }
  // The same upright photo, stored turned one way and the other (only JPEG's rounding differs); a
  // turn the wrong way would leave the two 180 degrees apart.
  const meanDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
  assert.ok(meanDiff(read[0], read[1]) < 0.02, `upright reads differ by ${meanDiff(read[0], read[1])}`);
});

test('the bundled model predicts on a rotated phone JPEG what it predicts on the upright image', async () => {
  const engine = await Engine.open({ modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('orientation-cache') });
  try {
    const coat = await engine.predict(path.join(REPO, 'media', 'samples', 'coat-1.png'));
    assert.equal(coat[0].label, 'Coat');
    for (const o of [6, 8]) {
      const file = path.join(IMAGES, `coat-1-exif${o}.jpg`);
      const stored = await storedPixels(file);
      const tagged = await engine.predict(file, 10);
      const plain = await engine.predict(await png(upright(stored, o), path.join(dir, `coat-${o}.png`)), 10);
      assert.deepEqual(tagged, plain, `coat-1-exif${o}.jpg: the same probabilities as its upright pixels`);
      assert.equal(tagged[0].label, 'Coat');
      // What the model said before orientation was applied: the stored pixels are another picture to it.
      const sideways = await engine.predict(await png(stored, path.join(dir, `coat-sideways-${o}.png`)), 10);
      assert.notDeepEqual(sideways.map((c) => c.probability), tagged.map((c) => c.probability));
      const record = await engine.analyze(file, { steps: 2, baselines: [] });
      assert.deepEqual([record.image.width, record.image.height, record.image.orientation], [28, 28, o]);
      assert.equal(record.target.label, 'Coat');
    }
  } finally { await engine.dispose(); }
});

test('a result file from before orientation was applied: its turned photos are analysed again on resume, nothing else', async () => {
  const engine = await Engine.open({ modelPath: path.join(REPO, 'media', 'model', 'model.onnx'), cacheDir: tempDir('orientation-cache') });
  try {
    const folder = tempDir('orientation-folder');
    fs.copyFileSync(path.join(IMAGES, 'coat-1-exif6.jpg'), path.join(folder, 'phone.jpg'));
    fs.copyFileSync(path.join(REPO, 'media', 'samples', 'coat-1.png'), path.join(folder, 'upright.png'));
    const out = path.join(tempDir('orientation-out'), 'run.jsonl');
    const modelOptions = { modelPath: engine.info.path };
    const run = () => analyzeFolder(engine, { folder, out, modelOptions, analyzeOptions: { steps: 2, baselines: [] } });
    assert.deepEqual([(await run()).analysed], [2]);
    // The lines as an earlier version wrote them: no image.orientation.
    const old = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as BatchRecord);
    fs.writeFileSync(out, old.map((r) => JSON.stringify({ ...r, image: { ...r.image, orientation: undefined } })).join('\n') + '\n');
    const resumed = await run();
    assert.deepEqual([resumed.resumed, resumed.analysed], [1, 1], 'the phone photo is analysed again, the upright one is not');
    const records = recordsOf(readLines(out).lines);
    assert.deepEqual(records.map((r) => [path.basename(r.image.path), r.image.orientation]).sort(), [['phone.jpg', 6], ['upright.png', undefined]]);
    assert.deepEqual([(await run()).analysed], [0], 'and only once');
  } finally { await engine.dispose(); }
});
