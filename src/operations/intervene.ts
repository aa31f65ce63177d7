// Any neurons of the open model multiplied by factors on one image, everything else live: the top-5
// before and after (one forward pass of two rows; the panel's Intervene section asks on every change).
import type { FsPath } from '../engine/files';
import type { Intervention, InterventionRecord } from '../engine/intervene';
import { isFiniteNumber, isIndex, isObject, isOptional, isString } from '../protocol/guards';
import { isIntervention } from '../protocol/intervention';
import { imageOf, imageParams, imageSubject, isImageParams, type ImageParams } from './imageParams';
import { analysisFailure, operation } from './operation';

/** `target`: the class followed, else the one predicted before. */
export interface InterveneParams extends ImageParams { intervention: Intervention; target?: number }

export function interveneParams(image: FsPath, intervention: Intervention, target?: number): InterveneParams {
  return { ...imageParams(image), intervention, ...(target !== undefined ? { target } : {}) };
}

export const intervene = operation<InterveneParams, InterventionRecord, 'none'>({
  timeoutMs: 5 * 60_000,    // one forward pass of two rows
  progress: 'none',
  queued: true,
  isParams: (v) => isImageParams(v) && isIntervention(v.intervention)
    && isOptional(v.target, isIndex),
  isResult: (v): v is InterventionRecord => isObject(v) && isString(v.schema) && isObject(v.model) && isObject(v.image)
    && Array.isArray(v.before) && Array.isArray(v.after) && isIndex(v.top1After) && isObject(v.target)
    && isIndex(v.target.class) && isFiniteNumber(v.target.before) && isFiniteNumber(v.target.after) && isIntervention(v),
  resultShape: 'an intervention (its settings and rows, model, image, the top classes before and after, the target before and after, top1After)',
  subject: imageSubject,
  failure: analysisFailure(imageSubject),
  run: (ctx, p) => ctx.model().engine.intervene(imageOf(p), p.intervention, p.target, ctx.signal),
});
