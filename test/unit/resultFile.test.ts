// The folder panel's reader of a growing result file (src/extension/resultFile.ts): only appended
// whole lines are read, a line being written waits, bad lines are skipped with their line numbers,
// a file that shrank is read again, and the summary is the engine's report. A folder of shard files,
// or one run's shard set, is followed as one result: new files and appended lines show up, an image
// in two files counts once (its newest line), and files of other settings give an error.
import test from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ANALYSIS_RECORDS, batchSettings } from '../../src/engine/batch/records';
import { filesOf, findRecord, folderOfResultFile, imagesLeft, reportImages, ResultFileReader, resultReader, ResultSetReader } from '../../src/extension/resultFile';
import { resultFileNextTo, shardSetOf } from '../../src/engine/batch/schema';
import { expandResults } from '../../src/engine/batch/resultSet';
import { initialFolderState, similarityMatrix, similarityView, similarTo } from '../../webview/folderState';
import { cosine } from '../../src/engine/batch/patterns';
import { summarize } from '../../src/engine/batch/report';
import { records } from '../batch/records';
import { fakeBatchLines, fakeReport } from './fixtures/fakeBatch';
import type { BatchRecord } from '../../src/engine/batch/schema';
import { firstSchema, parseResultText } from '../../src/engine/batch/resultFile';

test('result file reader: incremental, partial lines, bad lines, shrink', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-results-'));
  try {
    const file = path.join(dir, 'shop.neuron-path.jsonl');
    const lines = fakeBatchLines().map((l) => JSON.stringify(l));
    const reader = new ResultFileReader(file);
    assert.equal(await reader.read(), false, 'no file yet');
    assert.equal(reader.summary().report, undefined);

    writeFileSync(file, `${lines.slice(0, 3).join('\n')}\n${lines[3].slice(0, 40)}`);
    assert.equal(await reader.read(), true);
    assert.equal(reader.lineCount, 3, 'the line being written waits');
    assert.equal(reader.summary().report?.images, 3);
    assert.equal(reader.summary().report?.patterns.classes.length, 3);
    assert.equal(reader.summary(), reader.summary(), 'summarised once per change');

    appendFileSync(file, `${lines[3].slice(40)}\nnot json\n${lines.slice(4).join('\n')}\n`);
    assert.equal(await reader.read(), true);
    const { report, skipped } = reader.summary();
    assert.equal(report?.images, 12);
    assert.equal(report?.errors.length, 1);
    assert.deepEqual(skipped.map((s) => s.line), [5]);
    // the summary does not need the per-neuron arrays, which the reader drops
    assert.equal(await reader.read(), false);

    writeFileSync(file, `${lines[0]}\n`);
    assert.equal(await reader.read(), true);
    assert.equal(reader.summary().report?.images, 1);
    assert.deepEqual(reader.summary().skipped, []);

    // where the file of a folder is, and back
    mkdirSync(path.join(dir, 'shop'));
    assert.equal(resultFileNextTo(path.join(dir, 'shop') + path.sep), file);
    assert.equal(await folderOfResultFile(file), path.join(dir, 'shop'));
    assert.equal(await folderOfResultFile(path.join(dir, 'other.jsonl')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shard files: a folder or one run\'s shard set read as one result while they grow', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-shards-'));
  try {
    const lines = fakeBatchLines();                           // 12 records and an error line
    const shard = (k: number) => path.join(dir, `shop.neuron-path.shard-${k}-of-3.jsonl`);
    const text = (ls: typeof lines) => ls.map((l) => `${JSON.stringify(l)}\n`).join('');
    writeFileSync(shard(0), text(lines.slice(0, 5)));
    writeFileSync(path.join(dir, 'other.jsonl'), text(lines.slice(0, 1)));
    const set = shardSetOf(shard(0))!;
    assert.equal(set, path.join(dir, 'shop.neuron-path.shard-*-of-3.jsonl'));
    assert.deepEqual(await filesOf(set), [shard(0)], 'only this run\'s shard files');
    assert.equal(shardSetOf(path.join(dir, 'other.jsonl')), undefined);
    const reader = resultReader(set);
    assert.ok(reader instanceof ResultSetReader);
    assert.ok(resultReader(shard(0)) instanceof ResultFileReader);
    assert.equal(await reader.read(), true);
    assert.equal(reader.summary().report?.images, 5);

    // another task starts writing; one appends; a line is cut off
    writeFileSync(shard(1), `${text(lines.slice(5, 9))}not json\n`);
    appendFileSync(shard(0), text(lines.slice(9, 10)));
    assert.equal(await reader.read(), true);
    const mid = reader.summary();
    assert.equal(mid.report?.images, 10);
    assert.deepEqual(mid.report?.files, [shard(0), shard(1)]);
    assert.deepEqual(mid.skipped, [{ line: 5, reason: `${path.basename(shard(1))}: not valid JSON (cut off by a stopped run?)` }]);
    assert.equal(await reader.read(), false);

    // a re-run task wrote an image that is also in shard 0: counted once, newest line
    const rerun = { ...lines[0], jas: 42, analysedAt: '2999-01-01T00:00:00.000Z' };
    writeFileSync(shard(2), text([...lines.slice(10), rerun]));
    appendFileSync(shard(0), text([{ ...lines[0], analysedAt: '2000-01-01T00:00:00.000Z' }]));
    // shard 0 changed last, so it is read last: its line without a time must still lose
    const later = new Date(Date.now() + 60_000);
    utimesSync(shard(0), later, later);
    assert.equal(await reader.read(), true);
    const all = reader.summary().report!;
    assert.equal(all.images, 12);
    assert.equal(all.errors.length, 1);
    assert.deepEqual(all.duplicates, { images: 1, lines: 3 });
    assert.equal((await findRecord(set, (lines[0] as BatchRecord).image.path))?.jas, 42, 'the image panel gets the newest record of the set');
    const folderReader = resultReader(dir);
    await folderReader.read();
    assert.equal(folderReader.summary().report?.files?.length, 4, 'a folder: all its .jsonl files');

    // a shard made with other settings: not mixed
    const other = batchSettings('b'.repeat(64), { modelPath: '/models/fake.onnx' }, { steps: 20 });
    writeFileSync(shard(1), text([{ ...lines[5], batch: other }]));
    await reader.read();
    assert.match(reader.summary().error ?? '', /holds results made with other settings than .*the model \/models\/fake\.onnx changed \(sha256 a{12} in .*, b{12} in /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('records of the wrong shape are skipped and counted by the panel reader, and never opened in the image panel', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-results-bad-'));
  try {
    const file = path.join(dir, 'shop.neuron-path.jsonl');
    const [a, b, ...rest] = fakeBatchLines().filter((l): l is BatchRecord => l.schema === 'neuron-path/1');
    const huge = { ...a, path: a.path.map((n, l) => (l === 0 ? { ...n, neuron: 1e9 } : n)) };
    const nullPrediction = { ...b, prediction: null };
    writeFileSync(file, `${[huge, nullPrediction, ...rest].map((l) => JSON.stringify(l)).join('\n')}\n`);
    const reader = new ResultFileReader(file);
    assert.equal(await reader.read(), true);
    const { report, skipped } = reader.summary();
    assert.equal(report?.images, rest.length);
    assert.deepEqual(skipped.map((s) => s.line), [1, 2]);
    assert.match(skipped[0].reason, /a path neuron out of range/);
    assert.match(skipped[1].reason, /no prediction/);
    assert.equal(await findRecord(file, a.image.path), undefined, 'the image panel gets no record with a neuron of 1e9');
    assert.equal(await findRecord(file, b.image.path), undefined);
    assert.equal((await findRecord(file, rest[0].image.path))?.image.path, rest[0].image.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('similarity matrix: at most the classes with most images', () => {
  const report = fakeReport();
  assert.deepEqual(similarityView(report), { indices: [0, 1, 2], hidden: 0 });
  assert.deepEqual(similarityView(report, 2), { indices: [0, 1], hidden: 1 });
  assert.deepEqual(similarityView(undefined), { indices: [], hidden: 0 });
});

test('the panel\'s similarity: the shown classes\' matrix from the patterns, the selected class\'s most similar from the report', () => {
  // Class 0: paths [1,2] and [1,3]; class 1: [1,2]; class 2: [4,5] (shares no neuron).
  const lines = records([{ path: [1, 2], trueClass: 0 }, { path: [1, 3], trueClass: 0 }, { path: [1, 2], trueClass: 1 }, { path: [4, 5], trueClass: 2 }]);
  const report = summarize('/r.jsonl', { lines, skipped: [], endsWithNewline: true }).report;
  const [a, b, c] = report.patterns.classes;
  assert.deepEqual(similarityMatrix(report, [0, 2]), [[cosine(a, a), cosine(a, c)], [cosine(c, a), cosine(c, c)]]);
  const state = (key: string) => ({ ...initialFolderState(), report, selectedClass: key });
  assert.deepEqual(similarTo(state('class:0')), [{ label: 'one', similarity: cosine(a, b) }]);
  assert.deepEqual(similarTo(state('class:2')), []);
  assert.deepEqual(similarTo(state('class:9')), []);
  assert.equal(report.schema, 'neuron-path/report-2');
});

test('top-K paths and influence-pattern baselines are checked like the rest: a set out of range or of the wrong size is skipped', () => {
  const [a, b, c, d] = fakeBatchLines().filter((l): l is BatchRecord => l.schema === 'neuron-path/1');
  const sets = (r: BatchRecord, k: number, bad?: number) => r.path.map((n, l) => Array.from({ length: k }, (_, i) => ({ ...n, neuron: l === 2 && i === 1 && bad !== undefined ? bad : (n.neuron + i) % 64 })));
  const topK = (r: BatchRecord, k: number, bad?: number) => ({ k, layers: sets(r, k, bad), jas: 0.5, remove: { probability: 0.1, deviation: -0.6 }, enhance: { probability: 0.9, deviation: 0.2 } });
  const good = { ...a, topK: topK(a, 2), baselines: { ...a.baselines, influencePattern: { ...a.baselines.activation!, jas: 0.01 } } };
  const outOfRange = { ...b, topK: topK(b, 2, 64) };
  const ragged = { ...c, topK: { ...topK(c, 3), layers: sets(c, 3).map((s, l) => (l === 4 ? s.slice(0, 2) : s)) } };
  const badIp = { ...d, baselines: { ...d.baselines, influencePattern: { ...d.baselines.activation!, remove: 2 } } };
  const read = parseResultText([good, outOfRange, ragged, badIp].map((l) => JSON.stringify(l)).join('\n'), { kind: ANALYSIS_RECORDS });
  assert.equal(read.lines.length, 1);
  assert.deepEqual(read.skipped.map((s) => [s.line, s.reason]), [[2, 'a malformed top-K path'], [3, 'a malformed top-K path'], [4, 'a malformed influencePattern baseline']]);
});

test('expandResults: a file, a folder, a shard set (this run\'s shards only), a glob over shard sets; errors name what is missing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-expand-'));
  try {
    const file = (name: string) => { const f = path.join(dir, name); writeFileSync(f, '\n'); return f; };
    const a0 = file('a.shard-0-of-2.jsonl'), a1 = file('a.shard-1-of-2.jsonl'), b0 = file('b.shard-0-of-2.jsonl');
    file('a.shard-x-of-2.jsonl');
    const sorted = (xs: string[]) => [...xs].sort();
    assert.deepEqual(await expandResults([a0]), [a0]);
    assert.deepEqual(sorted(await expandResults([path.join(dir, 'a.shard-*-of-2.jsonl')])), [a0, a1], 'digits only');
    assert.deepEqual(sorted(await expandResults([path.join(dir, '*.shard-*-of-2.jsonl')])), sorted([a0, a1, b0, path.join(dir, 'a.shard-x-of-2.jsonl')]), 'a glob before the shard part is a glob');
    assert.equal((await expandResults([dir])).length, 4);
    await assert.rejects(expandResults([path.join(dir, 'none.jsonl')]), /result file .*none\.jsonl does not exist/);
    await assert.rejects(expandResults([path.join(dir, 'c.shard-*-of-2.jsonl')]), /no result file matches/);
    assert.deepEqual(await expandResults([path.join(dir, 'c.shard-*-of-2.jsonl')], { whileWritten: true }), [], 'a run that has not written yet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imagesLeft: the images of the folder a result holds no line of (records and error lines count as done)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-left-'));
  try {
    const folder = path.join(dir, 'shop');
    const lines = fakeBatchLines(4, folder);
    for (const l of lines) {
      const image = l.schema === 'neuron-path/1' ? l.image.path : l.image;
      mkdirSync(path.dirname(image), { recursive: true });
      writeFileSync(image, 'png');
    }
    const { report } = summarize(`${folder}.neuron-path.jsonl`, parseResultText(lines.map((l) => JSON.stringify(l)).join('\n'), { kind: ANALYSIS_RECORDS }));
    assert.equal(imagesLeft(folder, reportImages(report)), 0, '12 records and one error line: nothing left');
    writeFileSync(path.join(folder, 'coat', 'coat-9.png'), 'png');
    writeFileSync(path.join(folder, 'new.jpg'), 'jpg');
    assert.equal(imagesLeft(folder, reportImages(report)), 2, 'two images added since the run');
    assert.equal(imagesLeft(folder, reportImages(undefined)), 15, 'no result yet: every image');
    assert.equal(imagesLeft(path.join(dir, 'gone'), reportImages(report)), undefined, 'a folder that cannot be scanned: not known');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('firstSchema: the kind of result a file holds, from its first record only', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'np-schema-'));
  try {
    const file = (name: string, text: string) => { const f = path.join(dir, name); writeFileSync(f, text); return f; };
    const intervention = '{"schema":"neuron-path/intervention-1","image":{"path":"a.png"}}';
    assert.equal(await firstSchema(file('blank-first.jsonl', `\n  \n${intervention}\n{"schema":"neuron-path/1"}\n`)), 'neuron-path/intervention-1');
    assert.equal(await firstSchema(file('no-newline.jsonl', '{"schema":"neuron-path/1"}')), 'neuron-path/1');
    // a first line longer than one read chunk
    assert.equal(await firstSchema(file('long.jsonl', `{"schema":"neuron-path/neurons-1","pad":"${'x'.repeat(3 << 20)}"}\n`)), 'neuron-path/neurons-1');
    assert.equal(await firstSchema(file('empty.jsonl', '')), undefined);
    assert.equal(await firstSchema(file('not-json.jsonl', `not json\n${intervention}\n`)), undefined, 'only the first record counts');
    assert.equal(await firstSchema(file('no-schema.jsonl', '{"image":"a.png"}\n')), undefined);
    assert.equal(await firstSchema(path.join(dir, 'missing.jsonl')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
