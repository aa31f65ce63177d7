// A folder run's progress and result as they cross to the host and the pages: small (a record can
// be megabytes; a progress message is not).
import { ERROR_SCHEMA, type BatchLine } from '../engine/batch/schema';
import type { BatchProgress, BatchSummary } from '../engine/batch/run';
import type { NeuronScanLine } from '../engine/batch/schema';
import type { InterventionLine } from '../engine/interveneFolder';
import { isFiniteNumber, isIndex, isObject, isString } from '../protocol/guards';

/** How a folder run ended (`cancelled`: stopped by `cancel`; what is in `out` stays and is resumed next time). */
export interface BatchRunResult {
  out: string; total: number; resumed: number; analysed: number; failed: number; cancelled: boolean; seconds: number;
}

export const BATCH_RUN_SHAPE = 'a folder run\'s summary (out, total, resumed, analysed, failed, cancelled, seconds)';

export function isBatchRunResult(v: unknown): v is BatchRunResult {
  return isObject(v) && isString(v.out) && isIndex(v.total) && isIndex(v.resumed) && isIndex(v.analysed) && isIndex(v.failed)
    && typeof v.cancelled === 'boolean' && isFiniteNumber(v.seconds) && v.seconds >= 0;
}

/** The line a folder run has just written, slimmed down to what a progress line and a live list show. */
export interface BatchLatest {
  image: string;
  error?: string;
  label?: string;             // top-1 label
  probability?: number;       // top-1 probability
  jas?: number;
}

/** A folder run's progress: images done (earlier runs included) of total, rate in images/s, ETA. */
export interface BatchProgressInfo {
  done: number; total: number; resumed: number; analysed: number; failed: number;
  rate: number; etaSeconds?: number;
  latest?: BatchLatest;
}

type FolderLine = BatchLine | NeuronScanLine | InterventionLine;

export function batchProgressInfo(p: BatchProgress<FolderLine>): BatchProgressInfo {
  const { done, total, resumed, analysed, failed, rate, etaSeconds } = p;
  return { done, total, resumed, analysed, failed, rate, etaSeconds, latest: p.line ? latestOf(p.line) : undefined };
}

export function batchRunResult(summary: BatchSummary): BatchRunResult {
  const { out, total, resumed, analysed, failed, cancelled, seconds } = summary;
  return { out, total, resumed, analysed, failed, cancelled, seconds };
}

/** What a panel's `init` says of its folder run: its last progress, or a run that has not reported yet. */
export function runningProgress(run: { progress?: BatchProgressInfo } | undefined): BatchProgressInfo | undefined {
  return run?.progress ?? (run ? { done: 0, total: 0, resumed: 0, analysed: 0, failed: 0, rate: 0 } : undefined);
}

/** The written line without its maps and scores (an intervention's: its top-1 after). */
function latestOf(line: FolderLine): BatchLatest {
  if (line.schema === ERROR_SCHEMA) return { image: line.image, error: line.error };
  const top = 'after' in line ? line.after[0] : line.prediction.top[0];
  return { image: line.image.path, label: top?.label, probability: top?.probability, jas: 'jas' in line ? line.jas : undefined };
}
