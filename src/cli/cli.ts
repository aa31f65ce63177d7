// `neuron-path`: the engine from a terminal. Progress on stderr, a summary on stdout, JSON on request.
import type { LayerProgress } from '../engine/index';
import { analysisProgressText } from '../format';
import { BASELINES, DEFAULTS, FAST, FORMULAS, PROVIDERS, RESIZES, RULES, STEPS_RANGE } from '../engine/options';
import { analyzeOptions, modelOptions, parse, UsageError, type Flags } from './args';
import { batch, BATCH_USAGE } from './batch';
import { checkOutput, recordOf, writeOutput } from './output';
import { compare, COMPARE_USAGE } from './compare';
import { exportEdited, intervene, INTERVENE_USAGE } from './intervene';
import { neuron, NEURON_USAGE } from './neuron';
import { report } from './report';
import { summary } from './summary';
import { visualizeCommand, VISUALIZE_USAGE } from './visualize';
import { isCancelled } from '../engine/errors';
import { onceSignals, openEngine, startSupervised } from './supervised';
import { errorLine, safeLine, safeText, warnDefaults } from './terminal';

/** 'a (default) | b | c' */
function choices(values: readonly string[], fallback: string): string {
  return values.map((v) => (v === fallback ? `${v} (default)` : v)).join(' | ');
}

const USAGE = `usage: neuron-path analyze IMAGE [options]

  --model M            ONNX file, or a model folder as the hubs give it (model.onnx or
                       onnx/model.onnx; default: the bundled Fashion-MNIST ViT)
  --labels FILE        labels.txt, or config.json with id2label or label_names (default: the model folder's)
  --target CLASS       class index to explain, or 'predicted' (default)
  --steps N            integration steps m, ${STEPS_RANGE.min}..${STEPS_RANGE.max} (default ${DEFAULTS.steps})
  --rule R             where the m steps are taken: ${choices(RULES, DEFAULTS.rule)}
                       (left: alpha = k/m, the paper's; gauss: Gauss-Legendre on [0,1])
  --fast               --steps ${FAST.steps} --rule ${FAST.rule}: finds the converged path as often as the
                       paper's m = ${DEFAULTS.steps} (README, Quadrature); not the paper's setting
  --formula F          ${choices(FORMULAS, DEFAULTS.formula)} (reference: the published code's)
  --scope S            token rows the neurons are read at: auto (default: the rows the head
                       reads, found from the graph) | cls (token 0) | patches (the patch grid,
                       the last gh*gw tokens) | all | a:b (rows a..b-1, e.g. 0:2)
  --baselines LIST     ${BASELINES.join(',')} (default: all) or none; ip = influence pattern
  --top-k K            K neurons per layer (default ${DEFAULTS.topK}: the path); the first of each layer is the path
  --random N           number of random baseline paths (default ${DEFAULTS.randomCount}); --seed S (default ${DEFAULTS.randomSeed})
  --threads N          onnxruntime intra-op threads (default: all cores)
  --provider P         ${choices(PROVIDERS, DEFAULTS.executionProvider)}
  --size HxW --mean a,b,c --std a,b,c --resize ${RESIZES.join('|')}
                       override the model folder's preprocessing (preprocessor_config.json,
                       timm config.json pretrained_cfg, or open_clip_config.json)
  --json FILE          write the neuron-path/1 record to FILE ('-' for stdout); an existing FILE
                       is replaced only if it is the record of the same image, or with --force
  -q, --quiet          no progress on stderr
${BATCH_USAGE}${NEURON_USAGE}${VISUALIZE_USAGE}${COMPARE_USAGE}${INTERVENE_USAGE}`;

async function analyze(f: Flags, positionals: string[]): Promise<void> {
  const image = positionals[0];
  if (!image) throw new UsageError('analyze needs an IMAGE');
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeLine(msg)}\n`); };
  const controller = new AbortController();
  onceSignals(['SIGINT'], () => { log('cancelling...'); controller.abort(); });
  const hooks = { signal: controller.signal, onProgress: (p: LayerProgress) => log(`  ${analysisProgressText(p)}`) };
  const mOpts = modelOptions(f);
  const aOpts = analyzeOptions(f);
  const json = checkOutput('--json', f.json, { inputs: [image, mOpts.modelPath, ...(mOpts.labelsPath ? [mOpts.labelsPath] : [])], force: f.force, keeps: recordOf(image) });
  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts, hooks);
  warnDefaults(engine.info);
  try {
    const result = await engine.analyze(image, aOpts, hooks);
    if (json === '-') process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      writeOutput(json, [`${JSON.stringify(result, null, 1)}\n`]);
      process.stdout.write(`${safeText(summary(result))}\n`);
    }
  } finally {
    await engine.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  startSupervised();
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') { process.stdout.write(USAGE); return command ? 0 : 2; }
    if (command === 'report') return await report(rest);
    if (command === 'neuron') return await neuron(rest);
    if (command === 'visualize') return await visualizeCommand(rest);
    if (command === 'intervene') return await intervene(rest);
    if (command === 'export-edited') return await exportEdited(rest);
    const { values, positionals } = parse(rest);
    if (values.help) { process.stdout.write(USAGE); return 0; }
    if (command === 'analyze') { await analyze(values, positionals); return 0; }
    if (command === 'batch') return await batch(values, positionals);
    if (command === 'compare') return await compare(values, positionals);
    throw new UsageError(`unknown command '${command}'`);
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) { process.stderr.write(`neuron-path: ${safeText(err.message)}\n\n${USAGE}`); return 2; }
    if (isCancelled(err)) { process.stderr.write('neuron-path: cancelled\n'); return 130; }
    process.stderr.write(`neuron-path: ${errorLine(err)}\n`);
    if (process.env.NEURON_PATH_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  // Past `ulimit -f` a write fails (EFBIG) and is reported, instead of the signal killing the process mid-write.
  process.on('SIGXFSZ', () => {});
  void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
