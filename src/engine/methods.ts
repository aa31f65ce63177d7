// The path against the baselines, as one table: per method its JAS, the target probability after its
// neurons are removed (x0) and enhanced (x2), the deviations from the probability before, and whether
// the top-1 class is still the target after the removal. The record stores deviations for the path
// and the top-K path only; the baselines' are computed here, once, for every reader (the image panel,
// the CLI's summary, the comparison over a folder). A leaf (types only): the pages import it.
import type { AnalysisResult } from './result';

export type MethodKey = 'path' | 'topk' | 'activation' | 'ig' | 'ip' | 'random';

export interface MethodRow {
  key: MethodKey;
  jas: number;
  jasStd?: number;                  // random: the spread of its paths' JAS
  remove: number;                   // target probability after removal (random: mean over its paths)
  enhance: number;
  removeDeviation: number;          // remove minus the probability before (negative: the neurons mattered)
  enhanceDeviation: number;
  /** 1 or 0: the top-1 is still the target after removal (random: the share of its paths); undefined: a record made before it was kept. */
  removeKept: number | undefined;
  k?: number;                       // topk: neurons per layer
  paths?: number;                   // random: how many paths
}

export type MethodRecord = Pick<AnalysisResult, 'jas' | 'target' | 'manipulation' | 'baselines' | 'topK'>;

/** The record's methods in table order: path, top-K path, activation, per-layer IG, influence pattern, random (those it has). */
export function methodRows(r: MethodRecord): MethodRow[] {
  const before = r.target.probability;
  const kept = (top1: number | undefined) => (top1 === undefined ? undefined : Number(top1 === r.target.class));
  const rows: MethodRow[] = [{
    key: 'path', jas: r.jas, remove: r.manipulation.remove.probability, enhance: r.manipulation.enhance.probability,
    removeDeviation: r.manipulation.remove.deviation, enhanceDeviation: r.manipulation.enhance.deviation, removeKept: kept(r.manipulation.remove.top1),
  }];
  if (r.topK) {
    rows.push({
      key: 'topk', k: r.topK.k, jas: r.topK.jas, remove: r.topK.remove.probability, enhance: r.topK.enhance.probability,
      removeDeviation: r.topK.remove.deviation, enhanceDeviation: r.topK.enhance.deviation, removeKept: kept(r.topK.remove.top1),
    });
  }
  const b = r.baselines;
  const baseline = (key: 'activation' | 'ig' | 'ip', x: NonNullable<typeof b.activation>): MethodRow => ({
    key, jas: x.jas, remove: x.remove, enhance: x.enhance, removeDeviation: x.remove - before, enhanceDeviation: x.enhance - before, removeKept: kept(x.removeTop1),
  });
  if (b.activation) rows.push(baseline('activation', b.activation));
  if (b.integratedGradients) rows.push(baseline('ig', b.integratedGradients));
  if (b.influencePattern) rows.push(baseline('ip', b.influencePattern));
  if (b.random) {
    rows.push({
      key: 'random', paths: b.random.count, jas: b.random.jasMean, jasStd: b.random.jasStd, remove: b.random.removeMean, enhance: b.random.enhanceMean,
      removeDeviation: b.random.removeMean - before, enhanceDeviation: b.random.enhanceMean - before, removeKept: b.random.removeKept,
    });
  }
  return rows;
}
