// examples/kubernetes/indexed-job.yaml, checked without a cluster: the manifest parses, the Job has
// what an Indexed Job sharding a folder needs (completion mode, --shards equal to completions, the
// result file on a shared ReadWriteMany volume, pods that restart and resume), and its container
// command, run here once per completion index with the volumes mapped to temporary folders, splits a
// folder into shards that together hold every image once; a pod killed with SIGKILL resumes its
// shard when restarted in a fresh PID namespace (the same PIDs again as its killed predecessor:
// neuron-path is PID 1, its command's process the same next one) and when rescheduled under another host name.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { parseAllDocuments } from 'yaml';
import { shardOfPath, type BatchRecord } from '../../src/engine/batch/index';
import { REPO, tempDir } from '../helpers/fixtures';

const MANIFEST = path.join(REPO, 'examples', 'kubernetes', 'indexed-job.yaml');
const BIN = path.join(REPO, 'bin', 'neuron-path.js');
const SAMPLES = path.join(REPO, 'media', 'samples');

interface Container { command: string[]; args: string[]; env?: { name: string; value: string }[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }
interface Manifest {
  kind: string; metadata: { name: string };
  spec: {
    completionMode?: string; completions?: number; parallelism?: number; backoffLimit?: number; accessModes?: string[];
    template: { spec: { restartPolicy: string; containers: Container[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[] } };
  };
}

const docs = () => parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8')).map((d) => {
  assert.deepEqual(d.errors, [], 'valid YAML');
  return d.toJS() as Manifest;
});
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

test('the Indexed Job manifest has the fields sharding needs', () => {
  const all = docs();
  const job = all.find((d) => d.kind === 'Job')!;
  assert.ok(job, 'a Job');
  assert.equal(job.spec.completionMode, 'Indexed');
  const n = job.spec.completions!;
  assert.ok(Number.isInteger(n) && n > 1);
  assert.ok(job.spec.parallelism! >= 1 && job.spec.parallelism! <= n);
  assert.ok(['OnFailure', 'Never'].includes(job.spec.template.spec.restartPolicy));
  const [c] = job.spec.template.spec.containers;
  assert.deepEqual(c.command, ['neuron-path']);
  assert.equal(c.args[0], 'batch');
  assert.equal(Number(flag(c.args, '--shards')), n, '--shards equals completions (the pod reads its shard from JOB_COMPLETION_INDEX)');
  assert.ok(!c.args.includes('--shard'), 'the shard comes from the index, not a fixed --shard');
  // the result file is on a volume every pod shares, writable, backed by a ReadWriteMany claim
  const out = flag(c.args, '--out');
  const mount = c.volumeMounts.find((m) => out.startsWith(`${m.mountPath}/`))!;
  assert.ok(mount && !mount.readOnly, `${out} is on a writable volume`);
  const claim = job.spec.template.spec.volumes.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
  const pvc = all.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === claim);
  assert.ok(pvc?.spec.accessModes?.includes('ReadWriteMany'), `the claim ${claim} is ReadWriteMany`);
  // the images are mounted where the command reads them
  const images = c.args[1];
  assert.ok(c.volumeMounts.some((m) => images === m.mountPath || images.startsWith(`${m.mountPath}/`)), `${images} is mounted`);
});

test("the Job's command, run once per completion index, shards a folder: every image once", { timeout: 300_000 }, () => {
  const job = docs().find((d) => d.kind === 'Job')!;
  const [c] = job.spec.template.spec.containers;
  const n = job.spec.completions!;
  const tmp = tempDir('k8s');
  // the volumes, here: the images (six samples), a results folder; the model: the bundled one
  const mounts = new Map<string, string>();
  for (const m of c.volumeMounts) mounts.set(m.mountPath, path.join(tmp, m.name));
  const images = mounts.get(c.volumeMounts.find((m) => c.args[1].startsWith(m.mountPath))!.mountPath)!;
  fs.mkdirSync(path.join(images, 'bag'), { recursive: true });
  fs.mkdirSync(path.join(images, 'coat'), { recursive: true });
  for (const f of ['bag-1.png', 'bag-2.png']) fs.copyFileSync(path.join(SAMPLES, f), path.join(images, 'bag', f));
  for (const f of ['coat-1.png', 'coat-2.png']) fs.copyFileSync(path.join(SAMPLES, f), path.join(images, 'coat', f));
  fs.mkdirSync(mounts.get('/results')!, { recursive: true });
  const local = (arg: string) => {
    for (const [from, to] of mounts) if (arg === from || arg.startsWith(`${from}/`)) return to + arg.slice(from.length);
    return arg;
  };
  // the manifest names a model folder as the hub gives it; here the bundled model's folder, with few steps
  const args = [...c.args.map(local), '--steps', '3', '--random', '2'];
  fs.cpSync(path.join(REPO, 'media', 'model'), local(flag(c.args, '--model')), { recursive: true });
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, local(e.value).replace(/^\/tmp\//, `${tmp}/`)]));
  const seen: string[] = [];
  for (let index = 0; index < n; index++) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env, JOB_COMPLETION_INDEX: String(index) } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`shard ${index}/${n} \\(from Indexed Job completion ${index}\\)`));
    const file = local(flag(c.args, '--out')).replace(/\.jsonl$/, `.shard-${index}-of-${n}.jsonl`);
    if (fs.existsSync(file)) seen.push(...fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as BatchRecord).image.path));
  }
  assert.equal(seen.length, 4);
  assert.equal(new Set(seen).size, 4);
});

/** The pod's command in a fresh PID namespace (neuron-path is PID 1 there, as in a container), under `host` when given (another node). */
function pod(args: string[], env: NodeJS.ProcessEnv, host?: string) {
  const inner = host ? ['sh', '-c', `hostname ${host} && exec "$@"`, 'sh'] : [];
  return spawn('unshare', [...(host ? ['--uts'] : []), '--pid', '--fork', '--kill-child', '--mount-proc', ...inner, process.execPath, BIN, ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
}

test('a pod killed with SIGKILL (an OOM kill) resumes in a new PID namespace (neuron-path PID 1 again), and on another node', { skip: process.getuid?.() === 0 ? false : 'unshare --pid needs root', timeout: 300_000 }, async () => {
  const job = docs().find((d) => d.kind === 'Job')!;
  const [c] = job.spec.template.spec.containers;
  const n = job.spec.completions!;
  const tmp = tempDir('k8s-kill');
  const images = path.join(tmp, 'images'), results = path.join(tmp, 'results');
  fs.mkdirSync(results);
  // 80 images: every sample four times (paths differ), about 10 in shard 0
  for (const f of fs.readdirSync(SAMPLES).filter((x) => x.endsWith('.png'))) {
    const cls = f.replace(/-\d+\.png$/, '');
    fs.mkdirSync(path.join(images, cls), { recursive: true });
    for (let k = 0; k < 4; k++) fs.copyFileSync(path.join(SAMPLES, f), path.join(images, cls, f.replace('.png', `-${k}.png`)));
  }
  const out = path.join(results, path.basename(flag(c.args, '--out')));
  const args = c.args.map((a) => (a === c.args[1] ? images : a === flag(c.args, '--out') ? out : a));
  args.splice(args.indexOf('--model'), 2, '--steps', '40', '--random', '2', '--lock-stale', '3');
  const env = { NEURON_PATH_CACHE: path.join(tmp, 'cache'), JOB_COMPLETION_INDEX: '0' };
  const shard = out.replace(/\.jsonl$/, `.shard-0-of-${n}.jsonl`);
  const size = fs.readdirSync(images, { recursive: true }).filter((f) => String(f).endsWith('.png') && shardOfPath(String(f), n) === 0).length;
  assert.ok(size >= 4, `shard 0 has ${size} images`);
  const lineCount = () => (fs.existsSync(shard) ? fs.readFileSync(shard, 'utf8').split('\n').filter(Boolean).length : 0);

  /** Runs the pod until `lines` lines are in the shard file, then SIGKILLs it (and with it, PID 1 of its namespace); `holder`: the PID its lock names. */
  const killAfter = async (lines: number, host?: string) => {
    const p = pod(args, env, host);
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((r) => p.on('exit', r));
    for (let i = 0; lineCount() < lines; i++) {
      assert.ok(i < 6000 && p.exitCode === null, `the pod wrote ${lineCount()} of ${lines} lines\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    p.kill('SIGKILL');
    await exited;
    assert.ok(fs.existsSync(`${shard}.lock`), 'a killed pod leaves its lock');
    return { stderr, holder: (JSON.parse(fs.readFileSync(`${shard}.lock`, 'utf8')) as { pid: number }).pid };
  };
  const killed = await killAfter(1);
  const first = lineCount();
  assert.ok(first < size, `killed midway: ${first} of ${size}`);
  // restarted in place: a new PID namespace where the PIDs are those of the killed pod again
  const { stderr: second, holder } = await killAfter(first + 1);
  assert.match(second, new RegExp(`taking over the lock of process ${killed.holder} on .*: its heartbeat is \\d+ s old`));
  assert.match(second, new RegExp(`${first} images already in .*; resuming`));
  const before = lineCount();
  assert.ok(before < size, `killed midway again: ${before} of ${size}`);
  // rescheduled on another node
  const last = pod(args, env, 'other-node');
  let stderr = '';
  last.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise((r) => last.on('exit', r));
  assert.equal(code, 0, stderr);
  assert.match(stderr, new RegExp(`taking over the lock of process ${holder} on .*: its heartbeat is \\d+ s old`));
  assert.match(stderr, new RegExp(`shard 0/${n}: done: ${size} images \\(${size - before} analysed now, ${before} before, 0 failed\\)`));
  const seen = fs.readFileSync(shard, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as BatchRecord).image.path);
  assert.equal(seen.length, size, 'none lost');
  assert.equal(new Set(seen).size, size, 'none twice');
  assert.ok(!fs.existsSync(`${shard}.lock`), 'released');
  fs.rmSync(tmp, { recursive: true, force: true });
});
