// An intervention on every image of a folder with the open model, into a resumable .jsonl (the
// engine's folder run); progress after every image, and per folder class the accuracy and the mean
// target probability before and after, read back from the whole file (earlier runs included).
import type { ClassEffect } from '../engine/interveneFolder';
import type { Intervention } from '../engine/intervene';
import { isIndex, isObject, isString } from '../protocol/guards';
import { isIntervention } from '../protocol/intervention';
import { folderSubject } from './batch';
import { analysisFailure, operation } from './operation';
import { BATCH_RUN_SHAPE, batchProgressInfo, batchRunResult, isBatchRunResult, type BatchRunResult } from './progress';

export interface InterveneFolderParams { folder: string; out: string; intervention: Intervention }

/** How the run ended, and the effects over every image in `out` (null when it holds none). */
export interface FolderInterventionResult { run: BatchRunResult; effects: { classes: ClassEffect[]; all: ClassEffect } | null }

const isEffects = (v: unknown): boolean => v === null || (isObject(v) && Array.isArray(v.classes) && isObject(v.all) && isIndex(v.all.images));

export const interveneFolder = operation<InterveneFolderParams, FolderInterventionResult, 'batch'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one image
  progress: 'batch',
  queued: true,
  writesResultFile: true,
  isParams: (v) => isString(v.folder) && isString(v.out) && isIntervention(v.intervention),
  isResult: (v): v is FolderInterventionResult => isObject(v) && isBatchRunResult(v.run) && isEffects(v.effects),
  resultShape: `the run (${BATCH_RUN_SHAPE}) and the effects (null, or classes and all)`,
  subject: folderSubject,
  failure: analysisFailure(folderSubject),
  run: async (ctx, p) => {
    const { engine, options } = ctx.model();
    // Loaded when run: the folder runner reads images (sharp), which the host that imports this table never does.
    const [{ interveneFolder: runFolder, INTERVENTION_RECORDS, summarizeInterventions }, { recordsOf }, { readResultFileSync }] = await Promise.all([
      import('../engine/interveneFolder'), import('../engine/batch/records'), import('../engine/batch/resultFile')]);
    const run = batchRunResult(await runFolder(engine, {
      folder: p.folder, out: p.out, intervention: p.intervention, modelOptions: options, signal: ctx.signal,
      onProgress: (q) => ctx.progress(batchProgressInfo(q)),
    }));
    const records = recordsOf(readResultFileSync(p.out, { kind: INTERVENTION_RECORDS }).lines);
    return { run, effects: records.length ? summarizeInterventions(records) : null };
  },
});
