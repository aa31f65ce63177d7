// `neuron-path compare A B`: two images' paths side by side. A and B are images (analysed here with
// the analyze options) or neuron-path/1 JSON records (--json of analyze); the JAS of each path on
// the other image is computed with the model.
import { ANALYSIS_RECORDS } from '../engine/batch/records';
import { lineProblem } from '../engine/batch/resultFile';
import { EngineError } from '../engine/errors';
import { readRegular } from '../engine/files';
import type { AnalysisResult, AnalyzeOptions, Engine } from '../engine/index';
import { openEngine } from './supervised';
import type { PathComparison } from '../engine/pathCompare';
import { comparePaths } from '../operations/comparePaths';
import { analyzeOptions, modelOptions, UsageError, type Flags } from './args';
import { inProcess } from './inProcess';
import { formatNumber } from '../format';
import { checkOutput, writeOutput } from './output';
import { table } from './report';
import { safeLine, safeText, warnDefaults } from './terminal';

export const COMPARE_USAGE = `
usage: neuron-path compare A B [--json OUT] [analyze options]
  Two paths side by side: the layers where they share a neuron, the rank of each path neuron among
  the other image's scores of its layer, and the JAS of each path on the other image (explaining
  that image's target). A and B are images, or neuron-path/1 records written by analyze --json.
`;

async function resultOf(engine: Engine, file: string, options: AnalyzeOptions): Promise<AnalysisResult> {
  if (!/\.json$/i.test(file)) return engine.analyze(file, options);
  let r: unknown;
  try {
    r = JSON.parse(readRegular(file, 'record').toString('utf8'));
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw new EngineError('result-file', `cannot read ${file} as a neuron-path/1 record (${(e as Error).message})`, { file, role: 'record' });
  }
  const problem = lineProblem(r, ANALYSIS_RECORDS);
  if (problem || (r as AnalysisResult).schema !== 'neuron-path/1') throw new EngineError('result-file', `${file} is not a usable neuron-path/1 record (${problem ?? 'an error line'})`, { file, role: 'record' });
  const record = r as AnalysisResult;
  if (record.model.sha256 !== engine.info.sha256) {
    throw new EngineError('result-settings', `${file} was made with another model (${record.model.path}, sha256 ${record.model.sha256.slice(0, 12)}...) than --model (sha256 ${engine.info.sha256.slice(0, 12)}...); give that model with --model`, { file, role: 'record', files: [file] });
  }
  return record;
}

export async function compare(f: Flags, positionals: string[]): Promise<number> {
  if (positionals.length !== 2) throw new UsageError(`compare takes two images (or records), got ${positionals.length}`);
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeLine(msg)}\n`); };
  const mOpts = modelOptions(f), aOpts = analyzeOptions(f);
  const json = checkOutput('--json', f.json, { inputs: [...positionals, mOpts.modelPath], force: f.force });
  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts);
  warnDefaults(engine.info);
  try {
    log(`analysing ${positionals.join(' and ')}`);
    const [a, b] = [await resultOf(engine, positionals[0], aOpts), await resultOf(engine, positionals[1], aOpts)];
    log('the JAS of each path on the other image');
    const c = await comparePaths.run(inProcess(engine, mOpts), { a, b });
    process.stdout.write(`${safeText(formatComparison(c))}\n`);
    writeOutput(json, [`${JSON.stringify(c)}\n`]);
    return 0;
  } finally {
    await engine.dispose();
  }
}

export function formatComparison(c: PathComparison): string {
  const name = (p: string) => safeLine(p.split(/[\\/]/).pop() ?? p);
  const out = [
    `A  ${safeLine(c.a.image)}: explains ${safeLine(c.a.target.label) || c.a.target.class} (p ${formatNumber(c.a.target.probability)})`,
    `B  ${safeLine(c.b.image)}: explains ${safeLine(c.b.target.label) || c.b.target.class} (p ${formatNumber(c.b.target.probability)})`,
    '', `Shared neurons: ${c.shared} of ${c.layers.length} layers. Rank: among the other image's ${c.neurons} scores of the layer (1 = the other path's choice).`,
    ...table(['layer', 'A neuron', 'rank in B', 'B neuron', 'rank in A', ''],
      c.layers.map((l) => [`L${l.layer}`, String(l.a), String(l.aRankInB), String(l.b), String(l.bRankInA), l.same ? 'shared' : ''])),
    '', 'JAS (each path explaining each image\'s target):',
    ...table(['path', `on A (${name(c.a.image)})`, `on B (${name(c.b.image)})`],
      [['A', formatNumber(c.a.jas), formatNumber(c.a.jasOnOther)], ['B', formatNumber(c.b.jasOnOther), formatNumber(c.b.jas)]]),
  ];
  return out.join('\n');
}
