// The method comparison over many images, as the paper reports it: for the path and each baseline,
// the mean and spread of JAS and of the remove / enhance deviations, the share of images whose
// top-1 class is still the target after the removal, and how often the path beats the baseline.
import { methodRows, type MethodRecord, type MethodRow } from '../methods';
import type { AnalysisResult } from '../result';

export type Method = 'path' | 'activation' | 'ig' | 'ip' | 'random';
export const METHOD_NAMES: Record<Method, string> = {
  path: 'neuron path', activation: 'activation', ig: 'per-layer IG', ip: 'influence pattern', random: 'random (mean)',
};

export interface Stat { mean: number; std: number; n: number }

export interface MethodStats {
  method: Method;
  name: string;
  images: number;
  jas: Stat;
  removeDeviation: Stat;            // target probability after removal minus before (negative: the path mattered)
  enhanceDeviation: Stat;
  /** Accuracy after removal: share of images whose top-1 is still the target (random: over its paths too). null: records too old. */
  removeKept: number | null;
  /** Share of the images with both where the path does better: higher JAS, larger drop on remove, larger rise on enhance. */
  pathBeats: { jas: number; remove: number; enhance: number } | null;
}

export function stat(xs: number[]): Stat {
  const n = xs.length;
  if (!n) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n), n };
}

export function compareMethods(records: MethodRecord[]): MethodStats[] {
  const methods: Method[] = ['path', 'activation', 'ig', 'ip', 'random'];
  const tables = records.map(methodRows);
  return methods.flatMap((m): MethodStats[] => {
    const have = tables.flatMap((rows) => {
      const x = rows.find((row) => row.key === m);
      return x ? [{ x, p: rows[0] }] : [];
    });
    if (!have.length) return [];
    const kept = have.map(({ x }) => x.removeKept);
    const share = (f: (p: MethodRow, x: MethodRow) => boolean) => have.filter(({ x, p }) => f(p, x)).length / have.length;
    return [{
      method: m, name: METHOD_NAMES[m], images: have.length,
      jas: stat(have.map(({ x }) => x.jas)),
      removeDeviation: stat(have.map(({ x }) => x.removeDeviation)),
      enhanceDeviation: stat(have.map(({ x }) => x.enhanceDeviation)),
      removeKept: kept.every((k) => k !== undefined) ? stat(kept).mean : null,
      pathBeats: m === 'path' ? null : {
        jas: share((p, x) => p.jas > x.jas), remove: share((p, x) => p.removeDeviation < x.removeDeviation), enhance: share((p, x) => p.enhanceDeviation > x.enhanceDeviation),
      },
    }];
  });
}

/** Top-1 accuracy of the clean model against the folder classes, where records have one. */
export function cleanAccuracy(records: (Pick<AnalysisResult, 'prediction'> & { trueClass?: number | null })[]): { accuracy: number; images: number } | null {
  const labelled = records.filter((r) => r.trueClass !== undefined && r.trueClass !== null);
  if (!labelled.length) return null;
  return { accuracy: labelled.filter((r) => r.prediction.top[0].class === r.trueClass).length / labelled.length, images: labelled.length };
}
