// The neuron scan of a folder with the open model (forward only) into a resumable .jsonl, through
// the same folder runner; progress after every image.
import type { NeuronUnit } from '../engine/batch/schema';
import { isIndex, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';
import { BATCH_RUN_SHAPE, batchProgressInfo, batchRunResult, isBatchRunResult, type BatchRunResult } from './progress';
import { folderSubject } from './batch';

/** Scan every image of `folder` for `units` into the resumable .jsonl `out`. */
export interface NeuronScanParams { folder: string; out: string; units: NeuronUnit[]; limit?: number }

const isUnit = (u: unknown): u is NeuronUnit => typeof u === 'object' && u !== null && isIndex((u as NeuronUnit).layer)
  && ((u as NeuronUnit).neuron === null || isIndex((u as NeuronUnit).neuron));

export const neuronScan = operation<NeuronScanParams, BatchRunResult, 'batch'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one batch of images
  progress: 'batch',
  queued: true,
  writesResultFile: true,
  isParams: (v) => isString(v.folder) && isString(v.out) && Array.isArray(v.units) && v.units.every(isUnit)
    && (v.limit === undefined || (typeof v.limit === 'number' && Number.isInteger(v.limit) && v.limit >= 1)),
  isResult: isBatchRunResult,
  resultShape: BATCH_RUN_SHAPE,
  subject: folderSubject,
  failure: analysisFailure(folderSubject),
  run: async (ctx, p) => {
    const { engine, options } = ctx.model();
    // Loaded when run: the folder runner reads images (sharp), which the host that imports this table never does.
    const { scanFolderNeurons } = await import('../engine/neurons/run');
    return batchRunResult(await scanFolderNeurons(engine, {
      folder: p.folder, out: p.out, units: p.units, modelOptions: options, limit: p.limit, signal: ctx.signal,
      onProgress: (q) => ctx.progress(batchProgressInfo(q)),
    }));
  },
});
