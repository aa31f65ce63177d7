// The `neuron-path` process runs its command in a child process (src/cli/supervisor.ts): a command
// killed (the out-of-memory killer's SIGKILL, kill -9) or aborted (V8's heap limit, onnxruntime's
// std::bad_alloc) ends with one line saying what happened and what to do, and exit status 128 + the
// signal; stop signals still stop the command once, whether they reach the process group (a
// terminal's Ctrl-C, Slurm, systemd, timeout) or the neuron-path process alone (Kubernetes, kill PID).
// Every trigger waits for a progress line after which the run has seconds of work left, then stops the
// command's process (SIGSTOP) and checks it is mid-run before it signals: the run cannot get ahead of
// the test, whatever the machine's speed. Every run has a time limit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { BIN, CACHE, cli, commandProcess, FIXTURE, image, records, stopped } from '../helpers/cli';
import { tempDir } from '../helpers/fixtures';

interface Ended { code: number | null; signal: string | null; stdout: string; stderr: string; acted: boolean }

/**
 * `neuron-path args` in a process group of its own (as a terminal runs a job; `limitMs`: killed after it,
 * which fails the test). Once stderr matches `trigger`, the command's process is stopped (SIGSTOP) and
 * `act` gets the neuron-path process's pid and the command's (stopped; `act` continues or kills it).
 * `shell`: a shell prefix (ulimit), `node`: Node flags.
 */
async function run(args: string[], trigger: (stderr: string) => boolean, act: (pid: number, command: number) => void, o: { node?: string[]; shell?: string; limitMs?: number } = {}): Promise<Ended> {
  const argv = [...(o.node ?? []), BIN, ...args];
  const [cmd, cmdArgs] = o.shell ? ['bash', ['-c', `${o.shell}; exec "$@"`, 'bash', process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, cmdArgs, { detached: true, env: { ...process.env, NEURON_PATH_CACHE: CACHE } });
  let stdout = '', stderr = '', acting: Promise<void> | undefined;
  child.stdout.setEncoding('utf8').on('data', (t: string) => { stdout += t; });
  child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
    if (acting || !trigger(stderr)) return;
    const command = commandProcess(child.pid!);
    process.kill(command, 'SIGSTOP');
    acting = stopped(command).then(() => act(child.pid!, command));
  });
  const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), o.limitMs ?? 150_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(limit);
  await acting; // its failure (the command ended before it was stopped) is the test's
  return { code, signal, stdout, stderr, acted: acting !== undefined };
}

const lastLine = (stderr: string) => stderr.trim().split('\n').at(-1)!;
/** The model file's size as the crash line words it. */
const modelSize = () => { const bytes = fs.statSync(FIXTURE).size; return (bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0).replace('.', '\\.'); };
const MEMORY = 'this machine has [\\d.]+ GB of [\\d.]+ GB free(, and a container limit \\(cgroup\\) of [\\d.]+ GB)?';
const KILLED = 'it was killed \\(SIGKILL\\), most likely out of memory \\(the system\'s out-of-memory killer sends SIGKILL; so does kill -9\\)';
/** 1000 steps an image, one thread: seconds of work after the first progress line. */
const LONG = ['--model', FIXTURE, '--threads', '1', '--steps', '1000'];
/** After the first layer of the path: two layers and every baseline are left. */
const firstLayer = (stderr: string) => /path, layer 1\/3/.test(stderr);

async function folder(n: number): Promise<string> {
  const dir = tempDir('crash-images');
  for (let i = 0; i < n; i++) await image(dir, `${i}.png`, 20 + 15 * i);
  return dir;
}

/** The first batch progress line after the start (at most one a second): some of `total` images done, many left. */
const midway = (total: number) => (stderr: string) => [...stderr.matchAll(new RegExp(`\\n(\\d+)/${total} images`, 'g'))].some((m) => Number(m[1]) > 0);

test('analyze killed (kill -9) mid-analysis: one line saying what happened and what to do, exit status 137', { timeout: 180_000 }, async () => {
  const img = await image(tempDir('crash-analyze'));
  const r = await run(['analyze', img, ...LONG], firstLayer, (_pid, command) => process.kill(command, 'SIGKILL'));
  assert.ok(r.acted, r.stderr);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 137, r.stderr);
  assert.equal(r.stdout, '', 'no summary of an analysis that did not finish');
  // --threads 1: no fewer threads to advise
  assert.match(lastLine(r.stderr), new RegExp(`^neuron-path: the analyze process stopped: ${KILLED}: the model file is ${modelSize()} MB \\(an analysis needs a few times that\\); ` +
    `${MEMORY}; to use less memory: fewer steps \\(--steps\\), a smaller model, or more memory$`));
});

test('batch (no --jobs) killed mid-run: the line names the result file to resume; the same command resumes', { timeout: 300_000 }, async () => {
  const total = 16;
  const dir = await folder(total);
  const out = path.join(tempDir('crash-batch-out'), 'r.jsonl');
  const args = ['batch', dir, '--out', out, ...LONG, '--baselines', 'none'];
  let kept = 0;
  const r = await run(args, midway(total), (_pid, command) => {
    kept = records(out).length;
    assert.ok(kept >= 1 && kept < total, `${kept} records when the run was stopped: it must be midway`);
    process.kill(command, 'SIGKILL');
  });
  assert.ok(r.acted, r.stderr);
  assert.equal(r.code, 137, r.stderr);
  assert.match(lastLine(r.stderr), new RegExp(`^neuron-path: the batch process stopped: ${KILLED}: the model file is ${modelSize()} MB .*; ${MEMORY}; ` +
    `what is done stays in ${out.replace(/[.]/g, '\\.')}: run the same command again to resume; to use less memory: fewer steps \\(--steps\\), a smaller model, or more memory$`));
  assert.equal(records(out).length, kept, 'nothing written after the kill');
  const again = cli([...args, '-q'], { limitMs: 240_000 });
  assert.equal(again.status, 0, again.stderr);
  const images = records(out).map((l) => l.image.path);
  assert.equal(images.length, total);
  assert.equal(new Set(images).size, total, 'each image once');
});

test('a native abort (V8\'s heap limit, reached by report on a large result file) is one line after the library\'s own, exit status 134', { timeout: 180_000 }, async () => {
  // 10,000 records (67 MB) in a heap of 24 MB: the child aborts, the supervisor (a few MB) does not.
  const { out } = await (async () => {
    const dir = await folder(1);
    const one = path.join(tempDir('crash-report'), 'one.jsonl');
    assert.equal(cli(['batch', dir, '--out', one, '--model', FIXTURE, '--threads', '1', '--steps', '2', '--baselines', 'none', '-q']).status, 0);
    return { out: one };
  })();
  const record = records(out)[0];
  const many = path.join(path.dirname(out), 'many.jsonl');
  const fd = fs.openSync(many, 'w');
  for (let i = 0; i < 10_000; i++) fs.writeSync(fd, `${JSON.stringify({ ...record, image: { ...record.image, path: `/images/${i}.png` } })}\n`);
  fs.closeSync(fd);
  const r = await run(['report', many], () => false, () => {}, { node: ['--max-old-space-size=24'], shell: 'ulimit -c 0' });
  assert.equal(r.code, 134, r.stderr);
  assert.match(r.stderr, /JavaScript heap out of memory/, 'V8\'s own words stay');
  assert.match(lastLine(r.stderr), new RegExp(`^neuron-path: the report process stopped: it aborted \\(SIGABRT\\), most likely out of memory \\(onnxruntime and Node abort when an allocation fails\\): ${MEMORY}; ` +
    'it needs more memory; if the lines above say "JavaScript heap out of memory", Node\'s heap limit was reached: raise it \\(NODE_OPTIONS=--max-old-space-size=8192 for 8 GB\\)$'));
});

test('stop signals stop the command once: SIGTERM to the process group or to neuron-path alone, Ctrl-C; an unhandled one ends neuron-path by the same signal', { timeout: 400_000 }, async () => {
  const total = 12;
  const dir = await folder(total);
  // SIGTERM to the whole group (Slurm, systemd, timeout) reaches both processes; to the neuron-path process alone (Kubernetes, kill PID), it is passed on.
  for (const [who, target] of [['group', (pid: number) => -pid], ['neuron-path process', (pid: number) => pid]] as const) {
    const out = path.join(tempDir('crash-term'), 'r.jsonl');
    const r = await run(['batch', dir, '--out', out, ...LONG, '--baselines', 'none'], midway(total), (pid, command) => {
      assert.ok(records(out).length < total, 'stopped midway');
      process.kill(target(pid), 'SIGTERM'); // pending in the stopped command until it continues
      process.kill(command, 'SIGCONT');
    });
    assert.equal(r.code, 130, `SIGTERM to the ${who}:\n${r.stderr}`);
    assert.match(lastLine(r.stderr), new RegExp(`^stopped: \\d+/${total} images in .*; run the same command again to resume\\.$`), r.stderr);
  }
  const img = await image(tempDir('crash-int'));
  const signalGroup = (signal: NodeJS.Signals) => (pid: number, command: number) => { process.kill(-pid, signal); process.kill(command, 'SIGCONT'); };
  const int = await run(['analyze', img, ...LONG], firstLayer, signalGroup('SIGINT'));
  assert.equal(int.code, 130, int.stderr);
  assert.match(int.stderr, /\ncancelling\.\.\.\nneuron-path: cancelled\n$/);
  // analyze does not handle SIGTERM: it ends by it, and so does neuron-path, without a crash line
  const term = await run(['analyze', img, ...LONG], firstLayer, signalGroup('SIGTERM'));
  assert.equal(term.signal, 'SIGTERM', `${term.code}\n${term.stderr}`);
  assert.match(lastLine(term.stderr), /path, layer 1\/3/);
});
