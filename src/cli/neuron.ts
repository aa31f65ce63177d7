// `neuron-path neuron DIR --layer L --neuron J`: what a neuron responds to. Scans the folder (forward
// only, resumable, one line per image) and prints, per neuron, the images that excite it most with
// the patch where it peaks, its mean activation per class, and accuracy and target probability per
// class with it zeroed; for a whole block, its most class-selective neurons.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadReport, LOCK_STALE, modelSettings, scanNotes, settingsDifferences, type CategoryPatterns } from '../engine/batch/index';
import { EngineError } from '../engine/errors';
import type { ModelOptions } from '../engine/index';
import { onceSignals, openEngine, tellSupervisor } from './supervised';
import { NEURON_TOP_IMAGES } from '../engine/options';
import { MAX_SCAN_BATCH, NEURON_RECORDS, parseUnits, scanFolderNeurons, selectiveNeurons, summarizeNeuron, unitName, type NeuronSummary } from '../engine/neurons/index';
import { neuronScanSuffix, type NeuronUnit } from '../engine/batch/schema';
import { recordsOf } from '../engine/batch/records';
import { readResultFile } from '../engine/batch/resultFile';
import { ANALYZE_FLAGS, int, modelOptions, parseFlags, UsageError } from './args';
import { safeLine, safeText } from './terminal';
import { checkOutput, writeOutput } from './output';
import { batchProgressText, durationText, formatNumber, formatPercent as pct } from '../format';
import { plural, table } from './report';
import { warnDefaults } from './terminal';

export const NEURON_USAGE = `
usage: neuron-path neuron DIR --layer L [--neuron J] [--neurons L:J,L:J,L] [--top K] [--paths FILE.jsonl]
                          [--out FILE.jsonl] [--limit N] [--batch N] [--json OUT] [model options]
  What a neuron responds to: scans every image of DIR (forward only, several images per run), then
  prints the K images that excite the neuron most and the patch where it peaks, its mean activation
  per class, and per class the accuracy and mean target probability with the neuron zeroed at the
  readout tokens against the clean run (target: the folder class, else the predicted class).
  --layer L --neuron J  the neuron (block L, FFN neuron J; 0-based); --layer alone: every neuron of L
  --neurons LIST       several at once: 3:29,5:100 (and 4 or 4:* for a whole block)
  --top K              images listed per neuron (default ${NEURON_TOP_IMAGES.cli})
  --paths FILE.jsonl   a folder analysis of the same images: how often the neuron is on each class's paths
  --out FILE.jsonl     the scan's result file (default ./<DIR name>.neurons-<selection>.jsonl); resumed
  --batch N            images per model run (default 16, at most 256)
  --lock-stale S       as for batch: another machine's lock on the scan file is stale after S seconds
  --json OUT           the summaries as JSON (--force: replace an input or a file of results)
`;

const FLAGS = {
  ...Object.fromEntries(['model', 'labels', 'scope', 'threads', 'provider', 'size', 'mean', 'std', 'resize', 'lock-stale'].map((k) => [k, ANALYZE_FLAGS[k as keyof typeof ANALYZE_FLAGS]])),
  layer: { type: 'string' }, neuron: { type: 'string' }, neurons: { type: 'string' }, top: { type: 'string' }, paths: { type: 'string' },
  out: { type: 'string' }, limit: { type: 'string' }, batch: { type: 'string' },
  json: { type: 'string' }, force: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
} as const;

function positive(name: string, v: string | undefined, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer >= 1, got '${v}'`);
  return n;
}

function selection(f: { layer?: string; neuron?: string; neurons?: string }): string {
  if (f.neurons !== undefined) {
    if (f.layer !== undefined || f.neuron !== undefined) throw new UsageError('give either --neurons L:J,... or --layer L [--neuron J], not both');
    return f.neurons;
  }
  if (f.layer === undefined) throw new UsageError(f.neuron !== undefined ? '--neuron needs --layer' : 'name a neuron: --layer L --neuron J (or --neurons L:J,...)');
  return f.neuron === undefined ? f.layer : `${f.layer}:${f.neuron}`;
}

export async function neuron(argv: string[]): Promise<number> {
  const { values: f, positionals } = parseFlags(argv, FLAGS);
  if (f.help) { process.stdout.write(NEURON_USAGE); return 0; }
  const dir = positionals[0];
  if (!dir) throw new UsageError('neuron needs a folder DIR');
  if (positionals.length > 1) throw new UsageError(`neuron takes one folder, got ${positionals.length}`);
  const text = selection(f);
  const top = positive('top', f.top, NEURON_TOP_IMAGES.cli)!, limit = positive('limit', f.limit), batchSize = int('batch', f.batch, 1, MAX_SCAN_BATCH);
  if (f.paths !== undefined && !fs.existsSync(f.paths)) throw new EngineError('not-found', `--paths: result file ${f.paths} does not exist`, { file: f.paths, role: 'result-file' });
  const mOpts = modelOptions(f);
  const json = checkOutput('--json', f.json, { inputs: [f.paths, f.out, mOpts.modelPath].filter((x): x is string => !!x), force: f.force });
  const tty = process.stderr.isTTY && !f.quiet;
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${safeLine(msg)}\n`); };
  const controller = new AbortController();
  const onSigint = () => { log('stopping: the images in progress are cancelled; the finished ones stay in the file (resumable)'); controller.abort(); };
  const offSigint = onceSignals(['SIGINT'], onSigint);

  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts);
  warnDefaults(engine.info);
  try {
    let units: NeuronUnit[];
    try { units = parseUnits(text, engine.info.layers, engine.info.neuronsPerLayer); } catch (e) { throw new UsageError((e as Error).message); }
    const out = path.resolve(f.out ?? `${path.basename(path.resolve(dir))}${neuronScanSuffix(units)}`);
    const patterns = f.paths !== undefined ? pathsOf(f.paths, engine.info.sha256, mOpts) : undefined; // checked before the scan
    tellSupervisor({ resumes: safeLine(out) });
    log(`scanning ${path.resolve(dir)} for ${units.map(unitName).join(', ')} into ${out}`);
    let last = 0;
    const summary = await scanFolderNeurons(engine, {
      folder: dir, out, units, modelOptions: mOpts, batchSize, limit, signal: controller.signal,
      lock: { staleAfter: int('lock-stale', (f as { 'lock-stale'?: string })['lock-stale'], LOCK_STALE.min, LOCK_STALE.max), log },
      onScan: (scan) => { for (const note of scanNotes(scan)) log(note); },
      onProgress: (p) => {
        const now = performance.now();
        if (now - last < 1000 && p.done !== p.total) return;
        last = now;
        if (tty) process.stderr.write(`\r\x1b[K${batchProgressText(p)}`); else log(batchProgressText(p));
      },
    });
    if (tty) process.stderr.write('\n');
    log(`${summary.analysed} scanned, ${summary.resumed} already in the file, ${summary.failed} failed, in ${durationText(summary.seconds)}`
      + `${summary.analysed && summary.seconds > 0 ? ` (${Math.round((60 * summary.analysed) / summary.seconds)} images/min)` : ''}`);
    if (summary.cancelled) { log('cancelled: run the same command to resume'); return 130; }

    const records = recordsOf((await readResultFile(out, { kind: NEURON_RECORDS })).lines);
    if (!records.length) throw new Error(`${out} holds no scanned image`);
    const summaries = units.flatMap((u) => (u.neuron === null ? [] : [summarizeNeuron(records, u.layer, u.neuron, { top, patterns })]));
    const selective = units.flatMap((u) => (u.neuron === null ? [{ layer: u.layer, neurons: selectiveNeurons(records, u.layer, top) }] : []));
    const printed = [...summaries.map(formatNeuron), ...selective.map((s) => formatSelective(s.layer, s.neurons))].join('\n\n');
    process.stdout.write(`${safeText(printed)}\n`);
    writeOutput(json, [`${JSON.stringify({ file: out, images: records.length, neurons: summaries, selective })}\n`]);
    return 0;
  } finally {
    offSigint();
    await engine.dispose();
  }
}

/** --paths: the class patterns of a folder analysis made with this model and these model settings, or refused (its paths would be another model's neurons). */
function pathsOf(file: string, sha256: string, options: ModelOptions): CategoryPatterns {
  const { report, records } = loadReport(path.resolve(file));
  const had = records[0].batch?.model;
  const diff = had ? settingsDifferences({ key: '', model: had }, { key: '', model: modelSettings(sha256, options) }, ['in --paths', 'now'], [records[0].model.path, options.modelPath])
    : ['records without batch settings'];
  if (diff.length) {
    throw new EngineError('result-settings', `--paths ${file} holds analyses made with another model or other settings (${diff.join('; ')}): its paths are not this model's neurons`,
      { file, role: 'result-file', files: [file], differences: diff });
  }
  return report.patterns;
}

export function formatNeuron(s: NeuronSummary): string {
  const out = [`Layer ${s.layer}, neuron ${s.neuron} (${plural(s.images, 'image')}; patch grid ${s.grid[0]}x${s.grid[1]})`, '', `  Images that excite it most:`];
  out.push(...table(['image', 'class', 'predicted', 'activation', 'peak patch (row, col)', 'at peak'],
    s.top.map((t) => [safeLine(path.basename(t.image)), safeLine(t.group), safeLine(t.predicted.label) || String(t.predicted.class), formatNumber(t.activation), `${t.peak.row}, ${t.peak.col}`, formatNumber(t.peak.value)]), '    '));
  const rows = [...s.classes, s.all];
  const ablation = s.all.ablated !== null;
  out.push('', `  Per class (activation at the readout: mean ± std${ablation ? '; with the neuron zeroed at the readout vs clean' : ''};`
    + ' accuracy: top-1 is the folder class, else the clean prediction):');
  out.push(...table(
    ['class', 'images', 'activation', ...(s.all.onPaths !== null || s.classes.some((c) => c.onPaths !== null) ? ['on paths'] : []),
      'accuracy', ...(ablation ? ['zeroed', 'P(target)', 'zeroed'] : ['P(target)'])],
    rows.map((c) => [safeLine(c.label), String(c.images), `${formatNumber(c.activation.mean)} ± ${formatNumber(c.activation.std)}`,
      ...(s.all.onPaths !== null || s.classes.some((x) => x.onPaths !== null) ? [c.onPaths === null ? '' : pct(c.onPaths)] : []),
      pct(c.clean.accuracy), ...(ablation ? [pct(c.ablated!.accuracy), formatNumber(c.clean.probability), formatNumber(c.ablated!.probability)] : [formatNumber(c.clean.probability)])]), '    '));
  return out.join('\n');
}

function formatSelective(layer: number, neurons: ReturnType<typeof selectiveNeurons>): string {
  return [`Layer ${layer}: the most class-selective neurons (best class mean - mean over all images)`,
    ...table(['neuron', 'class', 'class mean', 'mean'], neurons.map((n) => [String(n.neuron), safeLine(n.label), formatNumber(n.classMean), formatNumber(n.mean)]), '    ')].join('\n');
}
