// One image with the open model; progress after every layer step (the path grows live).
import type { AnalyzeGiven, AnalyzeOptions } from '../engine/api';
import { isAnalysisResult } from '../engine/batch/records';
import type { FsPath } from '../engine/files';
import type { FileHash } from '../engine/hash';
import type { AnalysisResult } from '../engine/result';
import { isFiniteNumber, isIndex, isObject, isOptional, isSha256 } from '../protocol/guards';
import { imageOf, imageParams, imageSubject, isImageParams, type ImageParams } from './imageParams';
import { analysisFailure, operation } from './operation';

/** `prior`, `imageHash`: what the caller has already (AnalyzeGiven). */
export interface AnalyzeParams extends ImageParams, AnalyzeGiven { options: AnalyzeOptions }

/** A hash with the stamp of the file it was made of (a time may be before 1970: negative). */
const isFileHash = (v: unknown): v is FileHash => isObject(v) && isSha256(v.sha256) && isIndex(v.size)
  && isFiniteNumber(v.mtimeMs) && isFiniteNumber(v.ctimeMs);

/** The parameters for an image given as a path or its bytes (with its hash where the caller has it). */
export function analyzeParams(image: FsPath, options: AnalyzeOptions, imageHash?: FileHash): AnalyzeParams {
  return { ...imageParams(image), options, ...(imageHash ? { imageHash } : {}) };
}

export const analyze = operation<AnalyzeParams, AnalysisResult, 'layer'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one layer step
  progress: 'layer',
  queued: true,
  isParams: (v) => isImageParams(v) && isObject(v.options)
    && isOptional(v.prior, isAnalysisResult) && isOptional(v.imageHash, isFileHash),
  isResult: isAnalysisResult,
  resultShape: 'an analysis (model, image, path, prediction, target, settings, JAS, baselines, in their bounds)',
  subject: imageSubject,
  failure: analysisFailure(imageSubject),
  run: (ctx, p) => ctx.model().engine.analyze(imageOf(p), p.options, { signal: ctx.signal, onProgress: (q) => ctx.progress(q) }, { prior: p.prior, imageHash: p.imageHash }),
});
