// Datasets as people make them: folders of symbolic links (to images, to class folders, outside the
// dataset, in loops, to nothing) and names that are not UTF-8. Made at run time in a temp folder
// (links and such names do not travel well in git), analysed by a real Engine (the tiny
// cls_op17_dynamic fixture) through the folder runner and the neuron scan.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import {
  analyzeFolder, ERROR_SCHEMA, readLines, scanFolder, scanNotes, type BatchError, type BatchLine, type BatchRecord,
} from '../../src/engine/batch/index';
import { Engine, type ModelOptions } from '../../src/engine/index';
import { NEURON_RECORDS, scanFolderNeurons, type NeuronScanLine } from '../../src/engine/neurons/index';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const modelOptions: ModelOptions = { modelPath: path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx'), cacheDir: tempDir('links-cache'), threads: 1 };
const fast = { steps: 2, baselines: [] };
let engine: Engine;
test.before(async () => { engine = await Engine.open(modelOptions); });
test.after(async () => { await engine.dispose(); });

async function png(file: string | Buffer, shade: number): Promise<void> {
  const bytes = await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: shade, g: 255 - shade, b: 60 } } }).png().toBuffer();
  fs.writeFileSync(file, bytes);
}

const isError = (l: BatchLine | NeuronScanLine): l is BatchError => l.schema === ERROR_SCHEMA;
const sha256 = (file: string | Buffer) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * data/class_0/{a,b}.png, data/class_0/z-link.png -> a.png, data/class_0/loop -> .. (the dataset),
 * data/1/c.png, data/1/outside.png -> real/shared.png (outside the dataset), data/1/gone.png -> nothing,
 * data/class_0_again -> class_0, data/2 -> real/extra (a class folder outside), data/broken-class -> nothing,
 * data/notes.txt -> nothing (not an image: not part of the dataset).
 */
async function linkedDataset(): Promise<{ data: string; real: string }> {
  const root = tempDir('links');
  const data = path.join(root, 'data'), real = path.join(root, 'real');
  for (const d of ['data/class_0', 'data/1', 'real/extra']) fs.mkdirSync(path.join(root, d), { recursive: true });
  await png(path.join(data, 'class_0', 'a.png'), 10);
  await png(path.join(data, 'class_0', 'b.png'), 60);
  await png(path.join(data, '1', 'c.png'), 110);
  await png(path.join(real, 'shared.png'), 160);
  await png(path.join(real, 'extra', 'e.png'), 210);
  fs.symlinkSync('a.png', path.join(data, 'class_0', 'z-link.png'));
  fs.symlinkSync('..', path.join(data, 'class_0', 'loop'));
  fs.symlinkSync(path.join(real, 'shared.png'), path.join(data, '1', 'outside.png'));
  fs.symlinkSync('missing.png', path.join(data, '1', 'gone.png'));
  fs.symlinkSync('class_0', path.join(data, 'class_0_again'));
  fs.symlinkSync(path.join(real, 'extra'), path.join(data, '2'));
  fs.symlinkSync(path.join(root, 'nowhere'), path.join(data, 'broken-class'));
  fs.symlinkSync('none.txt', path.join(data, 'notes.txt'));
  return { data, real };
}

test('a folder of symbolic links: each real image once, links outside followed, loops stopped, links to nothing reported', async () => {
  const { data, real } = await linkedDataset();
  const scan = scanFolder(data, engine.info.labels);
  const rel = (p: string) => path.relative(data, p);
  assert.deepEqual(scan.items.map((i) => [rel(i.image), i.folderLabel, i.problem !== undefined]), [
    ['1/c.png', '1', false], ['2/e.png', '2', false], ['class_0/a.png', 'class_0', false], ['broken-class', null, true],
    ['1/gone.png', '1', true], ['class_0/b.png', 'class_0', false],
    ['1/outside.png', '1', false],
  ]);
  assert.deepEqual(scan.classes.map((c) => [c.folder, c.trueClass, c.count]), [['1', 1, 3], ['2', 2, 1], ['class_0', 0, 2]]);
  assert.deepEqual(scan.again.map((a) => [rel(a.path), rel(a.first), a.loop]),
    [['class_0/loop', '', true], ['class_0/z-link.png', 'class_0/a.png', false], ['class_0_again', 'class_0', false]]);
  assert.deepEqual(scan.dangling.map(rel), ['broken-class', '1/gone.png']);
  assert.match(scanNotes(scan).join('\n'), /2 files or folders reached again through symbolic links, each taken once: class_0\/z-link\.png \(as class_0\/a\.png\), class_0_again \(as class_0\)\n1 symbolic link loop not followed again: class_0\/loop -> \.\n2 symbolic links to nothing, written as error lines: broken-class, 1\/gone\.png/);

  const out = path.join(tempDir('links-out'), 'run.jsonl');
  const first = await analyzeFolder(engine, { folder: data, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([first.total, first.analysed, first.failed], [7, 7, 2]);
  const lines = readLines(out).lines;
  const records = lines.filter((l): l is BatchRecord => !isError(l));
  // Every real image once, by its content: a, b, c, the one outside and the class folder outside.
  const shas = ['data/class_0/a.png', 'data/class_0/b.png', 'data/1/c.png', 'real/shared.png', 'real/extra/e.png'].map((f) => sha256(path.join(data, '..', f)));
  assert.deepEqual(records.map((r) => r.image.sha256).sort(), [...shas].sort());
  assert.equal(records.find((r) => r.image.sha256 === sha256(path.join(real, 'shared.png')))?.trueClass, 1);
  const errors = lines.filter(isError);
  assert.deepEqual(errors.map((e) => [rel(e.image), e.sha256]), [['broken-class', null], ['1/gone.png', null]]);
  assert.match(errors[0].error, /folder .*broken-class is a symbolic link to .*nowhere, which does not exist/);
  assert.match(errors[1].error, /1\/gone\.png is a symbolic link to missing\.png, which does not exist/);

  const again = await analyzeFolder(engine, { folder: data, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([again.resumed, again.analysed], [7, 0], 'nothing is redone, the links to nothing included');

  // The neuron scan walks the same way.
  const scanOut = path.join(tempDir('links-neurons'), 'scan.jsonl');
  const neurons = await scanFolderNeurons(engine, { folder: data, out: scanOut, units: [{ layer: 0, neuron: 3 }], modelOptions });
  assert.deepEqual([neurons.total, neurons.failed], [7, 2]);
  const scanned = readLines(scanOut, NEURON_RECORDS).lines as unknown as NeuronScanLine[];
  assert.deepEqual(scanned.filter((l) => !isError(l)).map((l) => (l as { image: { sha256: string } }).image.sha256).sort(), [...shas].sort());
});

test('names that are not UTF-8 are analysed by their bytes, recorded losslessly, shown escaped, and resumed', async () => {
  const data = tempDir('bytes');
  const at = (...parts: (string | number[])[]) => Buffer.concat([Buffer.from(data), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))]);
  fs.mkdirSync(at('/caf', [0xe9]));                             // Latin-1 "café": not UTF-8
  fs.mkdirSync(at('/plain'));
  const latin = at('/caf', [0xe9], '/na', [0xef], 've.png');
  const ff = at('/plain/x', [0xff], '.png');
  const lookalike = at('/plain/x\\xFF.png');                    // a UTF-8 name that reads like the one above
  await png(latin, 30);
  await png(ff, 90);
  await png(lookalike, 150);

  const out = path.join(tempDir('bytes-out'), 'run.jsonl');
  const first = await analyzeFolder(engine, { folder: data, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([first.total, first.analysed, first.failed], [3, 3, 0]);
  const records = readLines(out).lines as BatchRecord[];
  const byPath = new Map(records.map((r) => [r.image.pathBase64 !== undefined ? Buffer.from(r.image.pathBase64, 'base64').toString('hex') : r.image.path, r]));
  const rLatin = byPath.get(latin.toString('hex'))!, rFf = byPath.get(ff.toString('hex'))!, rLook = byPath.get(lookalike.toString('utf8'))!;
  assert.ok(rLatin && rFf && rLook, `records by path: ${[...byPath.keys()].join(', ')}`);
  assert.equal(rLatin.image.path, `${data}/caf\\xE9/na\\xEFve.png`);
  assert.equal(rLatin.folderLabel, 'caf\\xE9');
  assert.equal(rLatin.image.sha256, sha256(latin));
  assert.equal(rFf.image.path, `${data}/plain/x\\xFF.png`);
  assert.equal(rLook.image.path, rFf.image.path, 'the two names read the same ...');
  assert.equal(rLook.image.pathBase64, undefined, '... but only the one that is not UTF-8 carries its bytes');
  assert.notEqual(rLook.image.sha256, rFf.image.sha256);

  const again = await analyzeFolder(engine, { folder: data, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([again.resumed, again.analysed], [3, 0], 'each image is recognised as done by its bytes');
  fs.writeFileSync(latin, await sharp({ create: { width: 12, height: 12, channels: 3, background: '#123456' } }).png().toBuffer());
  const changed = await analyzeFolder(engine, { folder: data, out, modelOptions, analyzeOptions: fast });
  assert.deepEqual([changed.resumed, changed.analysed], [2, 1], 'a changed image under such a name is analysed again');
});
