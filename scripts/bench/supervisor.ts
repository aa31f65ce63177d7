// `npm run bench -- --supervisor`: what running each command in a supervised child process costs
// (src/cli/supervisor.ts): the wall time of `neuron-path help` and of an analysis of a sample with
// the bundled model, through bin/neuron-path.js (supervised) and through dist/cli.js run directly
// (one process, as before), alternating; and the supervisor's own memory while the analysis runs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const kb = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);

interface Run { seconds: number; supervisorRssKb?: number; supervisorPssKb?: number }

/** One run of `script args`; while it runs, the memory of the process started (the supervisor, when it is one). */
function timed(script: string, args: string[], env: NodeJS.ProcessEnv, sampleAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, ...args], { env, stdio: 'ignore' });
    const run: Run = { seconds: 0 };
    const sample = sampleAfterMs === undefined ? undefined : setTimeout(() => {
      try {
        run.supervisorRssKb = kb(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'), 'VmRSS');
        run.supervisorPssKb = kb(fs.readFileSync(`/proc/${child.pid}/smaps_rollup`, 'utf8'), 'Pss');
      } catch { /* ended before the sample: none */ }
    }, sampleAfterMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(sample);
      run.seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`${script} ${args.join(' ')} exited ${code}`)); else resolve(run);
    });
  });
}

export async function supervisorTable(root: string, cache: string, rounds: number): Promise<void> {
  const supervised = path.join(root, 'bin', 'neuron-path.js'), direct = path.join(root, 'dist', 'cli.js');
  const env = { ...process.env, NEURON_PATH_CACHE: cache };
  const sample = path.join(root, 'media', 'samples', 'coat-1.png');
  const analyze = ['analyze', sample, '--baselines', 'none', '--threads', '1', '--quiet'];
  await timed(direct, analyze, env); // the instrumented model cached, as for every later run
  const rows: string[] = [];
  for (const [what, args, n] of [['neuron-path help', ['help'], rounds], ['analyze coat-1.png (bundled model, 20 steps, no baselines, 1 thread)', analyze, Math.max(3, Math.round(rounds / 4))]] as const) {
    const before: Run[] = [], now: Run[] = [];
    for (let i = 0; i < n; i++) {
      before.push(await timed(direct, [...args], env));
      now.push(await timed(supervised, [...args], env, args.length > 1 ? 500 : undefined));
    }
    const memory = now.filter((r) => r.supervisorRssKb !== undefined);
    rows.push(`| ${what} | ${n} | ${median(before.map((r) => r.seconds)).toFixed(3)} s | ${median(now.map((r) => r.seconds)).toFixed(3)} s | ` +
      (memory.length ? `${(median(memory.map((r) => r.supervisorRssKb!)) / 1024).toFixed(0)} MB RSS, ${(median(memory.map((r) => r.supervisorPssKb!)) / 1024).toFixed(0)} MB PSS |` : '– |'));
  }
  console.log('| command | runs | one process (before), median | supervised (now), median | the supervisor\'s memory |\n| --- | --- | --- | --- | --- |');
  console.log(rows.join('\n'));
}
