// `neuron-path visualize --layer L --neuron J`: the image that excites a neuron (or a class) most,
// by gradient ascent on the input (src/engine/visualize/). Writes the PNG and, on request, the record.
import { parseArgs } from 'node:util';
import type { VisualizationRecord, VisualizeRequest } from '../engine/index';
import { onceSignals, openEngine } from './supervised';
import { SEED_RANGE, VISUALIZE_DEFAULTS, VISUALIZE_STEPS_RANGE } from '../engine/options';
import { formatNumber } from '../format';
import { visualize } from '../operations/visualize';
import { ANALYZE_FLAGS, int, modelOptions, oneOf, UsageError } from './args';
import { inProcess } from './inProcess';
import { checkOutput, writeOutput } from './output';
import { safeText } from './terminal';

export const VISUALIZE_USAGE = `
usage: neuron-path visualize --layer L --neuron J [--rows readout|patches] | --class C
                             [--steps N] [--seed S] [--size HxW] [--out FILE.png] [--json OUT] [model options]
  What a neuron looks for: the image that maximises it, by gradient ascent on the input (a Fourier,
  decorrelated-colour image under a random shift, scale and rotation at every step, Adam), from a
  seeded random start: the same seed gives the same PNG. Written at the model's input size; the
  activation printed is measured on the written PNG, read back and preprocessed as any image.
  --layer L --neuron J  the neuron (block L, FFN neuron J; 0-based)
  --rows R             readout (default: the neuron's value at the rows the head reads, summed) |
                       patches (summed over the patch tokens)
  --class C            the class logit instead of a neuron
  --steps N            optimisation steps, ${VISUALIZE_STEPS_RANGE.min}..${VISUALIZE_STEPS_RANGE.max} (default ${VISUALIZE_DEFAULTS.steps}); --seed S (default ${VISUALIZE_DEFAULTS.seed})
  --size HxW           a larger image, tiled: each step optimises a random window of the input's size
                       (default: the model's input size); the record adds each corner's and the centre's activation
  --out FILE.png       the image (default ./neuron-L<L>-<J>.png, or ./class-<C>.png)
  --json OUT           the neuron-path/visualization-1 record: the objective per step, the final activation
                       (--force: replace an input or a file of other results)
`;

const FLAGS = {
  ...Object.fromEntries(['model', 'labels', 'scope', 'threads', 'provider', 'mean', 'std', 'resize'].map((k) => [k, ANALYZE_FLAGS[k as keyof typeof ANALYZE_FLAGS]])),
  layer: { type: 'string' }, neuron: { type: 'string' }, rows: { type: 'string' }, class: { type: 'string' },
  steps: { type: 'string' }, seed: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' },
  json: { type: 'string' }, force: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
} as const;

function request(f: { layer?: string; neuron?: string; rows?: string; class?: string; steps?: string; seed?: string; size?: string }): VisualizeRequest {
  const steps = int('steps', f.steps, VISUALIZE_STEPS_RANGE.min, VISUALIZE_STEPS_RANGE.max), seed = int('seed', f.seed, SEED_RANGE.min, SEED_RANGE.max);
  const size = sizeOf(f.size);
  const common = { steps, seed, ...(size ? { size } : {}) };
  if (f.class !== undefined) {
    if (f.layer !== undefined || f.neuron !== undefined || f.rows !== undefined) throw new UsageError('give --class C, or --layer L --neuron J [--rows R], not both');
    return { class: int('class', f.class, 0), ...common };
  }
  if (f.layer === undefined || f.neuron === undefined) throw new UsageError('name a neuron (--layer L --neuron J) or a class (--class C)');
  return { layer: int('layer', f.layer, 0), neuron: int('neuron', f.neuron, 0), rows: oneOf('rows', f.rows, ['readout', 'patches'] as const), ...common };
}

/** `--size HxW` (height x width, in pixels); the engine checks it against the model's input. */
function sizeOf(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) throw new UsageError(`--size takes HxW in pixels (height x width, e.g. 448x448), not "${text}"`);
  return [Number(m[1]), Number(m[2])];
}

export async function visualizeCommand(argv: string[]): Promise<number> {
  let parsed;
  try { parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: false, strict: true }); } catch (e) { throw new UsageError((e as Error).message); }
  const f = parsed.values;
  if (f.help) { process.stdout.write(VISUALIZE_USAGE); return 0; }
  const req = request(f);
  // --size here is the visualization's size, not the model options' preprocessing size.
  const mOpts = modelOptions({ ...f, size: undefined });
  // Checked before any work: the image and the record are written whole, never over an input or other results.
  const out = checkOutput('--out', f.out ?? (req.class !== undefined ? `class-${req.class}.png` : `neuron-L${req.layer}-${req.neuron}.png`),
    { inputs: [mOpts.modelPath], force: f.force })!;
  const json = checkOutput('--json', f.json, {
    inputs: [mOpts.modelPath, out], force: f.force,
    keeps: (_file, schema) => (schema && schema !== 'neuron-path/visualization-1' ? `holds neuron-path results (${schema})` : undefined),
  });
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeText(msg)}\n`); };
  const controller = new AbortController();
  const onSigint = () => { log('cancelling...'); controller.abort(); };
  const offSigint = onceSignals(['SIGINT'], onSigint);
  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts);
  try {
    let next = 0;
    const record = await visualize.run(inProcess<'step'>(engine, mOpts, {
      signal: controller.signal,
      onProgress: ({ step, steps, value }) => {
        if (step < next && step !== steps) return;
        next = step + Math.ceil(steps / 10);
        log(`  step ${step}/${steps}: ${formatNumber(value)}`);
      },
    }), { ...req, out });
    if (json === '-') process.stdout.write(`${JSON.stringify(record)}\n`);
    else {
      writeOutput(json, [`${JSON.stringify(record)}\n`]);
      process.stdout.write(`${safeText(visualizationSummary(record))}\n`);
    }
    return 0;
  } finally {
    offSigint();
    await engine.dispose();
  }
}

export function visualizationSummary(r: VisualizationRecord): string {
  const o = r.objective;
  const what = o.kind === 'class' ? `class ${o.class}${o.label ? ` (${o.label})` : ''}, its logit`
    : `layer ${o.layer}, neuron ${o.neuron}, summed over the ${o.rows === 'readout' ? 'readout' : 'patch'} rows (${o.rowIndices.length})`;
  const first = r.objectivePerStep[0], last = r.objectivePerStep[r.objectivePerStep.length - 1];
  const ascended = o.kind === 'class' ? 'logit' : o.ascended;
  return [
    `Visualization of ${what}`,
    `  ${r.settings.steps} steps (seed ${r.settings.seed}): ${ascended} ${formatNumber(first)} at the first step, ${formatNumber(last)} at the last (on that step's transformed image)`,
    `  ${o.kind === 'class' ? 'Logit' : 'Activation'} on ${r.image.path} (${r.image.width}x${r.image.height}, read back and preprocessed): ${formatNumber(r.finalActivation)}`,
    ...(r.tiles ? [`  Its ${r.model.inputSize.join('x')} windows (top-left, top-right, bottom-left, bottom-right, centre): ${r.tiles.map((t) => formatNumber(t.activation)).join(', ')}`] : []),
    `  ${formatNumber(r.timing.seconds)} s (${formatNumber(1000 * r.timing.perStep)} ms per step)`,
  ].join('\n');
}
