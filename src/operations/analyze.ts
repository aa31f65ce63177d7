// One image with the open model; progress after every layer step (the path grows live).
import type { AnalyzeOptions } from '../engine/api';
import type { AnalysisResult } from '../engine/result';
import { isObject, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';

export interface AnalyzeParams { imagePath: string; options: AnalyzeOptions }

const subject = (p: AnalyzeParams) => `the image ${p.imagePath}`;

export const analyze = operation<AnalyzeParams, AnalysisResult, 'layer'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one layer step
  progress: 'layer',
  queued: true,
  isParams: (v) => isString(v.imagePath) && v.imagePath.length > 0 && isObject(v.options),
  subject,
  failure: analysisFailure(subject),
  run: (ctx, p) => ctx.model().engine.analyze(p.imagePath, p.options, { signal: ctx.signal, onProgress: (q) => ctx.progress(q) }),
});
