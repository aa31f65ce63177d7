// A batch result file summarised: what `neuron-path report` prints and what a folder panel shows
// (the method comparison, the category patterns, the clean accuracy; the pruning curve is added
// by the caller, since it needs the model). Plain JSON-serialisable data.
import { cleanAccuracy, compareMethods, type MethodStats } from './compare';
import { categoryPatterns, type CategoryPatterns, type GroupBy } from './patterns';
import type { PruningCurve } from './prune';
import { EngineError } from '../errors';
import { isError, parseLines, readLines, recordsOf, type BatchRecord, type ReadResult } from './records';
import { readResultFile } from './resultFile';

export interface BatchReport {
  file: string;
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

export function summarize(file: string, read: ReadResult, by: GroupBy = 'auto'): { report: BatchReport; records: BatchRecord[] } {
  const records = recordsOf(read.lines);
  if (!records.length) throw new EngineError('result-file', `${file} holds no analysed images${read.lines.length ? ' (only error lines)' : ''}`, { file, role: 'result-file' });
  const models = new Set(records.map((r) => r.model.sha256));
  if (models.size > 1) throw new EngineError('result-file', `${file} mixes records of ${models.size} different models; a report is of one model`, { file, role: 'result-file' });
  return {
    records,
    report: {
      file, images: records.length, errors: read.lines.filter(isError).map((e) => ({ image: e.image, error: e.error })),
      unreadableLines: read.skipped.length, model: records[0].model, settings: records[0].settings,
      accuracy: cleanAccuracy(records), comparison: compareMethods(records), patterns: categoryPatterns(records, { by }),
    },
  };
}

/** Streams and summarises a result file of any size (records read without their per-neuron arrays). */
export async function loadReportFile(file: string, by: GroupBy = 'auto'): Promise<{ report: BatchReport; records: BatchRecord[]; skipped: ReadResult['skipped'] }> {
  const read = await readResultFile(file, { slim: true });
  return { ...summarize(file, read, by), skipped: read.skipped };
}

/** Reads and summarises a result file (from disk, or its text when a panel already has it). */
export function loadReport(file: string, by: GroupBy = 'auto', text?: string): { report: BatchReport; records: BatchRecord[] } {
  return summarize(file, text === undefined ? readLines(file) : parseLines(text), by);
}
