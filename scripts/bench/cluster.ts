// The cluster part of `npm run bench`: images per minute of a folder split over 1 and 2 array tasks
// (each a `neuron-path batch --shard K/N --threads 1` process, as a Slurm array task with one CPU
// runs it), the bytes a batch record takes with compact and with all scores, and what a
// 50,000-image run would take on N such machines, worked out from the measured rates.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { batchSettings } from '../../src/engine/batch/records';
import { compactScores } from '../../src/engine/batch/index';
import type { BatchRecord } from '../../src/engine/batch/schema';
import type { AnalysisResult } from '../../src/engine/index';

export const RUN_IMAGES = 50_000;

/** The bytes of a batch line for `result` (as written: folder class, settings, time), full and compact. */
export function recordBytes(result: AnalysisResult): { full: number; compact: number } {
  const extra = {
    trueClass: 0, folderLabel: 'class', analysedAt: new Date().toISOString(),
    batch: batchSettings(result.model.sha256, { modelPath: result.model.path }, { steps: result.settings.steps }),
  };
  const bytes = (r: AnalysisResult) => Buffer.byteLength(`${JSON.stringify({ ...r, ...extra } satisfies BatchRecord)}\n`);
  return { full: bytes(result), compact: bytes(compactScores(result)) };
}

/** 2 x the samples (each and its mirror image), one folder per class, like a small ImageFolder. */
export async function arrayFolder(samples: string, dir: string): Promise<number> {
  let n = 0;
  for (const file of fs.readdirSync(samples).filter((f) => f.endsWith('.png')).sort()) {
    const cls = path.join(dir, file.replace(/-\d+\.png$/, ''));
    fs.mkdirSync(cls, { recursive: true });
    fs.copyFileSync(path.join(samples, file), path.join(cls, file));
    await sharp(path.join(samples, file)).flop().png().toFile(path.join(cls, file.replace('.png', '-mirror.png')));
    n += 2;
  }
  return n;
}

/** Wall time of `tasks` shard processes over `folder`, started together (model open included, cache warm). */
export async function arrayRun(cli: string, folder: string, tasks: number, env: NodeJS.ProcessEnv): Promise<{ images: number; seconds: number }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-array-')), 'run.jsonl');
  const started = performance.now();
  await Promise.all(Array.from({ length: tasks }, (_, k) => new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [cli, 'batch', folder, '--shard', `${k}/${tasks}`, '--threads', '1', '--out', out, '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`array task ${k}/${tasks} exited with ${code}`))));
  })));
  const seconds = (performance.now() - started) / 1000;
  const images = fs.readdirSync(path.dirname(out)).reduce((n, f) => n + fs.readFileSync(path.join(path.dirname(out), f), 'utf8').split('\n').filter(Boolean).length, 0);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return { images, seconds };
}

export const duration = (minutes: number) => (minutes < 90 ? `${minutes.toFixed(0)} min` : minutes < 48 * 60 ? `${(minutes / 60).toFixed(1)} h` : `${(minutes / 1440).toFixed(1)} days`);
