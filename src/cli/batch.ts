// `neuron-path batch DIR`: every image of a folder into a .jsonl file, one line per image as it
// finishes, resumable. With --jobs N, N engine worker processes (the extension's worker, through the
// same client) share the queue and this process alone writes the file. With a shard (--shard, or a
// Slurm array / Kubernetes Indexed Job task), only that share of the folder, into its own file.
import * as os from 'node:os';
import * as path from 'node:path';
import {
  analyzeFolder, chooseShard, FOLDER_LABELS_FILE, LOCK_STALE, REPORT_SCHEMA, scanNotes, SIMILAR_TOP_DEFAULT, SIMILAR_TOP_RANGE, shardLabel, skippedSummary,
} from '../engine/batch/index';
import { shardFile, shardSetOf } from '../engine/batch/schema';
import { codeOf } from '../engine/errors';
import { batchProgressText, durationText } from '../format';
import { PRUNING_DEFAULTS } from '../engine/options';
import { analyzeOptions, int, modelOptions, UsageError, type Flags } from './args';
import { onceSignals, openEngine, tellSupervisor } from './supervised';
import { safeLine, warnDefaults } from './terminal';
import { WorkerPool } from './workerPool';

export const BATCH_USAGE = `
usage: neuron-path batch DIR [--out FILE.jsonl] [--limit N] [--jobs N] [--shard K/N | --shards N] [--scores top|all] [analyze options]
  Analyses every image of DIR (png, jpg, jpeg, webp, gif, tif, tiff, avif). Sub-folders are classes
  (ImageFolder layout, matched to the model's labels by name or index); images at the top are grouped
  by predicted class. One JSON line per image is appended to FILE as it finishes (default
  ./<DIR name>.neuron-path.jsonl); run the same command again to resume. Ctrl-C (or SIGTERM) stops cleanly.
  --limit N            only the first N images (classes taken in turn)
  --jobs N             N worker processes, one model each (default 1; at most the number of cores)
  --shard K/N          only shard K (0..N-1) of the folder, into FILE's shard file
                       <FILE without .jsonl>.shard-K-of-N.jsonl; an image's shard depends on its path
                       alone. Without it, in a Slurm array, the shard is the task's place in the array.
  --shards N           N shards, the shard taken from the Slurm array task id (modulo N, so a task
                       resubmitted alone keeps its shard) or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
  --scores S           top (default): per layer the 32 best candidate scores and the path neuron's
                       rank; all: every score (about 0.75 MB per image for ViT-B/16)
  --lock-stale S       while a run writes FILE it holds FILE.lock, with a heartbeat every few seconds;
                       a lock of another machine (or container) whose heartbeat is older than S seconds
                       (default ${LOCK_STALE.default}, ${LOCK_STALE.min}..${LOCK_STALE.max}) belongs to a killed run and is taken over

usage: neuron-path report RESULTS... [--prune ${PRUNING_DEFAULTS.fractions.join(',')} --model M] [--keep K] [--holdout F] [--layers N] [--json OUT] [--merged OUT.jsonl]
  The method comparison, the top path neurons per class, the class similarity matrix and, with
  --prune, the pruning check (needs the model, given with --model and checked against the records'
  sha256, and the images the records name): per class the kept neurons are chosen on part of its
  images and the accuracy is measured on the others. --labels FILE names its classes. RESULTS: result
  files, folders of them (e.g. the shard files of one run) or quoted globs; an image in several
  (a re-run shard) counts once, with its newest record. Records of other models or settings are refused.
  --merged OUT.jsonl   also write the records read (one per image) as one result file
  --keep K             path neurons kept per block: the K most frequent on the chosen images,
                       counting every neuron of top-K paths (batch --top-k) (default ${PRUNING_DEFAULTS.keep})
  --holdout F          share of each class's images held out for measuring (default ${PRUNING_DEFAULTS.holdout}; 0: the
                       same images choose and measure); seeded by --seed
  --layers N           prune only the first N blocks (default all)
  --top N              neurons shown per class and layer (default 3); --seed S pruning seed (default ${PRUNING_DEFAULTS.seed})
  --by B               auto (default: folder class, else predicted) | folder | predicted
  --matrix             print the class similarity matrix past 20 classes too (else the 20 most similar pairs)
  --similar N          most similar classes kept per class in the report (default ${SIMILAR_TOP_DEFAULT}, ${SIMILAR_TOP_RANGE.min}..${SIMILAR_TOP_RANGE.max})
  --json OUT           also write the whole report as JSON (schema ${REPORT_SCHEMA}; per class its --similar most similar classes)
  --force              replace a --json or --merged file that is an input or holds other results
`;

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer >= 1, got '${v}'`);
  return n;
}

export async function batch(f: Flags, positionals: string[]): Promise<number> {
  const dir = positionals[0];
  if (!dir) throw new UsageError('batch needs a folder DIR');
  if (positionals.length > 1) throw new UsageError(`batch takes one folder, got ${positionals.length}`);
  if (f.json !== undefined) throw new UsageError('batch writes its records with --out FILE.jsonl, not --json');
  const limit = positiveInt('limit', f.limit), asked = positiveInt('jobs', f.jobs) ?? 1;
  // More model processes than cores only share the cores, each with a model in memory.
  const cores = os.availableParallelism(), jobs = Math.min(asked, cores);
  const lock = { staleAfter: int('lock-stale', f['lock-stale'], LOCK_STALE.min, LOCK_STALE.max), log: (m: string) => log(`${prefix}${m}`) };
  if (f.scores !== undefined && f.scores !== 'top' && f.scores !== 'all') throw new UsageError(`--scores must be one of top|all, got '${f.scores}'`);
  let sharding;
  try { sharding = chooseShard(f.shard, positiveInt('shards', f.shards)); } catch (e) { if (codeOf(e) === 'invalid-option') throw new UsageError((e as Error).message); throw e; }
  const base = path.resolve(f.out ?? `${path.basename(path.resolve(dir))}.neuron-path.jsonl`);
  const out = sharding ? shardFile(base, sharding.shard) : base;
  const mOpts = modelOptions(f), aOpts = analyzeOptions(f);
  const tty = process.stderr.isTTY && !f.quiet;
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${safeLine(msg)}\n`); };
  const prefix = sharding ? `${shardLabel(sharding.shard)}: ` : '';
  const controller = new AbortController();
  // SIGTERM too: Slurm's scancel and Kubernetes send it, and wait a while before SIGKILL.
  const onSignal = () => { log(`${prefix}stopping: the images in progress are cancelled; the finished ones stay in the file (resumable)`); controller.abort(); };
  const offSignals = onceSignals(['SIGINT', 'SIGTERM'], onSignal);
  tellSupervisor({ resumes: safeLine(out) });

  if (asked > jobs) log(`--jobs ${asked} is more than the ${cores} cores: running ${jobs} worker processes`);
  if (sharding) log(`${shardLabel(sharding.shard)} (from ${sharding.source}) -> ${out}`);
  log(`opening ${mOpts.modelPath}${jobs > 1 ? ` in ${jobs} worker processes` : ''}`);
  const debug = process.env.NEURON_PATH_DEBUG ? (line: string) => process.stderr.write(`${line}\n`) : () => {};
  const threads = mOpts.threads ?? (jobs > 1 ? Math.max(1, Math.floor(os.cpus().length / jobs)) : undefined);
  const pool = jobs > 1 ? await WorkerPool.start(jobs, { ...mOpts, threads }, debug) : undefined;
  const engine = pool ? undefined : await openEngine(mOpts);
  warnDefaults((pool ?? engine!).info);
  try {
    let lastShown = 0;
    const summary = await analyzeFolder(pool ?? engine!, {
      folder: dir, out, modelOptions: mOpts, analyzeOptions: aOpts, limit, shard: sharding?.shard, scores: f.scores,
      signal: controller.signal, analyzers: pool?.analyzers(aOpts), lock,
      onScan: (scan, items) => {
        const limited = limit !== undefined ? Math.min(limit, scan.items.length) : scan.items.length;
        const matched = scan.classes.filter((c) => c.trueClass !== null).length;
        log(`${scan.items.length} images in ${scan.root} (${scan.layout === 'flat' ? `flat folder: ${scan.labelsFile ? `classes from ${FOLDER_LABELS_FILE}` : 'grouped by predicted class'}`
          : `${scan.classes.length} class folder${scan.classes.length === 1 ? '' : 's'}, ${matched} matched to the model's labels`})${limit !== undefined ? `, first ${limited}` : ''}` +
          `${sharding ? `; ${items.length} in ${shardLabel(sharding.shard)}` : ''}`);
        if (scan.unmatched.length) log(`folders or ${FOLDER_LABELS_FILE} classes matching no label (grouped by folder name, or by predicted class): ${scan.unmatched.join(', ')}`);
        for (const note of scanNotes(scan)) log(note);
      },
      onProgress: (p) => {
        if (p.line && p.line.schema !== 'neuron-path/1') log(`  skipped ${p.line.image}: ${p.line.error}`);
        if (f.quiet) return;
        if (p.analysed === 0 && p.resumed) log(`${p.resumed} images already in ${out}; resuming`);
        const now = performance.now();
        if (tty) process.stderr.write(`\r\x1b[K${safeLine(`${prefix}${batchProgressText(p)}`)}`);
        else if (now - lastShown >= 1000 || p.done === p.total || p.analysed === 0) { log(`${prefix}${batchProgressText(p)}`); lastShown = now; }
      },
    });
    if (tty) process.stderr.write('\n');
    const skipped = skippedSummary(summary.skipped);
    if (skipped) log(`${out}: ${skipped}`);
    if (summary.cancelled) {
      log(`${prefix}stopped: ${summary.resumed + summary.analysed}/${summary.total} images in ${out}; run the same command again to resume.`);
      return 130;
    }
    log(`${prefix}done: ${summary.total} images (${summary.analysed} analysed now, ${summary.resumed} before, ${summary.failed} failed) in ${durationText(summary.seconds)} -> ${out}`);
    const rel = (p: string) => path.relative(process.cwd(), p) || p;
    log(`next: neuron-path report ${sharding ? `'${rel(shardSetOf(shardFile(base, sharding.shard))!)}'` : rel(out)}`);
    return 0;
  } finally {
    offSignals();
    await engine?.dispose();
    await pool?.close();
  }
}
