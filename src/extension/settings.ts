// Reads the `neuronPath.*` settings into the engine's ModelOptions and AnalyzeOptions. Pure: the
// caller passes a reader over `workspace.getConfiguration('neuronPath')`, so the tests need no VS Code.
//
// In an untrusted workspace a folder must not make us load a model (or labels) of its choosing:
// `modelPath` and `labelsPath` are then read from the user (global) settings only.
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnalyzeOptions, BaselineName, ModelOptions, PreprocessOverrides, ResizeMode } from '../engine/api';
import { BASELINES, DEFAULTS, FAST, FORMULAS, PROVIDERS, RESIZES, RULES, STEPS_RANGE, TOP_K_RANGE } from '../engine/options';
import type { Formula, Rule } from '../engine/result';
import { isScopeSetting, SCOPE_HELP } from '../engine/scope';
import type { TargetChoice } from '../protocol/imagePanel';

export const SECTION = 'neuronPath';

/** The settings that are only honoured from user settings when the workspace is not trusted. */
export const RESTRICTED_KEYS = ['modelPath', 'labelsPath'] as const;

/** The keys (under `neuronPath.`) whose change means the worker must load the model again. */
export const MODEL_KEYS = [
  'modelPath', 'labelsPath', 'preprocess.size', 'preprocess.mean', 'preprocess.std', 'preprocess.resize',
  'scope', 'executionProvider', 'threads',
] as const;

/** The subset of `WorkspaceConfiguration` used here. */
export interface ConfigReader {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): { globalValue?: T } | undefined;
}

export interface SettingsContext {
  trusted: boolean;
  bundledModelPath: string;
  /** First workspace folder, for relative paths and `${workspaceFolder}`. */
  workspaceFolder?: string;
  /** Where the engine caches instrumented models. */
  cacheDir?: string;
  /** CPU cores (the bound of `threads`); default: this machine's. */
  cores?: number;
}

export interface ResolvedSettings {
  model: ModelOptions;
  analyze: AnalyzeOptions & { target: TargetChoice; steps: number; rule: Rule; formula: Formula; baselines: BaselineName[]; topK: number };
  /** True when modelPath was empty: the bundled model is used. */
  bundledModel: boolean;
  /** The fast preset is on (options.ts FAST: not the paper's setting). */
  fast: boolean;
  /** Settings that were ignored, each with the reason, for the output channel and a warning. */
  warnings: string[];
}

export function readSettings(config: ConfigReader, ctx: SettingsContext): ResolvedSettings {
  const warnings: string[] = [];
  const restricted = (key: (typeof RESTRICTED_KEYS)[number]): string => {
    const value = ctx.trusted ? config.get<unknown>(key) : config.inspect<unknown>(key)?.globalValue;
    if (!ctx.trusted && config.get<unknown>(key) !== value && config.get<unknown>(key)) {
      warnings.push(`neuronPath.${key} from the workspace settings is ignored because the workspace is not trusted.`);
    }
    return typeof value === 'string' ? value.trim() : '';
  };

  const rawModel = restricted('modelPath');
  const modelPath = rawModel ? resolvePath(rawModel, ctx) : ctx.bundledModelPath;
  const rawLabels = restricted('labelsPath');

  const preprocess: PreprocessOverrides = {};
  const size = config.get<unknown>('preprocess.size');
  if (typeof size === 'number' && Number.isInteger(size) && size > 0) preprocess.size = [size, size];
  else if (Array.isArray(size) && size.length === 2 && size.every((x) => Number.isInteger(x) && x > 0)) preprocess.size = [size[0], size[1]];
  else if (size !== undefined && size !== null && !(Array.isArray(size) && size.length === 0)) warnings.push('neuronPath.preprocess.size must be [height, width] (or one number); ignored.');
  for (const key of ['mean', 'std'] as const) {
    const v = config.get<unknown>(`preprocess.${key}`);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (key === 'mean' || v.every((x) => x > 0))) {
      preprocess[key] = v as number[];
    } else if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) {
      warnings.push(`neuronPath.preprocess.${key} must be a list of numbers${key === 'std' ? ' above 0' : ''} (one per channel); ignored.`);
    }
  }
  const resize = config.get<unknown>('preprocess.resize');
  if (typeof resize === 'string' && (RESIZES as string[]).includes(resize)) preprocess.resize = resize as ResizeMode;

  const scopeRaw = config.get<unknown>('scope');
  const scope = isScopeSetting(scopeRaw) ? scopeRaw : DEFAULTS.scope;
  if (scopeRaw !== undefined && scopeRaw !== null && scopeRaw !== '' && !isScopeSetting(scopeRaw)) {
    warnings.push(`neuronPath.scope must be ${SCOPE_HELP}; '${typeof scopeRaw === 'string' ? scopeRaw : JSON.stringify(scopeRaw)}' is ignored (auto is used).`);
  }
  const executionProvider = pick(config.get<unknown>('executionProvider'), PROVIDERS, DEFAULTS.executionProvider);
  const threadsRaw = config.get<unknown>('threads');
  let threads: number = typeof threadsRaw === 'number' && Number.isInteger(threadsRaw) && threadsRaw >= 0 ? threadsRaw : DEFAULTS.threads;
  const cores = ctx.cores ?? os.availableParallelism();
  if (threads > cores) {
    warnings.push(`neuronPath.threads is ${threads} but this machine has ${cores} cores; using ${cores}.`);
    threads = cores;
  } else if (threadsRaw !== undefined && threadsRaw !== threads) warnings.push(`neuronPath.threads must be a whole number from 0 (automatic) to the number of cores; using ${DEFAULTS.threads}.`);

  const model: ModelOptions = { modelPath, scope, executionProvider, threads };
  if (rawLabels) model.labelsPath = resolvePath(rawLabels, ctx);
  if (Object.keys(preprocess).length > 0) model.preprocess = preprocess;
  if (ctx.cacheDir) model.cacheDir = ctx.cacheDir;

  const stepsRaw = config.get<unknown>('steps');
  let steps: number = DEFAULTS.steps;
  const { min, max } = STEPS_RANGE;
  if (typeof stepsRaw === 'number' && Number.isInteger(stepsRaw) && stepsRaw >= min && stepsRaw <= max) steps = stepsRaw;
  else if (stepsRaw !== undefined) warnings.push(`neuronPath.steps must be an integer from ${min} to ${max}; using ${steps}.`);

  const ruleRaw = config.get<unknown>('rule');
  let rule = pick(ruleRaw, RULES, DEFAULTS.rule);
  if (ruleRaw !== undefined && rule !== ruleRaw) warnings.push(`neuronPath.rule must be one of ${RULES.join(', ')}; using ${rule}.`);
  // The fast preset replaces the steps and the rule (not the paper's setting; options.ts FAST).
  const fast = config.get<unknown>('fast') === true;
  if (fast) ({ steps, rule } = FAST);

  const target = parseTarget(config.get<unknown>('target'));
  if (target === undefined) warnings.push('neuronPath.target must be "predicted" or a class index; using "predicted".');

  const topKRaw = config.get<unknown>('topK');
  let topK: number = DEFAULTS.topK;
  if (typeof topKRaw === 'number' && Number.isInteger(topKRaw) && topKRaw >= TOP_K_RANGE.min && topKRaw <= TOP_K_RANGE.max) topK = topKRaw;
  else if (topKRaw !== undefined) warnings.push(`neuronPath.topK must be an integer from ${TOP_K_RANGE.min} to ${TOP_K_RANGE.max}; using ${topK}.`);

  const baselinesRaw = config.get<unknown>('baselines');
  let baselines = [...BASELINES];
  if (Array.isArray(baselinesRaw)) {
    const known = baselinesRaw.filter((b): b is BaselineName => (BASELINES as unknown[]).includes(b));
    if (known.length !== baselinesRaw.length) warnings.push(`neuronPath.baselines: only ${BASELINES.join(', ')} are known; others ignored.`);
    baselines = [...new Set(known)];
  }

  return {
    model,
    analyze: { target: target ?? DEFAULTS.target, steps, rule, formula: pick(config.get<unknown>('formula'), FORMULAS, DEFAULTS.formula), baselines, topK },
    bundledModel: !rawModel,
    fast,
    warnings,
  };
}

/** "predicted", a class index (number or digits), or undefined when neither. */
export function parseTarget(v: unknown): TargetChoice | undefined {
  if (v === undefined || v === null || v === '' || v === 'predicted') return 'predicted';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
  return undefined;
}

/** `~` is the home folder, `${workspaceFolder}` and relative paths the first workspace folder. */
export function resolvePath(p: string, ctx: Pick<SettingsContext, 'workspaceFolder'>): string {
  let s = p;
  if (ctx.workspaceFolder) s = s.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  if (s === '~' || s.startsWith('~/') || s.startsWith('~\\')) s = path.join(os.homedir(), s.slice(1));
  if (!path.isAbsolute(s) && ctx.workspaceFolder) s = path.join(ctx.workspaceFolder, s);
  return path.normalize(s);
}

function pick<T extends string>(v: unknown, allowed: readonly T[], fallback: T): T {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
}

/**
 * The command (and its argument) that shows this extension's settings where they can be edited. In
 * a remote window (code-server, Remote-SSH, WSL, containers) the machine-overridable settings (model
 * and labels path, execution provider, threads) appear only on the Remote tab, so it opens that tab.
 */
export function openSettingsCommand(remoteName: string | undefined, extensionId: string): { command: string; arg: unknown } {
  const query = `@ext:${extensionId}`;
  return remoteName ? { command: 'workbench.action.openRemoteSettings', arg: { query } } : { command: 'workbench.action.openSettings', arg: query };
}
