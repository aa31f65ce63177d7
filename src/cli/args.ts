// Command-line flags shared by `analyze` and `batch`, parsed into engine options.
import { parseArgs } from 'node:util';
import type { AnalyzeOptions, BaselineName, ModelOptions, ResizeMode } from '../engine/api';
import { defaultModelPath, type ScopeSetting } from '../engine/index';
import { BASELINES, FAST, FORMULAS, PROVIDERS, RANDOM_COUNT_RANGE, RESIZES, RULES, SEED_RANGE, STEPS_RANGE, TOP_K_RANGE } from '../engine/options';
import { isScopeSetting, SCOPE_HELP } from '../engine/scope';

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export const ANALYZE_FLAGS = {
  model: { type: 'string' }, labels: { type: 'string' },
  target: { type: 'string' }, steps: { type: 'string' }, rule: { type: 'string' }, fast: { type: 'boolean' },
  formula: { type: 'string' }, scope: { type: 'string' },
  threads: { type: 'string' }, provider: { type: 'string' },
  baselines: { type: 'string' }, random: { type: 'string' }, seed: { type: 'string' }, 'top-k': { type: 'string' },
  size: { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, resize: { type: 'string' },
  json: { type: 'string' }, force: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
  out: { type: 'string' }, limit: { type: 'string' }, jobs: { type: 'string' },
  shard: { type: 'string' }, shards: { type: 'string' }, scores: { type: 'string' }, 'lock-stale': { type: 'string' },
} as const;

export type Flags = ReturnType<typeof parse>['values'];

type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/**
 * Parses a command's flags strictly. A value that looks like a negative number (`--threads -1`)
 * is taken as the value (parseArgs would call it ambiguous), so the flag's own check words the
 * error; an empty value (`--holdout ''`) is refused, never read as 0.
 */
export function parseFlags<T extends FlagSpec>(argv: string[], options: T) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const spec = /^--[^=]+$/.test(argv[i]) ? options[argv[i].slice(2)] : undefined;
    if (spec?.type === 'string' && i + 1 < argv.length && /^-(\d|\.\d|Infinity$)/.test(argv[i + 1])) args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string' && !value.trim()) throw new UsageError(`--${name} is empty: give it a value`);
  }
  return parsed;
}

export function parse(argv: string[]) {
  return parseFlags(argv, ANALYZE_FLAGS);
}

export function int(name: string, v: string | undefined, min: number, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`}, got '${v}'`);
  }
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

export function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
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
    executionProvider: oneOf('provider', f.provider, PROVIDERS),
    preprocess: {
      size: size ? [size[0], size[1] ?? size[0]] : undefined,
      mean: numbers('mean', f.mean), std: numbers('std', f.std),
      resize: oneOf<ResizeMode>('resize', f.resize, RESIZES),
    },
  };
}

export function analyzeOptions(f: Flags): AnalyzeOptions {
  let target: number | 'predicted' | undefined;
  if (f.target !== undefined) target = f.target === 'predicted' ? 'predicted' : int('target', f.target, 0);
  let baselines: BaselineName[] | undefined;
  if (f.baselines !== undefined) {
    baselines = f.baselines === 'none' ? [] : f.baselines.split(',').map((b) => oneOf('baselines', b.trim(), BASELINES)!);
  }
  if (f.fast && (f.steps !== undefined || f.rule !== undefined)) throw new UsageError('--fast sets the steps and the rule: give --fast, or --steps and --rule');
  return {
    target, baselines,
    steps: f.fast ? FAST.steps : int('steps', f.steps, STEPS_RANGE.min, STEPS_RANGE.max),
    rule: f.fast ? FAST.rule : oneOf('rule', f.rule, RULES),
    formula: oneOf('formula', f.formula, FORMULAS),
    randomCount: int('random', f.random, 1, RANDOM_COUNT_RANGE.max),
    randomSeed: int('seed', f.seed, SEED_RANGE.min, SEED_RANGE.max),
    topK: int('top-k', f['top-k'], TOP_K_RANGE.min, TOP_K_RANGE.max),
  };
}
