// `neuron-path batch` and `neuron-path report` as a user runs them: the bundled CLI in a child
// process on a tiny folder and the cls_op17_dynamic fixture model.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import type { BatchLine, BatchRecord } from '../../src/engine/batch/schema';
import { batchKillingAWorker, commandProcess, stopped } from '../helpers/cli';
import { assertSameSummary, FIXTURES, REPO, tempDir } from '../helpers/fixtures';

const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const model = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');
const env = { ...process.env, NEURON_PATH_CACHE: tempDir('batch-cli-cache') };
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
const lines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as BatchLine);
const imageOf = (l: BatchLine) => (l.schema === 'neuron-path/1' ? l.image.path : l.image);

async function folder(perClass: number, broken = true): Promise<string> {
  const dir = tempDir('batch-cli');
  for (const [cls, base] of [['class_0', 40], ['class_1', 160]] as const) {
    fs.mkdirSync(path.join(dir, cls));
    for (let i = 0; i < perClass; i++) {
      await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: base + 7 * i, g: 255 - base, b: 13 * i } } }).png().toFile(path.join(dir, cls, `${i}.png`));
    }
  }
  if (broken) fs.writeFileSync(path.join(dir, 'class_1', 'broken.jpg'), 'not a jpeg');
  return dir;
}

test('batch writes one line per image with progress, reports a broken image, and resumes', async () => {
  const dir = await folder(2);
  const out = path.join(tempDir('batch-cli-out'), 'r.jsonl');
  const r = cli('batch', dir, '--model', model, '--out', out, '--threads', '1', '--steps', '5', '--random', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /5 images in .* \(2 class folders, 2 matched to the model's labels\)/);
  assert.match(r.stderr, /^0\/5 images$/m, 'no rate before the first image');
  assert.match(r.stderr, /^5\/5 images, [\d.]+ img\/s, 1 failed$/m, 'no time left at the end');
  assert.match(r.stderr, /skipped .*broken\.jpg: cannot read/);
  assert.match(r.stderr, /done: 5 images \(5 analysed now, 0 before, 1 failed\)/);
  const first = lines(out);
  assert.equal(first.length, 5);
  assert.equal(first.filter((l) => l.schema === 'neuron-path/1-error').length, 1);
  const rec = first.find((l): l is BatchRecord => l.schema === 'neuron-path/1')!;
  assert.equal(rec.settings.steps, 5);
  assert.equal(rec.trueClass, Number(rec.folderLabel!.slice(-1)));
  assert.equal(typeof rec.manipulation.remove.top1, 'number');

  const again = cli('batch', dir, '--model', model, '--out', out, '--threads', '1', '--steps', '5', '--random', '2');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /5 images already in .*; resuming/);
  assert.deepEqual(lines(out).map(imageOf), first.map(imageOf), 'nothing added');

  const other = cli('batch', dir, '--model', model, '--out', out, '--steps', '6', '--random', '2');
  assert.equal(other.status, 1);
  assert.match(other.stderr, /holds results made with other settings \(analyze.steps 5 in the file, 6 now\)/);
});

test('report prints the comparison, the class patterns, the similarity and the held-out pruning curve; --json has them too', async () => {
  const dir = await folder(2);
  const out = path.join(tempDir('batch-cli-rep'), 'r.jsonl');
  assert.equal(cli('batch', dir, '--model', model, '--out', out, '--threads', '1', '--steps', '4', '--random', '2', '--top-k', '2', '-q').status, 0);
  const rec = (lines(out) as BatchRecord[]).find((l) => l.schema === 'neuron-path/1')!;
  assert.equal(rec.topK!.k, 2);
  assert.equal(rec.batch.analyze.topK, 2);
  const json = path.join(path.dirname(out), 'report.json');
  const r = cli('report', out, '--prune', '0.5,100%', '--keep', '2', '--holdout', '50%', '--layers', '2', '--json', json, '--threads', '1', '--model', model);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /4 images, 1 could not be analysed/);
  assert.match(r.stdout, /Classes {4}2 \(grouped by folder class\); clean top-1 accuracy [\d.]+% on 4 images/);
  for (const row of ['neuron path', 'activation', 'per-layer IG', 'influence pattern', 'random \\(mean\\)']) assert.match(r.stdout, new RegExp(`\\n  ${row} +4 `));
  assert.match(r.stdout, /Top path neurons per class/);
  assert.match(r.stdout, /class 0 \(2 images\)\n {4}L0 /);
  assert.match(r.stdout, /Class similarity/);
  assert.match(r.stdout, /\n {2}class 0 +1\.00 +[\d.]+\n/);
  assert.match(r.stdout, /Pruning: in the first 2 of 3 blocks .* "path" spares the class's 2 most frequent path neurons .* chosen on 50\.0% of each class's images, accuracy on the other 50\.0% \(2 images\)/);
  assert.match(r.stdout, /\n {2}50% +[\d.]+% +[\d.]+% +[\d.]+% +[\d.]+% +[\d.]+/);
  assert.match(r.stdout, /\n {2}100% /);
  const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(rep.images, 4);
  assert.deepEqual(rep.comparison.map((m: { method: string }) => m.method), ['path', 'activation', 'ig', 'ip', 'random']);
  assert.equal(rep.patterns.classes.length, 2);
  assert.deepEqual(rep.pruning.points.map((p: { fraction: number }) => p.fraction), [0.5, 1]);
  assert.deepEqual([rep.pruning.holdout, rep.pruning.layers, rep.pruning.images], [0.5, 2, 2]);
  // Kept neurons count every neuron of the top-2 sets of the chosen image (2 per block, first 2 blocks).
  for (const c of rep.pruning.classes) assert.deepEqual(c.kept.path.map((l: number[]) => l.length), [2, 2]);

  const plain = cli('report', out);
  assert.equal(plain.status, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /Pruning/, 'pruning only on request');
});

test('--jobs 2 runs two worker processes and gives the same records as one', async () => {
  const dir = await folder(3, false);
  const one = path.join(tempDir('batch-cli-j1'), 'r.jsonl'), two = path.join(tempDir('batch-cli-j2'), 'r.jsonl');
  assert.equal(cli('batch', dir, '--model', model, '--out', one, '--steps', '4', '--random', '2', '-q').status, 0);
  const r = cli('batch', dir, '--model', model, '--out', two, '--steps', '4', '--random', '2', '--jobs', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /in 2 worker processes/);
  const key = (f: string) => Object.fromEntries((lines(f) as BatchRecord[]).map((l) => [l.image.path, `${l.path.map((n) => n.neuron).join(',')} ${l.jas.toFixed(6)}`]));
  assert.deepEqual(key(two), key(one));
});

test('Ctrl-C stops after the image in progress; the same command resumes and each image appears once', async () => {
  const dir = await folder(6, false);
  const out = path.join(tempDir('batch-cli-int'), 'r.jsonl');
  const args = [BIN, 'batch', dir, '--model', model, '--out', out, '--threads', '1', '--steps', '60', '--random', '2'];
  const child = spawn(process.execPath, args, { env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  // One Ctrl-C (a second one would end the process at once, as usual), once a line is written; the
  // run (the command's process, neuron-path's child) is stopped (SIGSTOP) while the lines are counted,
  // so the Ctrl-C surely comes with images left; neuron-path passes it on.
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  while (!(fs.existsSync(out) && fs.readFileSync(out, 'utf8').length) && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  const command = commandProcess(child.pid!);
  process.kill(command, 'SIGSTOP');
  await stopped(command);
  const before = lines(out).length;
  if (before <= 10) child.kill('SIGINT');
  process.kill(command, 'SIGCONT');
  const code = await exited;
  assert.ok(before <= 10, `${before} of 12 images were done when the first line was seen: too few left to stop`);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopped: \d+\/12 images in .*; run the same command again to resume/);
  const written = lines(out).length;
  assert.ok(written >= 1 && written < 12, `${written} lines after the stop`);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const all = lines(out).map(imageOf);
  assert.equal(all.length, 12);
  assert.equal(new Set(all).size, 12);
});

test('usage errors exit 2, missing files exit 1', () => {
  assert.equal(cli('batch').status, 2);
  const j = cli('batch', '/tmp', '--json', 'x.json');
  assert.equal(j.status, 2);
  assert.match(j.stderr, /batch writes its records with --out FILE.jsonl/);
  assert.match(cli('batch', '/tmp', '--jobs', '0').stderr, /--jobs must be an integer >= 1/);
  const p = cli('report', '/nonexistent.jsonl', '--prune', '2');
  assert.equal(p.status, 2);
  assert.match(p.stderr, /--prune takes fractions in 0..1/);
  assert.match(cli('report', '/nonexistent.jsonl', '--prune', '0.5', '--holdout', '1').stderr, /--holdout takes one fraction in \[0, 1\)/);
  assert.match(cli('analyze', 'x.png', '--top-k', '0').stderr, /--top-k must be an integer from 1 to 64, got '0'/);
  assert.equal(cli('report').status, 2);
  const missing = cli('report', '/nonexistent.jsonl');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /result file \/nonexistent.jsonl does not exist/);
  const help = cli('--help');
  assert.match(help.stdout, /neuron-path batch DIR \[--out FILE.jsonl\]/);
  assert.match(help.stdout, /neuron-path report RESULTS\.\.\. /);
});

test('batch --shard splits a folder into files that report reads as one (folder or glob); newest line wins; other settings refused', async () => {
  const dir = await folder(3);
  const outDir = tempDir('batch-cli-shards');
  const base = path.join(outDir, 'r.jsonl');
  const opts = ['--model', model, '--threads', '1', '--steps', '4', '--random', '2', '-q'];
  for (let k = 0; k < 3; k++) {
    const r = cli('batch', dir, ...opts, '--out', base, '--shard', `${k}/3`);
    assert.equal(r.status, 0, r.stderr);
  }
  const files = fs.readdirSync(outDir).sort();
  assert.ok(files.every((f) => /^r\.shard-[0-2]-of-3\.jsonl$/.test(f)), files.join());
  const single = path.join(tempDir('batch-cli-single'), 'one.jsonl');
  assert.equal(cli('batch', dir, ...opts, '--out', single).status, 0);
  const json = (...args: string[]) => {
    const out = path.join(tempDir('batch-cli-json'), 'r.json');
    const r = cli('report', ...args, '--json', out);
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, report: JSON.parse(fs.readFileSync(out, 'utf8')) };
  };
  const one = json(single).report;
  const all = json(outDir);
  assert.match(all.stdout, /\(\d result files\): 6 images, 1 could not be analysed/);
  assertSameSummary(all.report.comparison, one.comparison, 'comparison');
  assert.deepEqual(all.report.patterns.classes.map((c: { count: number }) => c.count), one.patterns.classes.map((c: { count: number }) => c.count));
  assert.equal(json(path.join(outDir, 'r.shard-*-of-3.jsonl')).report.images, 6, 'a quoted glob');
  // a shard run again into another file: its images count once, and the report says so
  const again = path.join(outDir, 'again.jsonl');
  assert.equal(cli('batch', dir, ...opts, '--out', again, '--limit', '2').status, 0);
  const dup = json(outDir);
  assert.equal(dup.report.images, 6);
  assert.match(dup.stdout, /2 images had more than one line \(4 in all, e\.g\. from a re-run shard\): the newest line of each is used/);
  const merged = path.join(tempDir('batch-cli-merged'), 'm.jsonl');
  assert.equal(cli('report', outDir, '--merged', merged).status, 0);
  assert.equal(lines(merged).length, 7, 'one line per image, the broken one included');
  assert.ok(lines(merged).some((l) => l.schema === 'neuron-path/1' && l.topScores !== undefined), '--merged keeps whole records (not the slim ones a summary reads)');
  const notResults = path.join(tempDir('batch-cli-merged'), 'events.jsonl');
  fs.writeFileSync(notResults, '{"event":"login"}\n');
  assert.match(cli('report', outDir, '--merged', notResults).stderr, /events\.jsonl is not a neuron-path result file/);
  assert.equal(fs.readFileSync(notResults, 'utf8'), '{"event":"login"}\n', 'left as it was');
  // a line of the wrong shape in one shard file is skipped and counted, naming the file
  fs.appendFileSync(path.join(outDir, 'r.shard-1-of-3.jsonl'), '{"schema":"neuron-path/1","label":"\\u001b]0;pwned\\u0007"}\n');
  const cut = cli('report', outDir);
  assert.equal(cut.status, 0, cut.stderr);
  assert.match(cut.stderr, /r\.shard-1-of-3\.jsonl: 1 line skipped: line \d+ \(no model/);
  fs.writeFileSync(path.join(outDir, 'r.shard-1-of-3.jsonl'), fs.readFileSync(path.join(outDir, 'r.shard-1-of-3.jsonl'), 'utf8').split('\n').slice(0, -2).join('\n') + '\n');
  // other settings are not mixed in
  assert.equal(cli('batch', dir, ...opts, '--steps', '5', '--out', path.join(outDir, 'other.jsonl'), '--limit', '1').status, 0);
  const mixed = cli('report', outDir);
  assert.equal(mixed.status, 1);
  assert.match(mixed.stderr, /other\.jsonl holds results made with other settings than .* \(analyze\.steps 4 in .*, 5 in other\.jsonl\)/);
  assert.match(cli('batch', dir, '--shard', '3/3').stderr, /--shard 3\/3: the shard must be in 0\.\.2/);
  assert.match(cli('report', path.join(outDir, 'nothing-*.jsonl')).stderr, /no result file matches/);
});

test('--jobs 2 (worker processes) writes the same error line for a broken image as one process', async () => {
  const dir = await folder(1);
  const err = (jobs: string) => {
    const out = path.join(tempDir(`batch-cli-err${jobs}`), 'r.jsonl');
    const r = cli('batch', dir, '--model', model, '--out', out, '--steps', '2', '--random', '2', '--jobs', jobs, '-q');
    assert.equal(r.status, 0, r.stderr);
    return lines(out).filter((l) => l.schema !== 'neuron-path/1').map((l) => (l as { error: string }).error);
  };
  const one = err('1');
  assert.equal(one.length, 1);
  assert.deepEqual(err('2'), one);
});

test('--jobs 2: an engine error keeps its code across the worker processes (a bad --target stops the run at once, with its hint, as in one process)', async () => {
  const dir = await folder(1, false);
  for (const jobs of ['1', '2']) {
    const out = path.join(tempDir(`batch-cli-target${jobs}`), 'r.jsonl');
    const r = cli('batch', dir, '--model', model, '--out', out, '--steps', '2', '--random', '2', '--target', '999', '--jobs', jobs, '-q');
    assert.notEqual(r.status, 0, `--jobs ${jobs}`);
    assert.match(r.stderr, /give --target a class index in range/, `--jobs ${jobs}: the hint chosen by the error's code`);
    assert.ok(!fs.existsSync(out) || !fs.readFileSync(out, 'utf8').trim(), `--jobs ${jobs}: no error line per image (the code makes it fatal)`);
    assert.ok(!fs.existsSync(`${out}.lock`), 'the lock is released');
  }
});

test('--jobs 2: a worker process killed mid-analysis stops the run with a clear error; the same command resumes', async () => {
  const dir = await folder(6, false);
  const out = path.join(tempDir('batch-cli-kill'), 'r.jsonl');
  const args = ['batch', dir, '--model', model, '--out', out, '--steps', '300', '--baselines', 'none', '--jobs', '2', '--threads', '1'];
  const { status, stderr } = await batchKillingAWorker(args, env, out, 12);
  assert.equal(status, 1, stderr);
  // --threads 1: no fewer threads to advise
  assert.match(stderr, /\nneuron-path: a worker process stopped during an analysis: it was killed \(SIGKILL\), most likely out of memory .*; what is done stays in the file: run the same command again to resume; to use less memory: fewer worker processes \(--jobs 1: each holds the model\), or more memory\n$/);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const all = lines(out).map(imageOf);
  assert.equal(all.length, 12);
  assert.equal(new Set(all).size, 12);
});
