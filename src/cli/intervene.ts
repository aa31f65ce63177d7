// `neuron-path intervene IMAGE|DIR --set L:J=F,...`: any neurons multiplied by factors, everything
// else live; the top-5 before and after on an image, or per class the accuracy and target
// probability before and after on a folder (resumable, shardable). `neuron-path export-edited`:
// the same intervention built into a plain ONNX model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chooseShard, scanNotes, shardFile } from '../engine/batch/index';
import { isAnalysisResult, recordsOf } from '../engine/batch/records';
import { readResultFileSync } from '../engine/batch/resultFile';
import { codeOf, EngineError } from '../engine/errors';
import { writeEditedModel } from '../engine/editModel';
import type { Engine } from '../engine/index';
import { checkIntervention, INTERVENTION_ROWS, INTERVENTION_SCHEMA, parseSettings, settingsText, type Intervention, type InterventionRecord, type InterventionRows, type NeuronSetting } from '../engine/intervene';
import { INTERVENTION_RECORDS, interveneFolder, summarizeInterventions, type ClassEffect } from '../engine/interveneFolder';
import { batchProgressText, durationText, formatNumber, formatPercent as pct, formatSigned } from '../format';
import { intervene as interveneOp, interveneParams } from '../operations/intervene';
import { ANALYZE_FLAGS, modelOptions, UsageError } from './args';
import { inProcess } from './inProcess';
import { checkOutput, recordOf, writeOutput } from './output';
import { table } from './report';
import { onceSignals, openEngine, tellSupervisor } from './supervised';
import { safeLine, safeText } from './terminal';

export const INTERVENE_USAGE = `
usage: neuron-path intervene IMAGE|DIR --set L:J=F[,L:J=F...] [--rows readout|all] [--target CLASS]
                             [--json OUT] [--out FILE.jsonl] [--limit N] [--shard K/N] [model options]
  Multiplies FFN neuron J of block L (0-based) by F (0 ablates, 2 enhances, any finite number) at
  the readout rows (default: the rows the head reads, as the path's manipulation) or at every token
  row (--rows all), everything else live, and prints the five most probable classes before and after
  and the change of the target's probability (target: --target, else the class predicted before).
  --set path:RESULT.json=F   every neuron of the path of a neuron-path/1 record (analyze --json; its
                             file name may hold commas)
  --json OUT           the neuron-path/intervention-1 record: both top-5 lists and the settings
                       ('-' for stdout; an existing file is replaced only if it is the intervention
                       record of the same image, or with --force)
  Given a folder, every image (as batch: class sub-folders, one line per image appended to
  --out, default ./<DIR name>.intervention.jsonl, resumed by the same command; --limit, --shard K/N):
  per class the accuracy and the mean target probability (target: the folder class, else the
  class predicted before) before and after.

usage: neuron-path export-edited --set L:J=F[,...] [--rows readout|all] --out EDITED.onnx [--model M]
  Writes the model with the intervention built in, a plain ONNX model with the same inputs and
  outputs: at every row (--rows all) fc2's weights are scaled; at the readout rows a constant mask
  multiplies fc2's input. The model folder's configs are copied beside it and its metadata
  (neuron-path.intervention) records the edit. Never written over the model or its configs; a file
  of neuron-path results is replaced only with --force.
`;

const FLAGS = {
  ...Object.fromEntries(['model', 'labels', 'scope', 'threads', 'provider', 'size', 'mean', 'std', 'resize'].map((k) => [k, ANALYZE_FLAGS[k as keyof typeof ANALYZE_FLAGS]])),
  set: { type: 'string' }, rows: { type: 'string' }, target: { type: 'string' }, json: { type: 'string' },
  out: { type: 'string' }, limit: { type: 'string' }, shard: { type: 'string' }, shards: { type: 'string' },
  force: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
} as const;

function flags(argv: string[]) {
  try { return parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true }); } catch (e) { throw new UsageError((e as Error).message); }
}
type Values = ReturnType<typeof flags>['values'];

function rowsOf(v: string | undefined): InterventionRows {
  if (v === undefined) return 'readout';
  if (!INTERVENTION_ROWS.includes(v as InterventionRows)) throw new UsageError(`--rows must be one of ${INTERVENTION_ROWS.join('|')}, got '${v}'`);
  return v as InterventionRows;
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer >= 1, got '${v}'`);
  return n;
}

/**
 * The items of `--set`: split at the commas that start another item (L:J= or path:), so a record's
 * file name may hold commas (path:a,b.json=0,3:29=2 is two items).
 */
export function setItems(text: string): string[] {
  return text.split(/,(?=\s*(?:\d+:\d+=|path:))/).map((s) => s.trim()).filter(Boolean);
}

/** `--set` into settings checked against the open model: L:J=F items, and path:RESULT.json=F for a record's path. */
export function interventionOf(engine: Engine, f: Values): Intervention {
  if (f.set === undefined) throw new UsageError('name the neurons to set: --set L:J=F[,L:J=F...] (e.g. --set 3:29=0)');
  const { layers, neuronsPerLayer } = engine.info;
  const settings: NeuronSetting[] = [];
  const plain: string[] = [];
  for (const item of setItems(f.set)) {
    if (!item.startsWith('path:')) { plain.push(item); continue; }
    const at = item.lastIndexOf('=');
    if (at < 0) throw new UsageError(`--set: '${item}' needs a factor: path:RESULT.json=F`);
    const factor = Number(item.slice(at + 1));
    if (!Number.isFinite(factor)) throw new UsageError(`--set: '${item}' needs a finite factor after its last '=': path:RESULT.json=F`);
    settings.push(...pathSettings(engine, item.slice('path:'.length, at), factor));
  }
  const intervention = { settings, rows: rowsOf(f.rows) };
  try {
    if (plain.length) settings.push(...parseSettings(plain.join(','), layers, neuronsPerLayer));
    checkIntervention(intervention, layers, neuronsPerLayer);
  } catch (e) {
    if (codeOf(e) === 'invalid-option') throw new UsageError(`--set: ${(e as Error).message}`);
    throw e;
  }
  return intervention;
}

/** Every neuron of a record's path, multiplied by `factor`. */
function pathSettings(engine: Engine, file: string, factor: number): NeuronSetting[] {
  let r: unknown;
  try { r = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw new UsageError(`--set: cannot read ${file} as a neuron-path/1 record: ${(e as Error).message}`); }
  if (!isAnalysisResult(r)) throw new UsageError(`--set: ${file} is not a neuron-path/1 record (write one with analyze --json)`);
  if (r.model.sha256 !== engine.info.sha256) throw new UsageError(`--set: ${file} was made with another model (${r.model.path}); give that model with --model`);
  return r.path.map((n) => ({ layer: n.layer, neuron: n.neuron, factor }));
}

export async function intervene(argv: string[]): Promise<number> {
  const { values: f, positionals } = flags(argv);
  if (f.help) { process.stdout.write(INTERVENE_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError(`intervene takes one IMAGE or folder, got ${positionals.length}`);
  const input = positionals[0];
  const folder = fs.existsSync(input) && fs.statSync(input).isDirectory();
  if (!folder && (f.out ?? f.limit ?? f.shard ?? f.shards) !== undefined) throw new UsageError('--out, --limit and --shard are for a folder; an IMAGE writes its record with --json');
  if (folder && f.json !== undefined) throw new UsageError('a folder\'s records go to --out FILE.jsonl, not --json');
  let target: number | undefined;
  if (f.target !== undefined) {
    target = Number(f.target);
    if (!Number.isInteger(target) || target < 0) throw new UsageError(`--target must be a class index >= 0, got '${f.target}'`);
    if (folder) throw new UsageError('a folder\'s target is each image\'s folder class (else its predicted class); --target is for one IMAGE');
  }
  const limit = positive('limit', f.limit);
  let sharding;
  try { sharding = chooseShard(f.shard, positive('shards', f.shards)); } catch (e) { if (codeOf(e) === 'invalid-option') throw new UsageError((e as Error).message); throw e; }
  const mOpts = modelOptions(f);
  const records = setItems(f.set ?? '').flatMap((item) => (item.startsWith('path:') ? [item.slice('path:'.length).replace(/=[^=]*$/, '')] : []));
  const keeps = recordOf(input);
  const json = folder ? undefined : checkOutput('--json', f.json, {
    inputs: [input, mOpts.modelPath, ...records, ...(mOpts.labelsPath ? [mOpts.labelsPath] : [])], force: f.force,
    keeps: (file, schema) => (schema && schema !== INTERVENTION_SCHEMA ? `holds neuron-path results (${schema})` : keeps!(file, schema)),
  });
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeText(msg)}\n`); };
  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts);
  try {
    const intervention = interventionOf(engine, f);
    if (target !== undefined && target >= engine.info.numClasses) throw new UsageError(`--target ${target} is out of range: the model has ${engine.info.numClasses} classes (0..${engine.info.numClasses - 1})`);
    if (!folder) {
      const r = await interveneOp.run(inProcess(engine, mOpts), interveneParams(input, intervention, target));
      if (json === '-') process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        writeOutput(json, [`${JSON.stringify(r, null, 1)}\n`]);
        process.stdout.write(`${safeText(formatIntervention(r))}\n`);
      }
      return 0;
    }
    const base = path.resolve(f.out ?? `${path.basename(path.resolve(input))}.intervention.jsonl`);
    const out = sharding ? shardFile(base, sharding.shard) : base;
    const controller = new AbortController();
    const onSignal = () => { log('stopping after the image in progress... (the file stays resumable)'); controller.abort(); };
    const offSignals = onceSignals(['SIGINT', 'SIGTERM'], onSignal);
    tellSupervisor({ resumes: safeLine(out) });
    try {
      log(`${settingsText(intervention.settings)} at the ${intervention.rows === 'all' ? 'every token row' : 'readout rows'}: ${path.resolve(input)} -> ${out}`);
      let last = 0;
      const summary = await interveneFolder(engine, {
        folder: input, out, intervention, modelOptions: mOpts, limit, shard: sharding?.shard, signal: controller.signal,
        onScan: (scan) => { for (const note of scanNotes(scan)) log(note); },
        onProgress: (p) => {
          if (p.line && 'error' in p.line) log(`  skipped ${p.line.image}: ${p.line.error}`);
          const now = performance.now();
          if (now - last >= 1000 || p.done === p.total) { last = now; log(batchProgressText(p)); }
        },
      });
      log(`${summary.analysed} images now, ${summary.resumed} before, ${summary.failed} failed, in ${durationText(summary.seconds)}`);
      if (summary.cancelled) { log('stopped: run the same command again to resume'); return 130; }
    } finally {
      offSignals();
    }
    const records = recordsOf(readResultFileSync(out, { kind: INTERVENTION_RECORDS }).lines);
    if (!records.length) throw new Error(`${out} holds no image the intervention ran on`);
    const s = summarizeInterventions(records);
    process.stdout.write(`${formatEffects(intervention, [...s.classes, s.all])}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

export function formatIntervention(r: InterventionRecord): string {
  const top = (list: InterventionRecord['before']) => list.map((c) => `${c.label || c.class} ${formatNumber(c.probability, 3)}`).join(' | ');
  const t = r.target;
  return [
    `Image      ${path.basename(r.image.path)}`,
    `Set        ${settingsText(r.settings)} (at ${r.rows === 'all' ? 'every token row' : `the readout rows ${r.model.scope}`})`,
    `Before     ${top(r.before)}`,
    `After      ${top(r.after)}`,
    `Target     class ${t.class} "${t.label}": p ${formatNumber(t.before, 4)} -> ${formatNumber(t.after, 4)} (${formatSigned(t.after - t.before)})`,
  ].join('\n');
}

function formatEffects(i: Intervention, rows: ClassEffect[]): string {
  return [`${settingsText(i.settings)} at ${i.rows === 'all' ? 'every token row' : 'the readout rows'} (target: the folder class, else the class predicted before):`,
    ...table(['class', 'images', 'accuracy before', 'after', 'P(target) before', 'after', 'change'],
      rows.map((c) => [c.label, String(c.images), pct(c.accuracy.before), pct(c.accuracy.after), formatNumber(c.probability.before), formatNumber(c.probability.after),
        formatSigned(c.probability.after - c.probability.before)]))].join('\n');
}

export async function exportEdited(argv: string[]): Promise<number> {
  const { values: f, positionals } = flags(argv);
  if (f.help) { process.stdout.write(INTERVENE_USAGE); return 0; }
  if (positionals.length) throw new UsageError(`export-edited takes no IMAGE (got ${positionals.join(' ')}): name the model with --model`);
  if (!f.out) throw new UsageError('export-edited needs --out EDITED.onnx');
  const mOpts = modelOptions(f);
  checkOutput('--out', f.out, { inputs: [mOpts.modelPath, ...(mOpts.labelsPath ? [mOpts.labelsPath] : [])], force: f.force });
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${safeText(msg)}\n`); };
  log(`opening ${mOpts.modelPath}`);
  const engine = await openEngine(mOpts);
  try {
    const intervention = interventionOf(engine, f);
    let written;
    try { written = await writeEditedModel(engine, intervention, f.out); } catch (e) {
      // What is refused is the output, or the model (a precision the edit is not written in).
      if (codeOf(e) === 'invalid-option') throw new UsageError(`${e instanceof EngineError && e.facts.field === 'model' ? '--model' : '--out'}: ${(e as Error).message}`);
      throw e;
    }
    const mask = intervention.rows === 'all' ? 'factors multiply fc2\'s input at every row (its weight is shared or computed)' : 'a mask multiplies fc2\'s input at the readout rows';
    for (const b of written.blocks) log(`  block ${b.layer} (${b.fc2}): ${b.how === 'weights' ? 'fc2\'s weight scaled' : mask}`);
    if (written.copied.length) log(`  copied beside it: ${written.copied.join(', ')}`);
    process.stdout.write(`${written.out}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}
