// The reference the panel is checked against: the CLI's JSON for the same image (and target).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnalysisResult } from '../../../src/engine/result';
import { CLI, ROOT } from './paths';

export interface CliOptions { target?: number; outDir: string }

/** The CLI's own model cache for this run: never one another checkout on the machine filled. */
const CACHE = path.join(os.tmpdir(), `neuron-path-e2e-cache-${process.pid}`);

export function analyzeWithCli(image: string, options: CliOptions): AnalysisResult {
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT, CLI)} is missing: run \`npm run build\``);
  const name = `${path.basename(image)}${options.target === undefined ? '' : `.target-${options.target}`}.json`;
  const out = path.join(options.outDir, name);
  // the CLI refuses to replace a record it did not write: this run owns the file, so clear it first
  fs.rmSync(out, { force: true });
  const args = [CLI, 'analyze', image, '--json', out];
  if (options.target !== undefined) args.push('--target', String(options.target));
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000, env: { ...process.env, NEURON_PATH_CACHE: CACHE } });
  if (r.status !== 0) {
    throw new Error(`node ${args.map((a) => path.relative(ROOT, a) || a).join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(fs.readFileSync(out, 'utf8')) as AnalysisResult;
}

/** The (layer, neuron) pairs of a path, as the panel shows them. */
export function pathNeurons(result: AnalysisResult): { layer: number; neuron: number }[] {
  return result.path.map(({ layer, neuron }) => ({ layer, neuron }));
}
