// Analyses a list of images into a .jsonl file, one line per image as it finishes, so a stopped run
// resumes where it stopped: images whose path, content (sha256) and settings are already in the
// file are skipped. An image that cannot be analysed becomes an error line and the run goes on.
// Each analyzer runs one image at a time (an Engine is not re-entrant); several analyzers (one
// Engine each, e.g. in worker processes) share the queue.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalyzeGiven, AnalyzeOptions, ModelInfo, ModelOptions, RunHooks } from '../api';
import { pace } from '../../format';
import type { FsPath } from '../files';
import { hashFile, sha256File, type FileHash } from '../hash';
import { declaredOrientation } from '../orientation';
import { codeOf, EngineError, invalidOption, isCancelled, type EngineErrorCode, type ErrorFacts } from '../errors';
import type { AnalysisResult } from '../result';
import { compactScores, type ScoresKept } from './compact';
import { lockResultFile, type LockOptions } from './lock';
import { checkAppendable, readResultFile } from './resultFile';
import { ANALYSIS_RECORDS, batchSettings, doneKey, itemKey, lineImageKey, settingsDifferences } from './records';
import {
  ANALYSIS_SCHEMA, ERROR_SCHEMA, isErrorLine,
  type BatchError, type BatchLine, type BatchSettings, type ImageRecord, type RecordKind, type ResultLine, type RunSettings, type Shard, type SkippedLine,
} from './schema';
import { itemFile, scanFolder, type BatchItem, type FolderScan } from './scan';
import { inShard } from './shard';

/** `imageHash`: the image's hash from the resume check, for an analysis to take while the file keeps its stamp. */
export type Analyzer<R extends ImageRecord = AnalysisResult> = (item: BatchItem, signal: AbortSignal, imageHash?: FileHash) => Promise<R>;

export interface BatchProgress<L = BatchLine> {
  done: number;                 // finished images, those of earlier runs included
  total: number;
  resumed: number;              // already in the file when the run started
  analysed: number;             // finished by this run (errors included)
  failed: number;               // error lines written by this run
  rate: number;                 // images per second in this run (0 before the first)
  etaSeconds: number | undefined;
  line?: L;                     // the line just written
}

export interface BatchSummary {
  out: string; total: number; resumed: number; analysed: number; failed: number;
  cancelled: boolean; seconds: number;
  skipped: SkippedLine[];   // lines of the file that were not records (bad JSON, wrong shape), 1-based
}

export interface BatchRunOptions<R extends ImageRecord = AnalysisResult, S extends RunSettings = BatchSettings> {
  items: BatchItem[];
  out: string;
  settings: S;
  analyzers: Analyzer<R>[];
  /** The records the file holds (ANALYSIS_RECORDS, NEURON_RECORDS). */
  kind: RecordKind<ResultLine<R, S>>;
  /** Analyses only: 'top' (default) keeps per layer the top 32 scores and the path neuron's rank; 'all': every score. */
  scores?: ScoresKept;
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress<ResultLine<R, S>>) => void;
  /** The writer lock's stale bound (seconds) and where it says what it does. */
  lock?: Pick<LockOptions, 'staleAfter' | 'log'>;
  /** The model file analysing now, to name it when the file holds another model's results. */
  modelPath?: string;
}

/** A result file made with other settings: appending would mix two analyses. */
export class BatchSettingsError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}) { super('result-settings', message, facts); this.name = 'BatchSettingsError'; }
}

/** Errors that would repeat for every image: the run stops instead of writing an error line each. */
const FATAL_CODES = new Set<EngineErrorCode>(['target', 'invalid-option', 'not-comparable', 'result-settings', 'result-locked', 'cache', 'provider', 'worker-failed']);
const isFatal = (e: Error) => FATAL_CODES.has(codeOf(e)!);

export async function runBatch<R extends ImageRecord = AnalysisResult, S extends RunSettings = BatchSettings>(opts: BatchRunOptions<R, S>): Promise<BatchSummary> {
  if (!opts.analyzers.length) throw invalidOption('runBatch needs at least one analyzer');
  const started = performance.now();
  const out = path.resolve(opts.out);
  checkAppendable(out, opts.kind.schema);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.closeSync(fs.openSync(out, 'a')); // the lock is keyed on the real file: it must exist
  const inner = new AbortController();
  const release = await lockResultFile(out, { ...opts.lock, onLost: (e) => inner.abort(e) });
  try {
    const summary = await runLocked(opts, out, started, inner);
    if (codeOf(inner.signal.reason) === 'result-locked') throw inner.signal.reason;
    return summary;
  } finally {
    release();
  }
}

async function runLocked<R extends ImageRecord, S extends RunSettings>(opts: BatchRunOptions<R, S>, out: string, started: number, inner: AbortController): Promise<BatchSummary> {
  const { settings } = opts;
  const existing = await readResultFile(out, { slim: true, kind: opts.kind });
  checkSettings(out, existing.lines, settings, opts.modelPath && path.resolve(opts.modelPath));
  // Per resume key: whether its lines were made reading photos upright. Records without
  // image.orientation were not; only an image that declares an EXIF turn is analysed again.
  const done = new Map<string, boolean>();
  for (const l of existing.lines) {
    const key = doneKey(lineImageKey(l), isErrorLine(l) ? l.sha256 : l.image.sha256, settings.key);
    done.set(key, done.get(key) || isErrorLine(l) || l.image.orientation !== undefined);
  }
  const sha = (file: FsPath) => sha256File(file, 'image').catch(() => null);
  // Each image hashed once: the hash that finds it in the file is handed to its analysis.
  const pending: { item: BatchItem; hash?: FileHash }[] = [];
  // A text path is made absolute, as records name images; a path kept as bytes comes absolute from the scan.
  const items = opts.items.map((it) => (it.imageBase64 !== undefined ? it : { ...it, image: path.resolve(it.image) }));
  for (const it of items) {
    const hash = await hashFile(itemFile(it), 'image').catch(() => undefined);
    const upright = done.get(doneKey(itemKey(it), hash?.sha256 ?? null, settings.key));
    if (upright === undefined || (!upright && await declaredOrientation(itemFile(it)) !== 1)) pending.push({ item: it, hash });
  }

  if (!existing.endsWithNewline) fs.appendFileSync(out, '\n'); // a line cut off by a killed run stays on its own
  const total = items.length, resumed = total - pending.length;
  let analysed = 0, failed = 0, next = 0, fatal: Error | undefined;
  const stop = () => inner.abort();
  opts.signal?.addEventListener('abort', stop);
  if (opts.signal?.aborted) stop();
  const report = (line?: ResultLine<R, S>) => {
    const { rate, etaSeconds } = pace(analysed, (performance.now() - started) / 1000, total - resumed - analysed);
    opts.onProgress?.({ done: resumed + analysed, total, resumed, analysed, failed, rate, etaSeconds, line });
  };
  report();

  const work = async (analyze: Analyzer<R>) => {
    while (!inner.signal.aborted && next < pending.length) {
      const { item, hash } = pending[next++];
      let line: ResultLine<R, S>;
      try {
        if (item.problem) throw new EngineError('not-found', item.problem, { file: item.image, role: 'image' });
        const result = await analyze(item, inner.signal, hash);
        // Compact records are an analysis format; other kinds of record are written as they come.
        const record = opts.kind.schema === ANALYSIS_SCHEMA && opts.scores !== 'all' ? compactScores(result as unknown as AnalysisResult) as unknown as R : result;
        line = { ...record, trueClass: item.trueClass, folderLabel: item.folderLabel, batch: settings, analysedAt: new Date().toISOString() };
      } catch (e) {
        const err = e as Error;
        if (isCancelled(err) || inner.signal.aborted) return;
        if (isFatal(err)) { fatal ??= err; stop(); return; }
        const { image, imageBase64 } = item;
        line = { schema: ERROR_SCHEMA, image, ...(imageBase64 !== undefined ? { imageBase64 } : {}), sha256: await sha(itemFile(item)), error: err.message, trueClass: item.trueClass, folderLabel: item.folderLabel, batch: settings, analysedAt: new Date().toISOString() } satisfies BatchError<S>;
        failed++;
      }
      if (codeOf(inner.signal.reason) === 'result-locked') return; // the lock was lost: another process writes now
      fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
      analysed++;
      report(line);
    }
  };
  try {
    await Promise.all(opts.analyzers.map(work));
  } finally {
    opts.signal?.removeEventListener('abort', stop);
  }
  if (fatal) throw fatal;
  return { out, total, resumed, analysed, failed, cancelled: analysed + resumed < total, seconds: (performance.now() - started) / 1000, skipped: existing.skipped };
}

function checkSettings(out: string, lines: { batch?: RunSettings; model?: { path: string } }[], settings: RunSettings, modelPath: string | undefined): void {
  const others = lines.filter((l) => l.batch?.key !== settings.key);
  // A record names its model's path; an error line does not.
  const other = others.find((l) => l.model) ?? others[0];
  if (!other) return;
  const diff = other.batch ? settingsDifferences(other.batch, settings, ['in the file', 'now'], [other.model?.path, modelPath]) : ['lines without batch settings'];
  throw new BatchSettingsError(`${out} holds results made with other settings (${diff.join('; ')})`, { file: out, role: 'result-file', differences: diff });
}

export interface FolderRunOptions {
  folder: string;
  out: string;
  modelOptions: ModelOptions;       // what the engine was opened with (scope, preprocessing, labels)
  analyzeOptions?: AnalyzeOptions;
  limit?: number;
  /** Only this share of the (limited) folder: one task of a cluster run. */
  shard?: Shard;
  /** Which layer scores each record keeps (see BatchRunOptions). */
  scores?: ScoresKept;
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
  lock?: BatchRunOptions['lock'];
  /** The scan, and the images of it this run takes (after the limit and the shard). */
  onScan?: (scan: FolderScan, items: BatchItem[]) => void;
  /** Who analyses the images (e.g. one per worker process); default: `engine` itself, one at a time. */
  analyzers?: Analyzer[];
}

/** What a folder run needs of the model: its labels and hash, and (without `analyzers`) an engine. */
export interface FolderModel {
  readonly info: Pick<ModelInfo, 'labels' | 'sha256' | 'path'>;
  analyze?(imagePath: FsPath, options: AnalyzeOptions, hooks?: RunHooks, given?: AnalyzeGiven): Promise<AnalysisResult>;
}

/** The images of a folder a run takes: the scan, then the limit, then the shard (every folder run's first step). */
export function folderItems(folder: string, labels: string[], opts: Pick<FolderRunOptions, 'limit' | 'shard' | 'onScan'>): BatchItem[] {
  const scan = scanFolder(folder, labels);
  const limited = opts.limit !== undefined ? scan.items.slice(0, opts.limit) : scan.items;
  const items = opts.shard ? inShard(limited, scan.root, opts.shard) : limited;
  opts.onScan?.(scan, items);
  return items;
}

/** Scans a folder and analyses it into the resumable file: the folder run of the CLI, the extension's worker and the tests. */
export async function analyzeFolder(model: FolderModel, opts: FolderRunOptions): Promise<BatchSummary> {
  const items = folderItems(opts.folder, model.info.labels, opts);
  const analyzeOptions = opts.analyzeOptions ?? {};
  const analyze = model.analyze?.bind(model);
  const analyzers = opts.analyzers ?? (analyze ? [(item: BatchItem, signal: AbortSignal, imageHash?: FileHash) => analyze(itemFile(item), analyzeOptions, { signal }, { imageHash })] : []);
  return runBatch({
    items, out: opts.out, settings: batchSettings(model.info.sha256, opts.modelOptions, analyzeOptions), kind: ANALYSIS_RECORDS, modelPath: model.info.path,
    analyzers, scores: opts.scores, signal: opts.signal, onProgress: opts.onProgress, lock: opts.lock,
  });
}
