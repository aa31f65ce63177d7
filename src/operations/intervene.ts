// Any neurons of the open model multiplied by factors on one image, everything else live: the top-5
// before and after (one forward pass of two rows; the panel's Intervene section asks on every change).
import { pathRecord, recordedPath, type FsPath } from '../engine/files';
import { INTERVENTION_ROWS, type Intervention, type InterventionRecord, type NeuronSetting } from '../engine/intervene';
import { isIndex, isObject, isOptional, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';

/** `imageBase64`: the path's bytes, for a folder scan's name that is not UTF-8. `target`: the class followed, else the one predicted before. */
export interface InterveneParams { imagePath: string; imageBase64?: string; intervention: Intervention; target?: number }

export function interveneParams(image: FsPath, intervention: Intervention, target?: number): InterveneParams {
  const { path: imagePath, pathBase64: imageBase64 } = pathRecord(image);
  return { imagePath, ...(imageBase64 !== undefined ? { imageBase64 } : {}), intervention, ...(target !== undefined ? { target } : {}) };
}

const isSetting = (v: unknown): v is NeuronSetting => isObject(v) && isIndex(v.layer) && isIndex(v.neuron) && typeof v.factor === 'number' && Number.isFinite(v.factor);
const isIntervention = (v: unknown): v is Intervention => isObject(v) && Array.isArray(v.settings) && v.settings.every(isSetting)
  && INTERVENTION_ROWS.includes(v.rows as Intervention['rows']);

const subject = (p: InterveneParams) => `the image ${p.imagePath}`;

export const intervene = operation<InterveneParams, InterventionRecord, 'none'>({
  timeoutMs: 5 * 60_000,    // one forward pass of two rows
  progress: 'none',
  queued: true,
  isParams: (v) => isString(v.imagePath) && v.imagePath.length > 0 && isOptional(v.imageBase64, isString) && isIntervention(v.intervention)
    && isOptional(v.target, isIndex),
  subject,
  failure: analysisFailure(subject),
  run: (ctx, p) => ctx.model().engine.intervene(recordedPath({ path: p.imagePath, pathBase64: p.imageBase64 }), p.intervention, p.target, ctx.signal),
});
