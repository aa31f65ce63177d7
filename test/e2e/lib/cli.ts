// The reference the panel is checked against: the CLI's JSON for the same image (and target), and
// the CLI's intervention on an image or a folder.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InterventionRecord } from '../../../src/engine/intervene';
import type { AnalysisResult } from '../../../src/engine/result';
import { CLI, ROOT } from './paths';

export interface CliOptions { target?: number; outDir: string }

/** The CLI's own model cache for this run: never one another checkout on the machine filled. */
const CACHE = path.join(os.tmpdir(), `neuron-path-e2e-cache-${process.pid}`);

/** Runs `node dist/cli.js ARGS`; throws with its output when it fails. */
function runCli(args: string[]): void {
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\``);
  const argv = [CLI, ...args];
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000, env: { ...process.env, NEURON_PATH_CACHE: CACHE } });
  if (r.status !== 0) {
    throw new Error(`node ${argv.map((a) => path.relative(ROOT, a) || a).join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** A fresh output file in `outDir`: the CLI refuses to replace a record it did not write, and this run owns the file. */
function freshOut(outDir: string, name: string): string {
  const out = path.join(outDir, name);
  fs.rmSync(out, { force: true });
  return out;
}

export function analyzeWithCli(image: string, options: CliOptions): AnalysisResult {
  const out = freshOut(options.outDir, `${path.basename(image)}${options.target === undefined ? '' : `.target-${options.target}`}.json`);
  runCli(['analyze', image, '--json', out, ...(options.target === undefined ? [] : ['--target', String(options.target)])]);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as AnalysisResult;
}

/** `neuron-path intervene IMAGE --set SET --target T --json OUT`: the top-5 before and after. */
export function interveneWithCli(image: string, set: string, target: number, outDir: string): InterventionRecord {
  const out = freshOut(outDir, `${path.basename(image)}.intervene-${set.replace(/[^0-9a-z.=-]+/gi, '_')}.json`);
  runCli(['intervene', image, '--set', set, '--target', String(target), '--json', out]);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as InterventionRecord;
}

/** `neuron-path intervene DIR --set SET --out OUT.jsonl`: one record per image of the folder. */
export function interveneFolderWithCli(folder: string, set: string, outDir: string): InterventionRecord[] {
  const out = freshOut(outDir, `${path.basename(folder)}.intervention.jsonl`);
  runCli(['intervene', folder, '--set', set, '--out', out]);
  return readRecords(out);
}

/** The records of a JSON-lines result file. */
export function readRecords(file: string): InterventionRecord[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as InterventionRecord);
}

/** The (layer, neuron) pairs of a path, as the panel shows them. */
export function pathNeurons(result: AnalysisResult): { layer: number; neuron: number }[] {
  return result.path.map(({ layer, neuron }) => ({ layer, neuron }));
}
