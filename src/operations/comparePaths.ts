// Two analyses of the open model side by side: shared neurons, the rank of each path neuron in the
// other's scores, and the JAS of each path on the other image (two more JAS runs).
import { isAnalysisResult } from '../engine/batch/records';
import { EngineError } from '../engine/errors';
import { recordedPath } from '../engine/files';
import { checkComparable, comparePaths as compare, type PathComparison } from '../engine/pathCompare';
import type { AnalysisResult } from '../engine/result';
import { isFiniteNumber, isIndex, isObject, isString } from '../protocol/guards';
import { analysisFailure, operation } from './operation';

export interface CompareParams { a: AnalysisResult; b: AnalysisResult }

const isSide = (v: unknown): boolean => isObject(v) && isString(v.image) && isObject(v.target) && isFiniteNumber(v.jas) && isFiniteNumber(v.jasOnOther);

const subject = (p: CompareParams) => `the paths of ${p.a.image.path} and ${p.b.image.path}`;

export const comparePaths = operation<CompareParams, PathComparison, 'none'>({
  timeoutMs: 10 * 60_000,   // two JAS runs
  progress: 'none',
  queued: true,
  isParams: (v) => isAnalysisResult(v.a) && isAnalysisResult(v.b),
  isResult: (v): v is PathComparison => isObject(v) && isSide(v.a) && isSide(v.b) && isIndex(v.neurons) && Array.isArray(v.layers) && isIndex(v.shared),
  resultShape: 'a comparison (a and b with image, target and JAS, neurons, layers, shared)',
  subject,
  failure: analysisFailure(subject),
  run: async (ctx, { a, b }) => {
    const { engine } = ctx.model();
    checkComparable(a, b);
    if (a.model.sha256 !== engine.info.sha256) throw new EngineError('not-comparable', 'the results are of another model than the one loaded; analyse them again');
    const settings = { steps: a.settings.steps, rule: a.settings.rule ?? 'left', formula: a.settings.formula } as const;
    const aOnB = await engine.pathJas(recordedPath(b.image), a.path.map((p) => p.neuron), { ...settings, target: b.target.class }, ctx.signal);
    const bOnA = await engine.pathJas(recordedPath(a.image), b.path.map((p) => p.neuron), { ...settings, target: a.target.class }, ctx.signal);
    return compare(a, b, { aOnB, bOnA });
  },
});
