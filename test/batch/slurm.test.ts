// The folder split across a real Slurm array (not a mock): a one-node cluster started here
// (test/helpers/slurm.ts), the recipe examples/slurm/neuron-path-array.sbatch submitted as users
// submit it, over an ImageFolder of 40 images made from media/samples with the bundled model.
// - The report job's view of the shard files equals a one-process `batch` of the same folder,
//   image by image: same paths, same figures (both single-threaded: records exactly equal; the
//   report's means within 1e-12 relative, as they sum in another order).
// - One array task cancelled midway (scancel) and resubmitted alone resumes its file: no image twice,
//   none lost, nothing unreadable.
// - One array task killed with SIGKILL and resubmitted in a new PID namespace under another host name
//   (as on another node) takes over the killed task's lock and resumes its file.
// Skipped with a reason where Slurm is not installed or the test is not root; under CI=true that fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import sharp from 'sharp';
import { shardOfPath } from '../../src/engine/batch/index';
import type { BatchLine, BatchRecord } from '../../src/engine/batch/schema';
import { assertSameSummary, REPO, tempDir } from '../helpers/fixtures';
import { slurmMissing, startCluster, type Cluster } from '../helpers/slurm';

const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const RECIPE = path.join(REPO, 'examples', 'slurm', 'neuron-path-array.sbatch');
const SAMPLES = path.join(REPO, 'media', 'samples');
const SHARDS = 4;
const missing = slurmMissing();
const skip = missing && process.env.CI !== 'true' ? missing : false;

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as BatchLine);
const records = (file: string) => lines(file).filter((l): l is BatchRecord => l.schema === 'neuron-path/1');
/** A record's figures: everything but how long it took and when it was written. */
const figures = ({ timing: _t, analysedAt: _a, ...rest }: BatchRecord) => rest;

/** 40 images: each sample of media/samples and its mirror image, in one folder per class. */
async function imageFolder(dir: string): Promise<number> {
  const labels = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'labels.json'), 'utf8')) as Record<string, number>;
  let n = 0;
  for (const file of Object.keys(labels)) {
    const cls = file.replace(/-\d+\.png$/, '');
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    fs.copyFileSync(path.join(SAMPLES, file), path.join(dir, cls, file));
    await sharp(path.join(SAMPLES, file)).flop().png().toFile(path.join(dir, cls, file.replace('.png', '-mirror.png')));
    n += 2;
  }
  return n;
}

test('a Slurm array analyses a folder in shards; report over the shard files equals one process; a cancelled or killed task resumes', { skip, timeout: 900_000 }, async () => {
  if (missing) assert.fail(`CI=true but ${missing}`);
  const tmp = tempDir('slurm');
  const images = path.join(tmp, 'images');
  const count = await imageFolder(images);
  assert.ok(count >= 40);
  const env = { NEURON_PATH_CACHE: path.join(tmp, 'cache'), NEURON_PATH: `${process.execPath} ${BIN}`, IMAGES: images, SHARDS: String(SHARDS) };

  // the reference: one process, one thread
  const single = path.join(tmp, 'single.jsonl');
  const one = spawnSync(process.execPath, [BIN, 'batch', images, '--out', single, '--threads', '1', '-q'], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(one.status, 0, one.stderr);
  const reference = new Map(records(single).map((r) => [r.image.path, figures(r)]));
  assert.equal(reference.size, count);
  const expectedShard = (image: string) => shardOfPath(path.relative(images, image), SHARDS);

  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster(tempDir('slurm-cluster'));

    // 1. the recipe: an array of 4 tasks (one CPU each; two at a time on this 2-CPU node) and the report job
    const run1 = path.join(tmp, 'run1');
    fs.mkdirSync(run1);
    const out1 = path.join(run1, 'fashion.neuron-path.jsonl');
    // --model names a model folder, as the README's recipe does (the bundled model's, which the reference run used)
    const submitted = cluster.run('bash', [RECIPE, '--model', path.join(REPO, 'media', 'model')], { cwd: run1, env: { ...env, OUT: out1 } });
    const m = /submitted array job (\d+) \(4 tasks\) and report job (\d+)/.exec(submitted);
    assert.ok(m, submitted);
    const [, array, report] = m;
    await cluster.waitFor([array, report], 600_000);
    for (let k = 0; k < SHARDS; k++) {
      const log = fs.readFileSync(path.join(run1, `neuron-path-${array}_${k}.out`), 'utf8');
      assert.match(log, new RegExp(`shard ${k}/4 \\(from Slurm array task ${k}\\)`));
      assert.match(log, new RegExp(`shard ${k}/4: done: \\d+ images \\(\\d+ analysed now, 0 before, 0 failed\\)`), log);
      const shard = records(out1.replace('.jsonl', `.shard-${k}-of-4.jsonl`));
      assert.ok(shard.length > 0, `shard ${k} is empty`);
      for (const r of shard) assert.equal(expectedShard(r.image.path), k, `${r.image.path} is in shard ${k}`);
    }
    // the report job ran after the array and read the four files as one
    const text = fs.readFileSync(out1.replace('.jsonl', '.report.txt'), 'utf8');
    assert.match(text, new RegExp(`Results +${run1}/ \\(4 result files\\): ${count} images\\n`), text);
    const viaSlurm = JSON.parse(fs.readFileSync(out1.replace('.jsonl', '.report.json'), 'utf8'));
    const local = path.join(tmp, 'single-report.json');
    assert.equal(spawnSync(process.execPath, [BIN, 'report', single, '--json', local], { encoding: 'utf8' }).status, 0);
    const direct = JSON.parse(fs.readFileSync(local, 'utf8'));
    // the same figures; the sums run in another order (1e-12 relative)
    assertSameSummary(viaSlurm.comparison, direct.comparison, 'comparison');
    assertSameSummary(viaSlurm.accuracy, direct.accuracy, 'accuracy');
    assert.deepEqual(viaSlurm.patterns.classes.map((c: { label: string; count: number }) => [c.label, c.count]), direct.patterns.classes.map((c: { label: string; count: number }) => [c.label, c.count]));
    // image by image: `report --merged` writes what it read, one line per image
    const merged = path.join(tmp, 'merged1.jsonl');
    const mr = spawnSync(process.execPath, [BIN, 'report', run1, '--merged', merged], { encoding: 'utf8' });
    assert.equal(mr.status, 0, mr.stderr);
    const sameAsSingle = (file: string) => {
      const got = records(file);
      assert.equal(got.length, count);
      assert.deepEqual(new Map(got.map((r) => [r.image.path, figures(r)])), reference);
    };
    sameAsSingle(merged);

    // 2. cancel task 0 midway, let the others finish, resubmit task 0 alone: it resumes
    const run2 = path.join(tmp, 'run2');
    fs.mkdirSync(run2);
    const out2 = path.join(run2, 'fashion.neuron-path.jsonl');
    const shard0 = out2.replace('.jsonl', '.shard-0-of-4.jsonl');
    const size0 = [...reference.keys()].filter((i) => expectedShard(i) === 0).length;
    const second = cluster.run('sbatch', ['--parsable', '--array=0-3', RECIPE], { cwd: run2, env: { ...env, OUT: out2 } }).trim();
    // a whole line is there (the line being appended may be read half-written)
    for (let i = 0; !(fs.existsSync(shard0) && fs.readFileSync(shard0, 'utf8').includes('\n')); i++) {
      assert.ok(i < 1200, `shard 0 wrote nothing in 2 minutes\n${cluster.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    cluster.run('scancel', [`${second}_0`]);
    await cluster.waitFor([second], 600_000);
    const cancelledLog = fs.readFileSync(path.join(run2, `neuron-path-${second}_0.out`), 'utf8');
    assert.match(cancelledLog, /shard 0\/4: stopping: the images in progress are cancelled; the finished ones stay in the file \(resumable\)/, cancelledLog);
    // scancel signals every process of the task, neuron-path and its command's process alike: the command
    // acts on that SIGTERM once (not twice, which would end it at once) and stops cleanly
    assert.match(cancelledLog, /shard 0\/4: stopped: \d+\/\d+ images in .*; run the same command again to resume\./, cancelledLog);
    const before = lines(shard0).length;
    assert.ok(before >= 1 && before < size0, `cancelled midway: ${before} of ${size0} lines`);

    const again = cluster.run('sbatch', ['--parsable', '--array=0', RECIPE], { cwd: run2, env: { ...env, OUT: out2 } }).trim();
    await cluster.waitFor([again], 600_000);
    const resumedLog = fs.readFileSync(path.join(run2, `neuron-path-${again}_0.out`), 'utf8');
    assert.match(resumedLog, new RegExp(`${before} images already in .*; resuming`), resumedLog);
    assert.match(resumedLog, new RegExp(`shard 0/4: done: ${size0} images \\(${size0 - before} analysed now, ${before} before, 0 failed\\)`), resumedLog);
    const shardLines = lines(shard0).map((l) => (l.schema === 'neuron-path/1' ? l.image.path : l.image));
    assert.equal(shardLines.length, size0, 'none lost');
    assert.equal(new Set(shardLines).size, size0, 'none twice');
    const merged2 = path.join(tmp, 'merged2.jsonl');
    const mr2 = spawnSync(process.execPath, [BIN, 'report', `${run2}/*.shard-*-of-4.jsonl`, '--merged', merged2], { encoding: 'utf8' });
    assert.equal(mr2.status, 0, mr2.stderr);
    assert.doesNotMatch(mr2.stdout, /unreadable|more than one line/);
    sameAsSingle(merged2);

    // 3. task 1 killed with SIGKILL (no chance to stop cleanly: an OOM kill, or Slurm after KillWait)
    // and resubmitted on "another node": a new PID namespace under another host name. It takes the
    // killed task's lock over once its heartbeat is older than --lock-stale, and resumes its file.
    const run3 = path.join(tmp, 'run3');
    fs.mkdirSync(run3);
    const out3 = path.join(run3, 'fashion.neuron-path.jsonl');
    const shard1 = out3.replace('.jsonl', '.shard-1-of-4.jsonl');
    const size1 = [...reference.keys()].filter((i) => expectedShard(i) === 1).length;
    const killed = cluster.run('sbatch', ['--parsable', '--array=1', RECIPE, '--lock-stale', '3'], { cwd: run3, env: { ...env, OUT: out3 } }).trim();
    for (let i = 0; !(fs.existsSync(shard1) && fs.readFileSync(shard1, 'utf8').includes('\n')); i++) {
      assert.ok(i < 1200, `shard 1 wrote nothing in 2 minutes\n${cluster.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // SIGKILL from outside, as the OOM killer sends it (scancel --signal=KILL cancels with SIGTERM
    // first); the task's PID is the one its lock records.
    const holder = JSON.parse(fs.readFileSync(`${shard1}.lock`, 'utf8')) as { pid: number };
    process.kill(holder.pid, 'SIGKILL');
    await cluster.waitFor([killed], 600_000);
    const kept = lines(shard1).length;
    assert.ok(kept >= 1 && kept < size1, `killed midway: ${kept} of ${size1} lines`);
    assert.ok(fs.existsSync(`${shard1}.lock`), 'the killed task left its lock');
    const otherNode = path.join(tmp, 'other-node.sh');
    fs.writeFileSync(otherNode, `#!/bin/sh\nexec unshare --uts --pid --fork --kill-child --mount-proc sh -c 'hostname other-node && exec "$@"' sh ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
    const moved = cluster.run('sbatch', ['--parsable', '--array=1', RECIPE, '--lock-stale', '3'], { cwd: run3, env: { ...env, OUT: out3, NEURON_PATH: otherNode } }).trim();
    await cluster.waitFor([moved], 600_000);
    const movedLog = fs.readFileSync(path.join(run3, `neuron-path-${moved}_1.out`), 'utf8');
    assert.match(movedLog, /shard 1\/4: taking over the lock of process \d+ on .*: its heartbeat is \d+ s old/, movedLog);
    assert.match(movedLog, new RegExp(`shard 1/4: done: ${size1} images \\(${size1 - kept} analysed now, ${kept} before, 0 failed\\)`), movedLog);
    const shard1Lines = lines(shard1).map((l) => (l.schema === 'neuron-path/1' ? l.image.path : l.image));
    assert.equal(shard1Lines.length, size1, 'none lost');
    assert.equal(new Set(shard1Lines).size, size1, 'none twice');
    assert.ok(!fs.existsSync(`${shard1}.lock`), 'released');
  } finally {
    await cluster?.stop();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});
