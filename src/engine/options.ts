// The analysis options' defaults and allowed values, in one place: the engine fills missing options
// from here, the CLI parses and documents its flags from here, the extension reads its settings
// against it, and a test checks package.json's `contributes.configuration` against it. The scope
// setting's names and syntax are in scope.ts.
import type { AnalyzeOptions, BaselineName, ExecutionProvider, ModelOptions, ResizeMode } from './api';
import type { AnalysisResult, Formula, Rule, ScopeSetting } from './result';

export const FORMULAS: readonly Formula[] = ['reference', 'paper'];
/** Integration rules of the m steps: left Riemann (the paper's), midpoint, Gauss-Legendre (src/engine/quadrature.ts). */
export const RULES: readonly Rule[] = ['left', 'midpoint', 'gauss'];
export const BASELINES: readonly BaselineName[] = ['activation', 'ig', 'ip', 'random'];
export const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda'];
export const RESIZES: readonly ResizeMode[] = ['bilinear', 'bicubic', 'nearest'];

/**
 * Bounds of the analysis options: a request from anywhere (CLI, worker, settings) stays within them.
 * The cost grows linearly with the steps m and with the random paths.
 */
export const STEPS_RANGE = { min: 1, max: 1000 } as const;
export const RANDOM_COUNT_RANGE = { min: 0, max: 1000 } as const;
export const SEED_RANGE = { min: 0, max: 2 ** 32 - 1 } as const;
/** Neurons per layer of a top-K path: the setting's bounds; the engine also bounds K by the neurons per layer. */
export const TOP_K_RANGE = { min: 1, max: 64 } as const;
/** Feature visualization: optimisation steps (each a forward and backward pass of the blocks up to the neuron's). */
export const VISUALIZE_STEPS_RANGE = { min: 1, max: 4096 } as const;
export const VISUALIZE_DEFAULTS = { steps: 256, seed: 0, learningRate: 0.05 } as const;

export const DEFAULTS = {
  steps: 20,                        // m, as in the paper
  rule: 'left' as Rule,             // alpha_k = k/m, as the paper's code
  formula: 'reference' as Formula,  // reproduces the published code's paths
  target: 'predicted' as const,
  baselines: BASELINES,             // all of them
  randomCount: 10,
  randomSeed: 0,
  topK: 1,                          // the path: one neuron per layer
  scope: 'auto' as ScopeSetting,
  executionProvider: 'cpu' as ExecutionProvider,
  threads: 0,                       // onnxruntime's choice
} as const;

/** Which token rows an intervention (a scaled pass) multiplies: the readout rows, or every row. */
export type InterventionRows = 'readout' | 'all';
export const INTERVENTION_ROWS: readonly InterventionRows[] = ['readout', 'all'];

/** The pruning check's defaults: `report --prune` and the folder panel's form. */
export const PRUNING_DEFAULTS = {
  keep: 5,                          // path neurons kept per block
  holdout: 0.2,                     // share of each class's images held out for measuring
  fractions: [0.1, 0.3, 0.5, 0.7, 0.9] as readonly number[], // shares of each block's neurons zeroed
  seed: 0,
} as const;

/**
 * Held-out images under which a pruning check cannot tell its variants apart: one image moves the
 * accuracy by more than 3 points, so the curves coincide or cross by chance; the panel says so.
 */
export const PRUNING_MIN_IMAGES = 30;

/** Images a neuron view lists: the panel's grid, and the CLI's shorter list. */
export const NEURON_TOP_IMAGES = { view: 12, cli: 9 } as const;

/** Image files by extension: what a folder scan takes, what the extension opens and offers in its menus (package.json's when-clause agrees; a test checks). */
export const IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'];

/** Whether a file's name (or path) has an image extension, in any case; a dot file such as `.png` has none. */
export function isImageFileName(file: string): boolean {
  const name = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot + 1).toLowerCase());
}

/**
 * The "fast" preset (not the paper's setting): fewer steps with Gauss-Legendre points, which on the
 * bundled model's test images finds the converged path (m = 200, left) at least as often as the
 * paper's m = 20 with the left rule (README, Quadrature; scripts/quadrature-table.mjs).
 */
export const FAST = { steps: 8, rule: 'gauss' as Rule } as const;

/** Whether a result's steps and rule are the fast preset's. */
export const isFast = (s: { steps: number; rule?: Rule }): boolean => s.steps === FAST.steps && s.rule === FAST.rule;

export type ResolvedAnalyzeOptions = Required<Omit<AnalyzeOptions, 'baselines'>> & { baselines: BaselineName[] };

/** Every analyze option, missing ones from DEFAULTS (the random count is 0 without random paths). */
export function resolveAnalyzeOptions(o: AnalyzeOptions): ResolvedAnalyzeOptions {
  const baselines = [...(o.baselines ?? DEFAULTS.baselines)];
  return {
    target: o.target ?? DEFAULTS.target,
    steps: o.steps ?? DEFAULTS.steps,
    rule: o.rule ?? DEFAULTS.rule,
    formula: o.formula ?? DEFAULTS.formula,
    baselines,
    randomCount: baselines.includes('random') ? o.randomCount ?? DEFAULTS.randomCount : 0,
    randomSeed: o.randomSeed ?? DEFAULTS.randomSeed,
    topK: o.topK ?? DEFAULTS.topK,
  };
}

/** Which baselines a result has (a record made before settings.baselines: the ones present). */
export function ranBaselines(r: Pick<AnalysisResult, 'settings' | 'baselines'>): BaselineName[] {
  if (r.settings.baselines) return [...r.settings.baselines];
  const b = r.baselines;
  return BASELINES.filter((n) => (n === 'activation' ? b.activation : n === 'ig' ? b.integratedGradients : n === 'ip' ? b.influencePattern : b.random));
}

/** The wanted baselines a result lacks, in the usual order. */
export function missingBaselines(r: Pick<AnalysisResult, 'settings' | 'baselines'>, wanted: readonly BaselineName[]): BaselineName[] {
  const ran = new Set(ranBaselines(r));
  return BASELINES.filter((b) => wanted.includes(b) && !ran.has(b));
}

/** The model option that changes results, missing from DEFAULTS. */
export function resolvedScope(o: Pick<ModelOptions, 'scope'>): ScopeSetting {
  return o.scope ?? DEFAULTS.scope;
}
