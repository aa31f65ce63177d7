// One image with the open model; progress after every layer step (the path grows live).
import type { AnalyzeOptions } from '../engine/api';
import { isAnalysisResult } from '../engine/batch/records';
import type { FsPath } from '../engine/files';
import type { AnalysisResult } from '../engine/result';
import { isObject, isOptional } from '../protocol/guards';
import { imageOf, imageParams, imageSubject, isImageParams, type ImageParams } from './imageParams';
import { analysisFailure, operation } from './operation';

/** `prior`: an earlier result of the image whose path is reused; only the wanted baselines it lacks are computed. */
export interface AnalyzeParams extends ImageParams { options: AnalyzeOptions; prior?: AnalysisResult }

/** The parameters for an image given as a path or its bytes. */
export function analyzeParams(image: FsPath, options: AnalyzeOptions): AnalyzeParams {
  return { ...imageParams(image), options };
}

export const analyze = operation<AnalyzeParams, AnalysisResult, 'layer'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one layer step
  progress: 'layer',
  queued: true,
  isParams: (v) => isImageParams(v) && isObject(v.options)
    && isOptional(v.prior, isAnalysisResult),
  isResult: isAnalysisResult,
  resultShape: 'an analysis (model, image, path, prediction, target, settings, JAS, baselines, in their bounds)',
  subject: imageSubject,
  failure: analysisFailure(imageSubject),
  run: (ctx, p) => ctx.model().engine.analyze(imageOf(p), p.options, { signal: ctx.signal, onProgress: (q) => ctx.progress(q) }, p.prior),
});
