// `neuron-path report FILE.jsonl`: what a batch run shows, as text (and JSON with --json): the method
// comparison, the top path neurons per class, the class similarity matrix and the pruning curve.
import * as path from 'node:path';
import {
  ANALYSIS_RECORDS, ANALYSIS_SCHEMA, ERROR_SCHEMA, expandResults, lineImageKey, loadReports, lockResultFile, pruningCheck, readResultFileSync, skippedSummary, SIMILAR_TOP_DEFAULT, SIMILAR_TOP_RANGE, SimilarityIndex, similarityPairs, topNeurons,
  type BatchLine, type BatchRecord, type BatchReport, type CategoryPatterns, type GroupBy, type PruningCurve, type ResultSet,
} from '../engine/batch/index';
import { sha256File } from '../engine/hash';
import type { ModelOptions } from '../engine/index';
import { onceSignals, openEngine } from './supervised';
import { PRUNING_DEFAULTS } from '../engine/options';
import { locateModel } from '../engine/modelLocation';
import { batchProgressText, formatNumber, formatPercent as pct, formatSpread, pace, stepsText } from '../format';
import { int, parseFlags, UsageError } from './args';
import { SEED_RANGE } from '../engine/options';
import { checkOutput, writeOutput, type OutputRules } from './output';
import { BATCH_USAGE } from './batch';
import { safeLine, safeText, warnDefaults } from './terminal';

const FLAGS = {
  model: { type: 'string' }, labels: { type: 'string' }, threads: { type: 'string' }, provider: { type: 'string' },
  prune: { type: 'string' }, keep: { type: 'string' }, seed: { type: 'string' }, top: { type: 'string' }, by: { type: 'string' },
  holdout: { type: 'string' }, layers: { type: 'string' }, similar: { type: 'string' },
  json: { type: 'string' }, merged: { type: 'string' }, force: { type: 'boolean' }, matrix: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
} as const;

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const REFERENCE = { 'folder class': 'the folder class', 'clean prediction': 'the clean prediction', mixed: 'the folder class where known, else the clean prediction' };

export function table(header: string[], rows: string[][], indent = '  '): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `${indent}${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Up to this many classes the similarity matrix is printed; past it, the most similar pairs (--matrix: the matrix anyway). */
const MATRIX_CLASSES = 20;
const SIMILAR_PAIRS = 20;

export function formatReport(r: BatchReport, top = 3, matrix = false): string {
  const out: string[] = [];
  const m = r.model;
  out.push(`Results    ${safeLine(r.file)}: ${r.images} images${r.errors.length ? `, ${r.errors.length} could not be analysed` : ''}` +
    `${r.unreadableLines ? `, ${r.unreadableLines} unreadable lines skipped` : ''}`);
  if (r.duplicates?.images) {
    out.push(`           ${plural(r.duplicates.images, 'image')} had more than one line (${r.duplicates.lines} in all, e.g. from a re-run shard): the newest line of each is used`);
  }
  for (const s of r.shards ?? []) {
    if (!s.missing.length && !s.extra.length) continue;
    const list = (xs: string[]) => `${xs.slice(0, 3).map((x) => safeLine(path.basename(x))).join(', ')}${xs.length > 3 ? `, ... (${xs.length} in all)` : ''}`;
    out.push(`           incomplete shard set ${safeLine(s.files)}: ${s.found} of ${s.count} shards` +
      `${s.missing.length ? `; missing ${list(s.missing)}` : ''}${s.extra.length ? `; not shards of ${s.count}: ${list(s.extra)}` : ''}: this report covers only part of the folder`);
  }
  out.push(`Model      ${safeLine(m.path)} (${m.layers} layers x ${m.neuronsPerLayer} neurons, scope ${m.scope})`);
  out.push(`Settings   ${r.settings.formula} formula, ${stepsText(r.settings)}, target ${r.settings.target}`);
  const by = r.patterns.groupBy === 'predicted' ? 'predicted class' : r.patterns.classes.some((c) => c.key.startsWith('class:')) && r.accuracy ? 'folder class' : 'folder or predicted class';
  out.push(`Classes    ${r.patterns.classes.length} (grouped by ${by})${r.accuracy ? `; clean top-1 accuracy ${pct(r.accuracy.accuracy)} on ${r.accuracy.images} images with a folder class` : ''}`);
  for (const e of r.errors.slice(0, 5)) out.push(`  not analysed: ${safeLine(e.image)}: ${safeLine(e.error)}`);
  if (r.errors.length > 5) out.push(`  ... and ${r.errors.length - 5} more`);

  out.push('', 'Method comparison (mean ± std over images; deviation = target probability after - before):');
  out.push(...table(
    ['method', 'images', 'JAS', 'remove (x0) dev', 'enhance (x2) dev', 'top-1 kept after remove', 'path better: JAS', 'remove', 'enhance'],
    r.comparison.map((s) => [
      s.name, String(s.images), formatSpread(s.jas), formatSpread(s.removeDeviation, true), formatSpread(s.enhanceDeviation, true),
      pct(s.removeKept), s.pathBeats ? pct(s.pathBeats.jas) : '', s.pathBeats ? pct(s.pathBeats.remove) : '', s.pathBeats ? pct(s.pathBeats.enhance) : '',
    ])));
  out.push('  "path better": share of images where the path has the higher JAS, the larger drop on remove, the larger rise on enhance.');

  out.push('', `Top path neurons per class (per layer: neuron frequency, the ${top} most frequent):`);
  for (const c of r.patterns.classes) {
    out.push(`  ${safeLine(c.label)} (${plural(c.count, 'image')})`);
    topNeurons(c, top).forEach((l, layer) => out.push(`    L${String(layer).padEnd(3)}${l.map((n) => `${String(n.neuron).padStart(5)} ${pct(n.frequency).padStart(6)}`).join('   ')}`));
  }

  const names = r.patterns.classes.map((c) => safeLine(c.label));
  const short = names.map((n) => n.slice(0, 7));
  if (matrix || names.length <= MATRIX_CLASSES) {
    out.push('', 'Class similarity (cosine of the path-neuron frequency vectors, all layers):');
    // A row at a time from the patterns: the report keeps only each class's most similar classes.
    const index = new SimilarityIndex(r.patterns.classes);
    out.push(...table(['', ...short], names.map((name, i) => [name.slice(0, 14), ...[...index.row(i)].map((x) => x.toFixed(2))])));
    const pairs = similarityPairs(r.patterns, 5);
    if (pairs.length) out.push(`  most similar: ${pairs.map((p) => `${safeLine(p.a)} ~ ${safeLine(p.b)} ${p.similarity.toFixed(2)}`).join(', ')}`);
  } else {
    // Exact for as many pairs as the report keeps similar classes per class (see similarityPairs).
    const shown = Math.min(SIMILAR_PAIRS, r.patterns.similarTop);
    out.push('', `Class similarity (cosine of the path-neuron frequency vectors, all layers): the ${shown} most similar of the ` +
      `${names.length * (names.length - 1) / 2} pairs of ${names.length} classes (--matrix prints the ${names.length} x ${names.length} matrix):`);
    out.push(...table(['class', 'class', 'cosine'], similarityPairs(r.patterns, shown).map((p) => [safeLine(p.a), safeLine(p.b), p.similarity.toFixed(2)])));
  }

  if (r.pruning) {
    const p = r.pruning;
    const held = p.holdout > 0
      ? `kept neurons chosen on ${pct(1 - p.holdout)} of each class's images, accuracy on the other ${pct(p.holdout)} (${plural(p.images, 'image')})`
      : `kept neurons chosen and accuracy measured on the same ${plural(p.images, 'image')} (--holdout 0)`;
    out.push('', `Pruning: in the first ${p.layers} of ${m.layers} blocks a random fraction of the ${m.neuronsPerLayer} readout neurons is zeroed; ` +
      `"path" spares the class's ${p.keep} most frequent path neurons per block, "activation" as many of the activation baseline's, ` +
      `"random" as many random ones; ${held}; seed ${p.seed}; accuracy: top-1 is ${REFERENCE[p.reference]}.`);
    out.push(...table(
      ['zeroed', 'acc: none kept', 'path', 'activation', 'random', 'P(target): none kept', 'path', 'activation', 'random'],
      [['0% (clean)', pct(p.clean.accuracy), '', '', '', formatNumber(p.clean.targetProbability, 4), '', '', ''],
        ...p.points.map((q) => [`${(100 * q.fraction).toFixed(0)}%`, pct(q.accuracy.unprotected), pct(q.accuracy.protected), pct(q.accuracy.activation), pct(q.accuracy.control),
          formatNumber(q.targetProbability.unprotected, 4), formatNumber(q.targetProbability.protected, 4), formatNumber(q.targetProbability.activation, 4), formatNumber(q.targetProbability.control, 4)])]));
    if (r.patterns.groupBy !== 'predicted' && p.reference !== 'clean prediction') {
      out.push(`  Each measured image is pruned with the kept neurons of its folder class, i.e. chosen by its label${p.holdout > 0 ? ' (on other images)' : ''}; ` +
        '--by predicted uses the class the model predicts instead.');
    }
    for (const s of p.skipped.slice(0, 5)) out.push(`  skipped ${safeLine(s.image)}: ${safeLine(s.reason)}`);
    if (p.skipped.length > 5) out.push(`  ... and ${p.skipped.length - 5} more skipped`);
  }
  return out.join('\n');
}

function numberList(name: string, v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  const xs = parts.map((x) => Number(x.replace(/%$/, '')) / (x.endsWith('%') ? 100 : 1));
  if (parts.some((x) => !x) || xs.some((x) => !(x >= 0 && x <= 1))) throw new UsageError(`--${name} takes fractions in 0..1 (or percentages), got '${v}'`);
  return xs;
}

export async function report(argv: string[]): Promise<number> {
  const { values: f, positionals } = parseFlags(argv, FLAGS);
  if (f.help) { process.stdout.write(BATCH_USAGE); return 0; }
  if (!positionals.length) throw new UsageError('report needs result files (from neuron-path batch), a folder of them, or a quoted glob');
  const by = (f.by ?? 'auto') as GroupBy;
  if (!['auto', 'folder', 'predicted'].includes(by)) throw new UsageError(`--by must be one of auto|folder|predicted, got '${f.by}'`);
  const top = int('top', f.top, 1) ?? 3, keep = int('keep', f.keep, 0) ?? PRUNING_DEFAULTS.keep, seed = int('seed', f.seed, SEED_RANGE.min, SEED_RANGE.max) ?? PRUNING_DEFAULTS.seed;
  const layers = int('layers', f.layers, 1);
  const similarTop = int('similar', f.similar, SIMILAR_TOP_RANGE.min, SIMILAR_TOP_RANGE.max) ?? SIMILAR_TOP_DEFAULT;
  const holdout = f.holdout === undefined ? PRUNING_DEFAULTS.holdout : numberList('holdout', f.holdout)[0];
  if (f.holdout !== undefined && (f.holdout.includes(',') || !(holdout < 1))) throw new UsageError(`--holdout takes one fraction in [0, 1) (or a percentage), got '${f.holdout}'`);
  const fractions = f.prune !== undefined ? numberList('prune', f.prune) : undefined;
  if (f.provider !== undefined && f.provider !== 'cpu' && f.provider !== 'cuda') throw new UsageError(`--provider must be one of cpu|cuda, got '${f.provider}'`);
  const threads = int('threads', f.threads, 0);
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeLine(msg)}\n`); };
  const inputs = [...await expandResults(positionals), ...(f.model ? [f.model] : []), ...(f.labels ? [f.labels] : [])];
  const json = checkOutput('--json', f.json, { inputs, force: f.force });

  // --merged writes every line; a summary alone reads records without their per-neuron arrays.
  const { report: r, records, set } = await loadReports(positionals, { by, similarTop }, { slim: !f.merged });
  // The model is what the pruning check runs: it comes from the command line, never from the files.
  if (fractions && !f.model) throw new UsageError(`--prune runs the model: give it with --model (the records name ${records[0].model.path})`);
  for (const line of skippedLines(set)) log(line);
  const merged = checkOutput('--merged', f.merged, { inputs, force: f.force, keeps: keptImages(set) });
  if (merged) await writeMerged(merged, set, log);
  if (fractions) r.pruning = await prune(records, r.patterns, { fractions, keep, seed, holdout, layers, model: f.model!, labels: f.labels, threads, provider: f.provider, log, quiet: !!f.quiet });
  process.stdout.write(`${safeText(formatReport(r, top, f.matrix))}\n`);
  writeOutput(json, [`${JSON.stringify(r)}\n`]);
  return 0;
}

/** What --merged may replace: a result file whose every image is in the merged set (the same report made again). */
function keptImages(set: ResultSet<BatchLine>): OutputRules['keeps'] {
  return (file, schema) => {
    if (schema !== ANALYSIS_SCHEMA && schema !== ERROR_SCHEMA) return 'is not a neuron-path result file';
    const images = new Set(set.lines.map(lineImageKey));
    const lost = readResultFileSync(file, { kind: ANALYSIS_RECORDS, slim: true }).lines.map(lineImageKey).filter((i) => !images.has(i));
    return lost.length ? `holds ${plural(lost.length, 'image')} that the merged result does not (e.g. ${lost[0]}): replacing it would lose them` : undefined;
  };
}

/** "FILE: 3 lines skipped: line 4 (...)" for each file of the set with lines that are not records. */
function skippedLines(set: ResultSet<BatchLine>): string[] {
  return set.files.flatMap((file) => {
    const summary = skippedSummary(set.skipped.filter((s) => s.file === file));
    return summary ? [`${file}: ${summary}`] : [];
  });
}

/** What the files hold, one line per image (errors included), as one result file (locked while written; never over another kind of file). */
async function writeMerged(file: string, set: ResultSet<BatchLine>, log: (m: string) => void): Promise<void> {
  const release = await lockResultFile(file, { log });
  try {
    writeOutput(file, set.lines.map((l) => `${JSON.stringify(l)}\n`));
  } finally {
    release();
  }
  log(`${set.lines.length} lines (one per image) from ${plural(set.files.length, 'file')} -> ${file}`);
}

async function prune(records: BatchRecord[], patterns: CategoryPatterns, o: {
  fractions: number[]; keep: number; seed: number; holdout: number; layers?: number; model: string; labels?: string; threads?: number; provider?: string; log: (m: string) => void; quiet: boolean;
}): Promise<PruningCurve> {
  const recorded = records[0];
  const modelPath = locateModel(o.model).file;
  // Checked before the model is opened (and anything it names is read).
  const sha256 = await sha256File(modelPath, 'model');
  if (sha256 !== recorded.model.sha256) {
    throw new Error(`${modelPath} is not the model the records were made with (sha256 ${sha256.slice(0, 12)}... vs ${recorded.model.sha256.slice(0, 12)}..., ${recorded.model.path}); give that model with --model`);
  }
  const saved = recorded.batch?.model;
  // The settings that change the numbers come from the records (the engine bounds them); paths do not.
  const options: ModelOptions = {
    modelPath, threads: o.threads,
    executionProvider: o.provider as ModelOptions['executionProvider'],
    scope: saved?.scope as ModelOptions['scope'], preprocess: saved?.preprocess, labelsPath: o.labels,
  };
  o.log(`pruning check with ${modelPath}`);
  const engine = await openEngine(options);
  warnDefaults(engine.info);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  const offSigint = onceSignals(['SIGINT'], onSigint);
  try {
    const started = performance.now();
    let last = 0;
    return await pruningCheck(engine, records, patterns, {
      fractions: o.fractions, keep: o.keep, seed: o.seed, holdout: o.holdout, layers: o.layers, labels: engine.info.labels, signal: controller.signal,
      onProgress: (done, total) => {
        const now = performance.now();
        if (o.quiet || (now - last < 1000 && done !== total)) return;
        last = now;
        o.log(`  pruning ${batchProgressText({ done, total, failed: 0, ...pace(done, (now - started) / 1000, total - done) })}`);
      },
    });
  } finally {
    offSigint();
    await engine.dispose();
  }
}
