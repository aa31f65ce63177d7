// One image with the open model; progress after every layer step (the path grows live).
import type { AnalyzeOptions } from '../engine/api';
import { isAnalysisResult } from '../engine/batch/resultFile';
import { pathRecord, recordedPath, type FsPath } from '../engine/files';
import type { AnalysisResult } from '../engine/result';
import { isObject, isOptional, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';

/**
 * `imageBase64`: the path's bytes, for a folder scan's name that is not UTF-8 (`imagePath` is then its text form).
 * `prior`: an earlier result of the image whose path is reused; only the wanted baselines it lacks are computed.
 */
export interface AnalyzeParams { imagePath: string; imageBase64?: string; options: AnalyzeOptions; prior?: AnalysisResult }

/** The parameters for an image given as a path or its bytes. */
export function analyzeParams(image: FsPath, options: AnalyzeOptions): AnalyzeParams {
  const { path: imagePath, pathBase64: imageBase64 } = pathRecord(image);
  return { imagePath, ...(imageBase64 !== undefined ? { imageBase64 } : {}), options };
}

const subject = (p: AnalyzeParams) => `the image ${p.imagePath}`;

export const analyze = operation<AnalyzeParams, AnalysisResult, 'layer'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one layer step
  progress: 'layer',
  queued: true,
  isParams: (v) => isString(v.imagePath) && v.imagePath.length > 0 && isOptional(v.imageBase64, isString) && isObject(v.options)
    && isOptional(v.prior, isAnalysisResult),
  subject,
  failure: analysisFailure(subject),
  run: (ctx, p) => ctx.model().engine.analyze(recordedPath({ path: p.imagePath, pathBase64: p.imageBase64 }), p.options, { signal: ctx.signal, onProgress: (q) => ctx.progress(q) }, p.prior),
});
