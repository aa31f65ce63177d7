// Feature visualization with the open model: the image that maximises a neuron (or a class logit),
// written as a PNG to `out`; progress after every optimisation step, cancelled between steps.
import type { VisualizationRecord, VisualizeRequest } from '../engine/index';
import { isFiniteNumber, isIndex, isLocalPath, isObject, isOptional, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';

export interface VisualizeParams extends VisualizeRequest { out: string }

const subject = (p: VisualizeParams) => (p.class !== undefined ? `the visualization of class ${p.class}` : `the visualization of neuron ${p.layer}:${p.neuron}`);
const isRows = (v: unknown): v is VisualizeParams['rows'] => v === 'readout' || v === 'patches';
const isSize = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => isIndex(x) && x > 0);

export const visualize = operation<VisualizeParams, VisualizationRecord, 'step'>({
  timeoutMs: 5 * 60_000,    // between two progress messages: one step of a large model
  progress: 'step',
  queued: true,
  isParams: (v) => isLocalPath(v.out) && isOptional(v.layer, isIndex) && isOptional(v.neuron, isIndex) && isOptional(v.class, isIndex)
    && isOptional(v.rows, isRows) && isOptional(v.steps, isIndex) && isOptional(v.seed, isIndex) && isOptional(v.size, isSize),
  isResult: (v): v is VisualizationRecord => isObject(v) && isString(v.schema) && isObject(v.model) && isObject(v.objective) && isObject(v.settings)
    && isObject(v.image) && isString(v.image.path) && Array.isArray(v.objectivePerStep) && isFiniteNumber(v.finalActivation) && isObject(v.timing),
  resultShape: 'a visualization (model, objective, settings, image with its path, objectivePerStep, finalActivation, timing)',
  subject,
  failure: analysisFailure(subject),
  run: (ctx, p) => {
    const { out, ...request } = p;
    return ctx.model().engine.visualize(request, out, (step, steps, value) => ctx.progress({ step, steps, value }), ctx.signal);
  },
});
