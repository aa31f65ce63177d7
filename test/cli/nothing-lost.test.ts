// Issue 19's audit, row by row, through the `neuron-path` command as a user runs it: nothing a user
// already has is destroyed by an output, and a result file's writer lock neither lets two writers in
// nor keeps a killed writer's successor out. Every run has a time limit (test/helpers/cli.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'node:test';
import { BIN, CACHE, cli, FAST, FIXTURE, image, records, resultFile, stoppedWriter } from '../helpers/cli';
import { tempDir } from '../helpers/fixtures';

const bytes = (file: string) => fs.readFileSync(file);
const tempFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

// --------------------------------------------------------------------------------- outputs

test('report --merged over another run\'s result file is refused and leaves it whole; --force replaces it', { timeout: 180_000 }, async () => {
  const other = (await resultFile(4, 'other.jsonl')).out;
  const mine = (await resultFile(2, 'b.jsonl')).out;
  const before = bytes(other);
  const r = cli(['report', mine, '--merged', other]);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /--merged .*other\.jsonl holds 4 images that the merged result does not \(e\.g\. .*\.png\): replacing it would lose them; name another --merged file, or add --force to replace it/);
  assert.deepEqual(bytes(other), before);
  const forced = cli(['report', mine, '--merged', other, '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(records(other).length, 2);
});

test('a merged file cut off mid-write (the file size limit, as a full disk) keeps what it held', { timeout: 180_000 }, async () => {
  const { out: all } = await resultFile(6, 'all.jsonl');
  const dir = tempDir('hard-fsize');
  const part = path.join(dir, 'part.jsonl');
  fs.writeFileSync(part, `${fs.readFileSync(all, 'utf8').split('\n').slice(0, 3).join('\n')}\n`);
  const before = bytes(part);
  // part.jsonl's images are all in all.jsonl: the same report made again may replace it. Past the
  // limit (blocks of 1 KiB) the write fails: the old file must be whole, and no temporary file left.
  const limit = Math.floor(before.length / 1024);
  const r = spawnSync('bash', ['-c', `ulimit -f ${limit}; exec "$@"`, 'bash', process.execPath, BIN, 'report', all, '--merged', part],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, NEURON_PATH_CACHE: CACHE } });
  assert.equal(r.signal, null, `killed by ${r.signal}: the write was not ended cleanly\n${r.stderr}`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot write output file .*part\.jsonl \(larger than the file size limit \(ulimit -f\)\)/);
  assert.deepEqual(bytes(part), before);
  assert.deepEqual(tempFiles(dir), []);
});

test('analyze, report and neuron --json refuse an input or a result file, and a missing folder before any work', { timeout: 180_000 }, async () => {
  const { out, dir } = await resultFile(2);
  const img = path.join(dir, '0.png');
  const [result, picture] = [bytes(out), bytes(img)];
  const refused = (args: string[], why: RegExp) => {
    const r = cli(args);
    assert.equal(r.status, 1, `${args.join(' ')}\n${r.stdout}`);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /opening/, 'refused before the model is opened');
  };
  refused(['analyze', img, '--model', FIXTURE, ...FAST, '--json', out], /--json .*r\.jsonl holds neuron-path results \(neuron-path\/1\); name another --json file, or add --force to replace it/);
  refused(['analyze', img, '--model', FIXTURE, ...FAST, '--json', img], /--json .*0\.png is one of the command's inputs/);
  refused(['analyze', img, '--model', FIXTURE, ...FAST, '--json', FIXTURE], /--json .*model\.onnx is one of the command's inputs/);
  refused(['report', out, '--json', out], /--json .*r\.jsonl is one of the command's inputs/);
  refused(['neuron', dir, '--model', FIXTURE, '--layer', '0', '--neuron', '1', '--paths', out, '--json', out], /--json .*r\.jsonl is one of the command's inputs/);
  refused(['analyze', img, '--model', FIXTURE, ...FAST, '--json', path.join(dir, 'missing', 'r.json')], /--json: cannot write output file .*missing\/r\.json \(its folder does not exist\)/);
  refused(['analyze', img, '--model', FIXTURE, ...FAST, '--json', path.join(img, 'r.json')], /--json: cannot write output file .*0\.png\/r\.json \(a part of its folder is not a folder\)/);
  assert.deepEqual(bytes(out), result);
  assert.deepEqual(bytes(img), picture);
  // The record of the same image is the same analysis made again: replaced, whole.
  const json = path.join(tempDir('hard-json'), 'r.json');
  for (let i = 0; i < 2; i++) assert.equal(cli(['analyze', img, '--model', FIXTURE, ...FAST, '--json', json, '-q']).status, 0);
  assert.equal((JSON.parse(fs.readFileSync(json, 'utf8')) as { image: { path: string } }).image.path, img);
  assert.deepEqual(tempFiles(path.dirname(json)), []);
});

// --------------------------------------------------------------------------------- the writer lock

test('two writers through a symlinked --out share one lock: the second is refused', { timeout: 180_000 }, async () => {
  const dir = tempDir('hard-link');
  for (let i = 0; i < 3; i++) await image(dir, `${i}.png`, 40 + 60 * i);
  const outDir = tempDir('hard-link-out');
  const out = path.join(outDir, 'r.jsonl');
  const link = path.join(outDir, 'link.jsonl');
  fs.symlinkSync(out, link);
  const { exited, writer } = await stoppedWriter(dir, out);
  try {
    const second = cli(['batch', dir, '--model', FIXTURE, '--out', link, ...FAST]);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`link\\.jsonl is being written by process ${writer} on .*; it is running`));
  } finally {
    process.kill(writer, 'SIGCONT');
  }
  assert.equal(await exited, 0);
  const images = records(out).map((l) => l.image.path);
  assert.equal(images.length, 3);
  assert.equal(new Set(images).size, 3, 'each image once');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
});

test('a lock whose PID now belongs to another program (another start time) is taken over', { timeout: 120_000 }, async () => {
  const { out, dir } = await resultFile(2);
  const other = spawn('sleep', ['120'], { stdio: 'ignore' });
  try {
    const stat = fs.readFileSync(`/proc/${other.pid}/stat`, 'utf8');
    const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const now = new Date().toISOString();
    // What a killed batch left, with a fresh heartbeat: its PID since reused by `sleep`.
    fs.writeFileSync(`${out}.lock`, JSON.stringify({
      pid: other.pid, host: os.hostname(), command: 'neuron-path batch (killed)', since: now, heartbeat: now, heartbeatEvery: 10,
      bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidNamespace: fs.readlinkSync('/proc/self/ns/pid'),
      startTime: String(startTime - 100), token: 'killed',
    }));
    const r = cli(['batch', dir, '--model', FIXTURE, '--out', out, ...FAST]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`taking over the lock of process ${other.pid} on .*: that process has ended`));
    assert.match(r.stderr, /2 images already in/);
    assert.ok(!fs.existsSync(`${out}.lock`), 'released');
  } finally {
    other.kill('SIGKILL');
  }
});

// --------------------------------------------------------------------------------- the cache

test('a cache folder that others can write, or that another user owns, is neither read nor written', { skip: process.getuid?.() === 0 ? false : 'chown needs root', timeout: 120_000 }, async () => {
  const img = await image(tempDir('hard-trust-img'));
  const cacheDir = path.join(tempDir('hard-trust'), 'cache');
  const run = () => cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir });
  assert.match(run().stderr, /building the gradient graph/);
  assert.equal(fs.statSync(cacheDir).mode & 0o777, 0o700, 'made private');
  const entries = () => fs.readdirSync(cacheDir).sort();
  const built = entries();
  for (const [change, why] of [[() => fs.chmodSync(cacheDir, 0o777), 'writable by everyone \\(mode 777\\)'], [() => fs.chmodSync(cacheDir, 0o770), 'writable by its group \\(mode 770\\)'],
    [() => { fs.chmodSync(cacheDir, 0o700); fs.chownSync(cacheDir, 4321, 4321); }, 'owned by user 4321, not by you \\(0\\)']] as const) {
    change();
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: the cache folder .*cache is ${why}: whoever can write it decides the results, so it is neither read nor written`));
    assert.match(r.stderr, /building the gradient graph/);
    assert.doesNotMatch(r.stderr, /loading the cached/);
    assert.deepEqual(entries(), built, 'nothing written');
  }
  fs.chownSync(cacheDir, 0, 0);
  // A cached file others may write is not trusted either: rebuilt.
  const [model] = built.filter((f) => f.endsWith('.onnx'));
  fs.chmodSync(path.join(cacheDir, model), 0o666);
  assert.match(run().stderr, /damaged; rebuilding it/);
  assert.match(run().stderr, /loading the cached instrumented model/);
});

test('a cache folder inside a folder that another user could rename it from is neither read nor written; a sticky one is fine', { skip: process.getuid?.() === 0 ? false : 'chown needs root', timeout: 120_000 }, async () => {
  const img = await image(tempDir('hard-parent-img'));
  const top = tempDir('hard-parent'), share = path.join(top, 'share'), cacheDir = path.join(share, 'team', 'cache');
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true, mode: 0o755 });
  const run = () => cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir });
  assert.match(run().stderr, /building the gradient graph/);
  assert.match(run().stderr, /loading the cached instrumented model/, 'private all the way up: used');
  const entries = () => fs.readdirSync(cacheDir).sort();
  const built = entries();
  const refused = (folder: string, why: string) => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: the cache folder .*cache is inside ${folder}, which is ${why}: whoever can write it can replace the cache folder .* neither read nor written \\(make ${folder} owned by you or root and not writable by others, e\\.g\\. chmod go-w, or give a shared folder the sticky bit as /tmp has, chmod \\+t; or set NEURON_PATH_CACHE`));
    assert.match(r.stderr, /building the gradient graph/);
    assert.doesNotMatch(r.stderr, /loading the cached/);
    assert.deepEqual(entries(), built, 'nothing written');
  };
  fs.chmodSync(share, 0o777);
  refused(share, 'writable by everyone without the sticky bit \\(mode 777\\)');
  fs.chmodSync(share, 0o775);
  refused(share, 'writable by its group without the sticky bit \\(mode 775\\)');
  fs.chmodSync(share, 0o1777);
  assert.match(run().stderr, /loading the cached instrumented model/, 'sticky, as /tmp: another user cannot rename what is not theirs');
  fs.chmodSync(share, 0o755);
  fs.chownSync(share, 4321, 4321);
  refused(share, 'owned by user 4321, neither you \\(0\\) nor root');
  fs.chownSync(share, 0, 0);
  fs.chmodSync(top, 0o777);
  refused(top, 'writable by everyone without the sticky bit \\(mode 777\\)');
  fs.chmodSync(top, 0o700);
  // A cache folder not made yet is judged by the folders it would be made in.
  fs.rmSync(cacheDir, { recursive: true });
  fs.chmodSync(share, 0o777);
  const r = run();
  assert.match(r.stderr, new RegExp(`the cache folder .*cache is inside ${share}, which is writable by everyone`));
  assert.equal(fs.existsSync(cacheDir), false, 'not made');
  // A link to the cache is judged where it is (its folder could swap it) and where the cache really is.
  fs.chmodSync(share, 0o755);
  const links = tempDir('hard-parent-link'), link = path.join(links, 'cache');
  fs.symlinkSync(path.dirname(cacheDir), link);
  fs.chmodSync(links, 0o777);
  assert.match(cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir: link }).stderr, new RegExp(`the cache folder .*cache is inside ${links}, which is writable by everyone`));
  fs.chmodSync(links, 0o700);
  assert.match(cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir: link }).stderr, /building the gradient graph/);
  assert.match(cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir: link }).stderr, /loading the cached instrumented model/);
  fs.chmodSync(share, 0o777);
  assert.match(cli(['analyze', img, '--model', FIXTURE, ...FAST], { cacheDir: link }).stderr, new RegExp(`the cache folder .*cache is inside ${share}, which is writable by everyone`));
});
