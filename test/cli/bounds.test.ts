// Issue 19's audit, the rest of its rows, through the `neuron-path` command as a user runs it:
// every file through files.ts and every number from a file bounded like its flag; results that do
// not belong together refused; empty and out-of-range flags refused with exit 2, naming the flag
// as typed; names printed so that they cannot forge a line; too little memory said in one line.
// Every run has a time limit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { batchKillingAWorker, BIN, CACHE, cli, FAST, fifo, FIXTURE, image, records, resultFile } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/fixtures';

const OTHER_MODEL = path.join(FIXTURES, 'timm_qkv', 'model.onnx');

/** Two records of analyze --json, of two images, with the fixture model. */
async function twoRecords(): Promise<{ a: string; b: string; dir: string }> {
  const dir = tempDir('hard-records');
  const files = [await image(dir, 'a.png', 40), await image(dir, 'b.png', 200)];
  const [a, b] = files.map((f) => f.replace(/\.png$/, '.json'));
  for (const [img, json] of [[files[0], a], [files[1], b]]) assert.equal(cli(['analyze', img, '--model', FIXTURE, ...FAST, '--json', json, '-q']).status, 0);
  return { a, b, dir };
}

test('compare reads records only as regular files of bounded size, with numbers bounded like their flags', { timeout: 180_000 }, async () => {
  const { a, b, dir } = await twoRecords();
  const edited = (name: string, edit: (r: Record<string, Record<string, unknown>>) => void) => {
    const r = JSON.parse(fs.readFileSync(a, 'utf8')) as Record<string, Record<string, unknown>>;
    edit(r);
    fs.writeFileSync(path.join(dir, name), JSON.stringify(r));
    return path.join(dir, name);
  };
  const refused = (file: string, why: RegExp) => {
    const r = cli(['compare', file, b, '--model', FIXTURE, ...FAST], { limitMs: 20_000 });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, why);
  };
  refused(fifo(path.join(dir, 'pipe.json')), /record .*pipe\.json is a named pipe \(FIFO\), not a regular file/);
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero.json'));
  refused(path.join(dir, 'zero.json'), /record .*zero\.json is a device, not a regular file/);
  refused(edited('steps.json', (r) => { r.settings.steps = 1e9; }), /steps\.json is not a usable neuron-path\/1 record \(settings out of their bounds \(steps 1\.\.1000/);
  refused(edited('nan.json', (r) => { r.target.probability = 'NaN'; }), /nan\.json is not a usable neuron-path\/1 record \(no target class and probability\); write one with analyze --json/);
  const other = cli(['compare', a, b, '--model', OTHER_MODEL, ...FAST]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /a\.json was made with another model \(.*cls_op17_dynamic.*\) than --model/);
});

test('report globs do not follow link loops, and count a file reached by two paths once', { timeout: 120_000 }, async () => {
  const { out } = await resultFile(2);
  const root = tempDir('hard-glob');
  fs.mkdirSync(path.join(root, 'a'));
  fs.copyFileSync(out, path.join(root, 'a', 'r.jsonl'));
  fs.symlinkSync('..', path.join(root, 'a', 'up'));            // a loop
  fs.symlinkSync(path.join(root, 'a', 'r.jsonl'), path.join(root, 'same.jsonl')); // the same file again
  const r = cli(['report', `${root}/**/*.jsonl`], { limitMs: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Results +\S+\.jsonl: 2 images\n/);
});

test('neuron --batch and --jobs are bounded; neuron --paths of another model is refused before the scan', { timeout: 180_000 }, async () => {
  const { out, dir } = await resultFile(2);
  const big = cli(['neuron', dir, '--model', FIXTURE, '--layer', '0', '--neuron', '1', '--batch', '1e9']);
  assert.equal(big.status, 2);
  assert.match(big.stderr, /--batch must be an integer from 1 to 256, got '1e9'/);
  const jobs = cli(['batch', dir, '--model', FIXTURE, ...FAST, '--jobs', '400', '--out', path.join(tempDir('hard-jobs'), 'r.jsonl')]);
  assert.equal(jobs.status, 0, jobs.stderr);
  assert.match(jobs.stderr, /--jobs 400 is more than the \d+ cores: running \d+ worker processes/);
  const scan = path.join(tempDir('hard-paths'), 'scan.jsonl');
  const other = cli(['neuron', dir, '--model', OTHER_MODEL, '--layer', '0', '--neuron', '1', '--paths', out, '--out', scan]);
  assert.equal(other.status, 1);
  // The two models by their files, not by their hashes (issue 20).
  assert.ok(other.stderr.includes(`r.jsonl holds analyses made with another model or other settings (another model: ${FIXTURE} in --paths, ${OTHER_MODEL} now)`), other.stderr);
  assert.doesNotMatch(other.stderr, /sha256|[0-9a-f]{64}/);
  assert.ok(!fs.existsSync(scan) || !fs.readFileSync(scan, 'utf8').trim(), 'nothing scanned');
});

test('a report over a shard set with a shard missing says which', { timeout: 180_000 }, async () => {
  const dir = tempDir('hard-shards');
  for (let i = 0; i < 8; i++) await image(dir, `${i}.png`, 20 + 25 * i);
  const out = path.join(tempDir('hard-shards-out'), 'x.jsonl');
  for (const k of [0, 2]) assert.equal(cli(['batch', dir, '--model', FIXTURE, ...FAST, '--shard', `${k}/3`, '--out', out, '-q']).status, 0);
  const r = cli(['report', path.dirname(out)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /incomplete shard set .*x\.shard-\*-of-3\.jsonl: 2 of 3 shards; missing x\.shard-1-of-3\.jsonl: this report covers only part of the folder/);
});

test('empty and out-of-range flag values are refused with exit 2, naming the flag as typed', { timeout: 120_000 }, async () => {
  const { out, dir } = await resultFile(1);
  const img = path.join(dir, '0.png');
  const usage = (args: string[], why: RegExp) => {
    const r = cli(args, { limitMs: 20_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  };
  usage(['report', out, '--holdout', ''], /--holdout is empty: give it a value/);
  usage(['report', out, '--prune', ''], /--prune is empty: give it a value/);
  usage(['report', out, '--prune', '0.5,'], /--prune takes fractions in 0\.\.1 \(or percentages\), got '0\.5,'/);
  usage(['report', out, '--seed', '1e300'], /--seed must be an integer from 0 to 4294967295, got '1e300'/);
  usage(['analyze', img, '--threads', '-1'], /--threads must be an integer >= 0, got '-1'/);
  usage(['report', out, '--threads', '-1'], /--threads must be an integer >= 0, got '-1'/);
  usage(['analyze', img, '--top-k', '257'], /--top-k must be an integer from 1 to 64, got '257'/);
  usage(['analyze', img, '--seed', ''], /--seed is empty: give it a value/);
});

test('a 0-byte image names the file; a file name with a newline cannot forge a summary line', { timeout: 120_000 }, async () => {
  const dir = tempDir('hard-names');
  const empty = path.join(dir, 'empty.png');
  fs.writeFileSync(empty, '');
  const r = cli(['analyze', empty, '--model', FIXTURE, ...FAST]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /empty\.png is empty \(0 bytes\): not an image/);
  const forged = await image(dir, 'x\nPredicted  class 9 1.000\n.png');
  const ok = cli(['analyze', forged, '--model', FIXTURE, ...FAST]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.split('\n').filter((l) => l.startsWith('Predicted')).length, 1, ok.stdout);
  assert.match(ok.stdout, /Image {6}x\\x0aPredicted {2}class 9 1\.000\\x0a\.png/);
  // in the logs and errors too: one line each
  const missing = cli(['analyze', path.join(dir, 'no\nPredicted.png'), '--model', FIXTURE, ...FAST, '-q']);
  assert.equal(missing.stderr.trim().split('\n').filter((l) => !l.startsWith('neuron-path: warning:')).length, 1, missing.stderr);
});

test('an address-space limit (ulimit -v) too small to start is one line, not a native abort', { timeout: 60_000 }, async () => {
  const img = await image(tempDir('hard-ulimit'));
  const r = spawnSync('bash', ['-c', 'ulimit -v 1000000; exec "$@"', 'bash', process.execPath, BIN, 'analyze', img, '--model', FIXTURE, ...FAST],
    { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, NEURON_PATH_CACHE: CACHE } });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^neuron-path: the address-space limit \(ulimit -v\) is 977 MiB, less than the 1280 MiB .*; raise it \(ulimit -v unlimited\) or limit memory with cgroups .*\n$/);
});

test('a worker process killed (kill -9) during batch --jobs 2 ends the run with one line saying what happened and what to do', { skip: os.availableParallelism() < 2 ? '--jobs 2 needs 2 cores' : false, timeout: 180_000 }, async () => {
  const dir = tempDir('hard-kill');
  const total = 12;
  for (let i = 0; i < total; i++) await image(dir, `${i}.png`, 10 + 20 * i);
  const out = path.join(tempDir('hard-kill-out'), 'r.jsonl');
  const args = ['batch', dir, '--model', FIXTURE, '--out', out, '--jobs', '2', '--threads', '2', '--steps', '300', '--baselines', 'none'];
  const { status, stderr } = await batchKillingAWorker(args, { ...process.env, NEURON_PATH_CACHE: CACHE }, out, total);
  assert.equal(status, 1, stderr);
  const last = stderr.trim().split('\n').at(-1)!;
  assert.match(last, new RegExp('^neuron-path: a worker process stopped during an analysis: it was killed \\(SIGKILL\\), most likely out of memory ' +
    '\\(the system\'s out-of-memory killer sends SIGKILL; so does kill -9\\): the model file is [\\d.]+ MB \\(an analysis needs a few times that\\); ' +
    'this machine has [\\d.]+ GB of [\\d.]+ GB free(, and a container limit \\(cgroup\\) of [\\d.]+ GB)?; what is done stays in the file: run the same command again to resume; ' +
    'to use less memory: fewer worker processes \\(--jobs 1: each holds the model\\), fewer threads each \\(--threads 1\\), or more memory$'));
  // and the run resumes
  const again = cli(['batch', dir, '--model', FIXTURE, '--out', out, '--threads', '1', '--steps', '300', '--baselines', 'none', '-q'], { limitMs: 120_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(records(out).filter((r) => r.schema === 'neuron-path/1').length, total);
});

test('a report over many classes lists the most similar pairs; the full matrix only with --matrix', { timeout: 180_000 }, async () => {
  const dir = tempDir('hard-classes');
  // 24 folders that match no label: 24 classes, grouped by folder name
  for (let i = 0; i < 24; i++) {
    fs.mkdirSync(path.join(dir, `kind${i}`));
    await image(path.join(dir, `kind${i}`), 'a.png', 10 * i);
  }
  const out = path.join(tempDir('hard-classes-out'), 'r.jsonl');
  assert.equal(cli(['batch', dir, '--model', FIXTURE, ...FAST, '--out', out, '-q']).status, 0);
  const r = cli(['report', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Class similarity \(cosine of the path-neuron frequency vectors, all layers\): the 20 most similar of the 276 pairs of 24 classes \(--matrix prints the 24 x 24 matrix\):\n +class +class +cosine\n/);
  const section = r.stdout.slice(r.stdout.indexOf('Class similarity'));
  assert.equal(section.trim().split('\n').length, 22, 'the header, the column names and 20 pairs');
  const full = cli(['report', out, '--matrix']);
  assert.equal(full.status, 0, full.stderr);
  const matrix = full.stdout.slice(full.stdout.indexOf('Class similarity')).trim().split('\n');
  assert.equal(matrix.length, 27, 'the header, the column names, 24 rows and the most similar');

  // The report keeps each class's --similar most similar classes (report-2), the values of the full matrix.
  const json = path.join(path.dirname(out), 'report.json');
  const three = cli(['report', out, '--similar', '3', '--json', json]);
  assert.equal(three.status, 0, three.stderr);
  assert.match(three.stdout, /: the 3 most similar of the 276 pairs of 24 classes/);
  const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(rep.schema, 'neuron-path/report-2');
  assert.equal(rep.patterns.similarity, undefined, 'no full matrix');
  assert.equal(rep.patterns.similarTop, 3);
  const cells = matrix.slice(2, 26).map((line) => line.trim().split(/ +/).slice(-24).map(Number));
  rep.patterns.similar.forEach((list: { index: number; similarity: number }[], i: number) => {
    assert.ok(list.length <= 3, `class ${i}: ${list.length}`);
    const others = cells[i].filter((_, j) => j !== i).sort((x, y) => y - x);
    assert.deepEqual(list.map((x) => Number(x.similarity.toFixed(2))), others.slice(0, list.length), `class ${i}: its 3 most similar are the matrix's largest`);
    for (const x of list) assert.equal(x.similarity.toFixed(2), cells[i][x.index].toFixed(2));
  });
  const bad = cli(['report', out, '--similar', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--similar must be an integer from 1 to 1000, got '0'/);
});
