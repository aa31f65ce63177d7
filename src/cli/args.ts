// Command-line flags shared by `analyze` and `batch`, parsed into engine options.
import { parseArgs } from 'node:util';
import { BASELINE_NAMES, type AnalyzeOptions, type BaselineName, type ModelOptions, type ResizeMode } from '../engine/api';
import { defaultModelPath, type ScopeSetting } from '../engine/index';
import { isScopeSetting, SCOPE_HELP } from '../engine/scope';

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export const ANALYZE_FLAGS = {
  model: { type: 'string' }, labels: { type: 'string' },
  target: { type: 'string' }, steps: { type: 'string' },
  formula: { type: 'string' }, scope: { type: 'string' },
  threads: { type: 'string' }, provider: { type: 'string' },
  baselines: { type: 'string' }, random: { type: 'string' }, seed: { type: 'string' }, 'top-k': { type: 'string' },
  size: { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, resize: { type: 'string' },
  json: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
  out: { type: 'string' }, limit: { type: 'string' }, jobs: { type: 'string' },
} as const;

export type Flags = ReturnType<typeof parse>['values'];

export function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: ANALYZE_FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function numbers(name: string, v: string | undefined, count?: number): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(/[x,]/).map(Number);
  if (xs.some((x) => !Number.isFinite(x)) || (count && xs.length !== count)) {
    throw new UsageError(`--${name} takes ${count ?? 'comma-separated'} numbers, got '${v}'`);
  }
  return xs;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be one of ${allowed.join('|')}, got '${v}'`);
  return v as T;
}

function scope(v: string | undefined): ScopeSetting | undefined {
  if (v === undefined) return undefined;
  if (!isScopeSetting(v)) throw new UsageError(`--scope must be ${SCOPE_HELP}; got '${v}'`);
  return v;
}

export function modelOptions(f: Flags): ModelOptions {
  const size = numbers('size', f.size);
  if (size && size.length !== 1 && size.length !== 2) throw new UsageError(`--size takes N or HxW, got '${f.size}'`);
  return {
    modelPath: f.model ?? defaultModelPath(),
    labelsPath: f.labels,
    scope: scope(f.scope),
    threads: int('threads', f.threads, 0),
    executionProvider: oneOf('provider', f.provider, ['cpu', 'cuda'] as const),
    preprocess: {
      size: size ? [size[0], size[1] ?? size[0]] : undefined,
      mean: numbers('mean', f.mean), std: numbers('std', f.std),
      resize: oneOf<ResizeMode>('resize', f.resize, ['bilinear', 'bicubic', 'nearest']),
    },
  };
}

export function analyzeOptions(f: Flags): AnalyzeOptions {
  let target: number | 'predicted' | undefined;
  if (f.target !== undefined) target = f.target === 'predicted' ? 'predicted' : int('target', f.target, 0);
  let baselines: BaselineName[] | undefined;
  if (f.baselines !== undefined) {
    baselines = f.baselines === 'none' ? [] : f.baselines.split(',').map((b) => oneOf('baselines', b.trim(), BASELINE_NAMES)!);
  }
  return {
    target, baselines,
    steps: int('steps', f.steps, 1),
    formula: oneOf('formula', f.formula, ['reference', 'paper'] as const),
    randomCount: int('random', f.random, 1),
    randomSeed: int('seed', f.seed, 0),
    topK: int('top-k', f['top-k'], 1),
  };
}
