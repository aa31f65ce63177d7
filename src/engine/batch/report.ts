// A batch result file summarised: what `neuron-path report` prints and what a folder panel shows
// (the method comparison, the category patterns, the clean accuracy; the pruning curve is added
// by the caller, since it needs the model). Plain JSON-serialisable data.
import * as path from 'node:path';
import { cleanAccuracy, compareMethods, type MethodStats } from './compare';
import { categoryPatterns, type CategoryPatterns, type PatternOptions } from './patterns';
import type { PruningCurve } from './prune';
import { EngineError } from '../errors';
import { ANALYSIS_RECORDS, recordsOf } from './records';
import { isErrorLine, type BatchLine, type BatchRecord, type ReadResult } from './schema';
import { parseResultText, readResultFileSync, type ReadOptions } from './resultFile';
import { readResultSet, type ResultSet } from './resultSet';
import { shardSets, type ShardSet } from './shard';

/**
 * The report's shape, in its JSON (`report --json`) and to the folder panel. report-2: the class
 * similarity is `patterns.similar` (each class's most similar classes); the reports before it had no
 * schema and carried the full matrix (`patterns.similarity`). Reports are made from result files,
 * which hold no similarity: an old report is made again by running `neuron-path report` again.
 */
export const REPORT_SCHEMA = 'neuron-path/report-2';

/** How the classes are grouped and how many most similar classes each keeps. */
export type ReportOptions = Pick<PatternOptions, 'by' | 'similarTop'>;

export interface BatchReport {
  schema: typeof REPORT_SCHEMA;
  file: string;                     // the result file, or what several have in common
  files?: string[];                 // when read from several files
  /** The shard sets among the files (e.g. a cluster run's), with the shards missing from each. */
  shards?: ShardSet[];
  /** Images found in more than one line (a re-run shard): only the newest line of each counts. */
  duplicates?: { images: number; lines: number };
  images: number;
  errors: { image: string; error: string }[];
  unreadableLines: number;
  model: BatchRecord['model'];
  settings: BatchRecord['settings'];
  accuracy: { accuracy: number; images: number } | null;
  comparison: MethodStats[];
  patterns: CategoryPatterns;
  pruning?: PruningCurve;
}

export function summarize(file: string, read: ReadResult<BatchLine>, options: ReportOptions = {}): { report: BatchReport; records: BatchRecord[] } {
  const records = recordsOf(read.lines);
  if (!records.length) throw new EngineError('result-file', `${file} holds no analysed images${read.lines.length ? ' (only error lines)' : ''}`, { file, role: 'result-file' });
  const models = new Set(records.map((r) => r.model.sha256));
  if (models.size > 1) throw new EngineError('result-file', `${file} mixes records of ${models.size} different models; a report is of one model`, { file, role: 'result-file' });
  return {
    records,
    report: {
      schema: REPORT_SCHEMA, file, images: records.length, errors: read.lines.filter(isErrorLine).map((e) => ({ image: e.image, error: e.error })),
      unreadableLines: read.skipped.length, model: records[0].model, settings: records[0].settings,
      accuracy: cleanAccuracy(records), comparison: compareMethods(records), patterns: categoryPatterns(records, options),
    },
  };
}

/** Reads and summarises a result file (from disk, or its text when a panel already has it). */
export function loadReport(file: string, options: ReportOptions = {}, text?: string): { report: BatchReport; records: BatchRecord[] } {
  return summarize(file, text === undefined ? readResultFileSync(file, { kind: ANALYSIS_RECORDS }) : parseResultText(text, { kind: ANALYSIS_RECORDS }), options);
}

/** Summarises several result files read as one (see resultSet.ts). */
export function summarizeSet(set: ResultSet<BatchLine>, options: ReportOptions = {}): { report: BatchReport; records: BatchRecord[] } {
  const label = set.files.length === 1 ? set.files[0] : `${commonFolder(set.files)} (${set.files.length} result files)`;
  const { report, records } = summarize(label, { lines: set.lines, skipped: set.skipped, endsWithNewline: true }, options);
  const shards = shardSets(set.files);
  return { records, report: { ...report, files: set.files, duplicates: set.duplicates, ...(shards.length ? { shards } : {}) } };
}

/**
 * Streams and summarises result files of any size, folders of them or globs (`neuron-path report A B ...`);
 * `slim` (the default) reads records without their per-neuron arrays, which summaries do not use.
 */
export async function loadReports(args: string[], options: ReportOptions = {}, read: Omit<ReadOptions<BatchLine>, 'kind'> = { slim: true }): Promise<{ report: BatchReport; records: BatchRecord[]; set: ResultSet<BatchLine> }> {
  const set = await readResultSet(args, { kind: ANALYSIS_RECORDS, ...read });
  return { ...summarizeSet(set, options), set };
}

function commonFolder(files: string[]): string {
  const parts = files.map((f) => path.dirname(f).split(path.sep));
  const common: string[] = [];
  for (let i = 0; parts.every((p) => i < p.length && p[i] === parts[0][i]); i++) common.push(parts[0][i]);
  return `${common.join(path.sep) || path.sep}${path.sep}`;
}
