// A folder with the open model into a resumable .jsonl (the engine's folder run: scan, resume, one
// line per image); progress after every image.
import type { AnalyzeOptions } from '../engine/api';
import { isObject, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';
import { BATCH_RUN_SHAPE, batchProgressInfo, batchRunResult, isBatchRunResult, type BatchRunResult } from './progress';

/** Analyze every image of `folder` (ImageFolder or flat) with the open model into the .jsonl `out`, resuming it. */
export interface BatchParams {
  folder: string; out: string; options: AnalyzeOptions; limit?: number;
  /** Scores kept per record: 'top' (default, compact) or 'all'. */
  scores?: 'top' | 'all';
}

const subject = (p: { folder: string }) => `the folder ${p.folder}`;

export const batch = operation<BatchParams, BatchRunResult, 'batch'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one image
  progress: 'batch',
  queued: true,
  writesResultFile: true,
  isParams: (v) => isString(v.folder) && isString(v.out) && isObject(v.options)
    && (v.limit === undefined || (typeof v.limit === 'number' && Number.isInteger(v.limit) && v.limit >= 1))
    && (v.scores === undefined || v.scores === 'top' || v.scores === 'all'),
  isResult: isBatchRunResult,
  resultShape: BATCH_RUN_SHAPE,
  subject,
  failure: analysisFailure(subject),
  run: async (ctx, p) => {
    const { engine, options } = ctx.model();
    // Loaded when run: the folder runner reads images (sharp), which the host that imports this table never does.
    const { analyzeFolder } = await import('../engine/batch/run');
    return batchRunResult(await analyzeFolder(engine, {
      folder: p.folder, out: p.out, modelOptions: options, analyzeOptions: p.options, limit: p.limit, scores: p.scores, signal: ctx.signal,
      onProgress: (q) => ctx.progress(batchProgressInfo(q)),
    }));
  },
});

export const folderSubject = subject;
