// Image decoding and preprocessing: every supported format, HF processor configs (resize, shortest
// edge + center crop, rescale, normalize), grey and alpha images, overrides, and refusals.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { describeDefaultNames } from '../../src/engine/classNames';
import { readLabels, readPreprocessing as readAt } from '../../src/engine/modelFolder';
import { locateModel } from '../../src/engine/modelLocation';
import { loadPixels } from '../../src/engine/preprocess';
import { describeDefaults } from '../../src/engine/preprocessing';
import { tempDir } from '../helpers/fixtures';

const readPreprocessing = (modelPath: string, overrides?: Parameters<typeof readAt>[1]) => readAt(locateModel(modelPath), overrides);

const dir = tempDir('prep');
const model = path.join(dir, 'model.onnx');
const target = { channels: 3, height: 4, width: 4 };

/** A 8x8 image: left half red (255,0,0), right half blue (0,0,255). */
function twoTone(): sharp.Sharp {
  const data = Buffer.alloc(8 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data.set(x < 4 ? [255, 0, 0] : [0, 0, 255], (y * 8 + x) * 3);
  return sharp(data, { raw: { width: 8, height: 8, channels: 3 } });
}

test('every supported format decodes to the same pixels (lossless ones exactly)', async () => {
  const prep = readPreprocessing(model, { size: [4, 4], resize: 'nearest', mean: [0, 0, 0], std: [1, 1, 1] });
  const formats: [string, (s: sharp.Sharp) => sharp.Sharp, number][] = [
    ['png', (s) => s.png(), 0], ['tiff', (s) => s.tiff({ compression: 'lzw' }), 0], ['webp', (s) => s.webp({ lossless: true }), 0],
    ['gif', (s) => s.gif(), 0.01], ['jpg', (s) => s.jpeg({ quality: 95 }), 0.1], ['avif', (s) => s.avif({ quality: 90 }), 0.15],
  ];
  for (const [ext, encode, tolerance] of formats) {
    const file = path.join(dir, `two.${ext}`);
    await encode(twoTone()).toFile(file);
    const px = await loadPixels(file, prep, target);
    assert.equal(px.width, 8);
    assert.equal(px.height, 8);
    const red = px.data.subarray(0, 16), blue = px.data.subarray(32, 48);
    assert.ok(Math.abs(red[0] - 1) <= tolerance && Math.abs(red[3]) <= tolerance, `${ext}: red channel ${red[0]} ${red[3]}`);
    assert.ok(Math.abs(blue[3] - 1) <= tolerance && Math.abs(blue[0]) <= tolerance, `${ext}: blue channel ${blue[0]} ${blue[3]}`);
  }
});

test('rescale and normalize follow preprocessor_config.json', async () => {
  const d = tempDir('prep-cfg');
  fs.writeFileSync(path.join(d, 'preprocessor_config.json'), JSON.stringify({
    do_resize: true, size: { height: 4, width: 4 }, resample: 0, do_rescale: true, rescale_factor: 1 / 255,
    do_normalize: true, image_mean: [0.5, 0.25, 0.5], image_std: [0.5, 0.25, 0.5],
  }));
  const prep = readPreprocessing(path.join(d, 'model.onnx'));
  assert.equal(prep.interpolation.value, 'nearest');
  const file = path.join(d, 'two.png');
  await twoTone().png().toFile(file);
  const px = await loadPixels(file, prep, target);
  assert.ok(Math.abs(px.data[0] - 1) < 1e-6);          // red: (1 - 0.5) / 0.5
  assert.ok(Math.abs(px.data[16] - -1) < 1e-6);        // green: (0 - 0.25) / 0.25
  assert.ok(Math.abs(px.data[32 + 3] - 1) < 1e-6);     // blue at the right half
});

test('shortest edge resize then center crop keeps the middle, as HF processors do', async () => {
  const d = tempDir('prep-crop');
  fs.writeFileSync(path.join(d, 'preprocessor_config.json'), JSON.stringify({
    size: { shortest_edge: 8 }, do_center_crop: true, crop_size: { height: 4, width: 4 }, resample: 0, image_mean: [0, 0, 0], image_std: [1, 1, 1],
  }));
  const prep = readPreprocessing(path.join(d, 'model.onnx'));
  // 16x8 image: columns 0-3 red, 4-11 green, 12-15 blue. Shortest edge 8: no resize; crop 4x4 -> columns 6..9 (green).
  const data = Buffer.alloc(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) data.set(x < 4 ? [255, 0, 0] : x < 12 ? [0, 255, 0] : [0, 0, 255], (y * 16 + x) * 3);
  const file = path.join(d, 'wide.png');
  await sharp(data, { raw: { width: 16, height: 8, channels: 3 } }).png().toFile(file);
  const px = await loadPixels(file, prep, target);
  assert.deepEqual(Array.from(px.data.subarray(16, 32)), new Array(16).fill(1), 'the crop is all green');
  assert.deepEqual(Array.from(px.data.subarray(0, 16)), new Array(16).fill(0));
});

test('grey and alpha images become the model channels; a 1-channel model gets grey', async () => {
  const prep = readPreprocessing(model, { size: [4, 4], mean: [0], std: [1] });
  const grey = path.join(dir, 'grey.png');
  await sharp(Buffer.alloc(64, 128), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(grey);
  const rgb = await loadPixels(grey, prep, target);
  assert.equal(rgb.data.length, 48);
  assert.ok(rgb.data.every((v) => Math.abs(v - 128 / 255) < 1e-6));
  const rgba = path.join(dir, 'rgba.png');
  await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 255, b: 0, alpha: 0.5 } } }).png().toFile(rgba);
  const fromAlpha = await loadPixels(rgba, prep, target);
  assert.ok(Math.abs(fromAlpha.data[16] - 1) < 1e-6, 'alpha is dropped, colour kept');
  const mono = await loadPixels(rgba, prep, { channels: 1, height: 4, width: 4 });
  assert.equal(mono.data.length, 16);
});

test('a preprocessing size that does not fit the model is refused with both sizes', async () => {
  const prep = readPreprocessing(model, { size: [5, 5] });
  const file = path.join(dir, 'two-size.png');
  await twoTone().png().toFile(file);
  await assert.rejects(loadPixels(file, prep, target), /preprocessing makes 5x5 images but the model takes 4x4/);
});

test('an image over the pixel limit is refused before decoding', async () => {
  // A PNG header announcing 20000 x 20000 pixels (4e8, over the limit) with no pixel data.
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(4); head.writeUInt32BE(body.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type), body])));
    return Buffer.concat([head, Buffer.from(type), body, crc]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(20000, 0); ihdr.writeUInt32BE(20000, 4); ihdr[8] = 8; ihdr[9] = 2;
  const file = path.join(dir, 'huge.png');
  fs.writeFileSync(file, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]));
  const prep = readPreprocessing(model, { size: [4, 4] });
  await assert.rejects(loadPixels(file, prep, target), /20000x20000 pixels, more than the limit/);
});

test('labels: config.json id2label, labels.txt, an explicit file, and defaults', () => {
  const d = tempDir('labels');
  const m = path.join(d, 'model.onnx');
  assert.deepEqual(readLabels(locateModel(m), 2), { names: ['class 0', 'class 1'], source: { defaulted: 2, folders: [d] } }, 'nothing names them: placeholders, counted');
  fs.writeFileSync(path.join(d, 'labels.txt'), 'cat\ndog\n');
  assert.deepEqual(readLabels(locateModel(m), 2), { names: ['cat', 'dog'], source: { file: path.join(d, 'labels.txt'), defaulted: 0, folders: [d] } });
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ id2label: { 0: 'tabby', 1: 'beagle' } }));
  assert.deepEqual(readLabels(locateModel(m), 2).source.file, path.join(d, 'config.json'));
  assert.deepEqual(readLabels(locateModel(m), 2).names, ['tabby', 'beagle']);
  fs.writeFileSync(path.join(d, 'other.txt'), 'a\nb\n');
  assert.deepEqual(readLabels(locateModel(m), 3, path.join(d, 'other.txt')), { names: ['a', 'b', 'class 2'], source: { file: path.join(d, 'other.txt'), defaulted: 1, folders: [d] } });
  assert.equal(describeDefaultNames(readLabels(locateModel(m), 3, path.join(d, 'other.txt')).source, 3),
    `class names are placeholders for 1 of 3 classes, shown as "class N" (${path.join(d, 'other.txt')} names fewer). Add the model's labels.txt (one name per line) or config.json to ${d}`);
  assert.equal(describeDefaultNames(readLabels(locateModel(m), 2).source, 2), undefined, 'every class named: no warning');
  fs.writeFileSync(path.join(d, 'preprocessor_config.json'), '{ broken');
  assert.throws(() => readPreprocessing(m), /preprocessor_config.json is not valid JSON/);
});

test('labels in a hub layout (onnx/model.onnx): both folders are searched, and the warning says to add labels at the root, as the preprocessing warning does', () => {
  const hub = tempDir('hub-labels');
  fs.mkdirSync(path.join(hub, 'onnx'));
  fs.writeFileSync(path.join(hub, 'onnx', 'model.onnx'), '');
  const loc = locateModel(hub);
  const { source } = readLabels(loc, 2);
  assert.deepEqual(source, { defaulted: 2, folders: [path.join(hub, 'onnx'), hub] });
  assert.equal(describeDefaultNames(source, 2), 'class names are placeholders for all 2 classes, shown as "class N" (no labels file, config.json with id2label ' +
    `or label_names, or labels.txt in ${path.join(hub, 'onnx')} or ${hub}). Add the model's labels.txt (one name per line) or config.json to ${hub}`);
  assert.ok(describeDefaults(readAt(loc))!.endsWith(`to ${hub}`), 'the preprocessing warning names the same folder');
  fs.writeFileSync(path.join(hub, 'labels.txt'), 'cat\ndog\n');
  assert.deepEqual(readLabels(loc, 2), { names: ['cat', 'dog'], source: { file: path.join(hub, 'labels.txt'), defaulted: 0, folders: [path.join(hub, 'onnx'), hub] } }, 'labels.txt at the root, where the warning said, names them');
});
