// The method comparison over many images, as the paper reports it: for the path and each baseline,
// the mean and spread of JAS and of the remove / enhance deviations, the share of images whose
// top-1 class is still the target after the removal, and how often the path beats the baseline.
import type { AnalysisResult } from '../result';

export type Method = 'path' | 'activation' | 'ig' | 'ip' | 'random';
export const METHOD_NAMES: Record<Method, string> = {
  path: 'neuron path', activation: 'activation', ig: 'per-layer IG', ip: 'influence pattern', random: 'random (mean)',
};
const BASELINE_KEYS = { activation: 'activation', ig: 'integratedGradients', ip: 'influencePattern' } as const;

export type CompareRecord = Pick<AnalysisResult, 'jas' | 'target' | 'manipulation' | 'baselines'>;

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

interface PerImage { jas: number; remove: number; enhance: number; kept: number | undefined }

function perImage(r: CompareRecord, m: Method): PerImage | undefined {
  const before = r.target.probability;
  switch (m) {
    case 'path': {
      const { remove, enhance } = r.manipulation;
      return { jas: r.jas, remove: remove.deviation, enhance: enhance.deviation, kept: remove.top1 === undefined ? undefined : Number(remove.top1 === r.target.class) };
    }
    case 'activation':
    case 'ig':
    case 'ip': {
      const b = r.baselines[BASELINE_KEYS[m]];
      if (!b) return undefined;
      return { jas: b.jas, remove: b.remove - before, enhance: b.enhance - before, kept: b.removeTop1 === undefined ? undefined : Number(b.removeTop1 === r.target.class) };
    }
    case 'random': {
      const b = r.baselines.random;
      if (!b) return undefined;
      return { jas: b.jasMean, remove: b.removeMean - before, enhance: b.enhanceMean - before, kept: b.removeKept };
    }
  }
}

export function stat(xs: number[]): Stat {
  const n = xs.length;
  if (!n) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n), n };
}

export function compareMethods(records: CompareRecord[]): MethodStats[] {
  const methods: Method[] = ['path', 'activation', 'ig', 'ip', 'random'];
  const path = records.map((r) => perImage(r, 'path')!);
  return methods.flatMap((m): MethodStats[] => {
    const rows = records.map((r) => perImage(r, m));
    const have = rows.flatMap((x, i) => (x ? [{ x, p: path[i] }] : []));
    if (!have.length) return [];
    const kept = have.map(({ x }) => x.kept);
    const share = (f: (p: PerImage, x: PerImage) => boolean) => have.filter(({ x, p }) => f(p, x)).length / have.length;
    return [{
      method: m, name: METHOD_NAMES[m], images: have.length,
      jas: stat(have.map(({ x }) => x.jas)),
      removeDeviation: stat(have.map(({ x }) => x.remove)),
      enhanceDeviation: stat(have.map(({ x }) => x.enhance)),
      removeKept: kept.every((k) => k !== undefined) ? stat(kept).mean : null,
      pathBeats: m === 'path' ? null : {
        jas: share((p, x) => p.jas > x.jas), remove: share((p, x) => p.remove < x.remove), enhance: share((p, x) => p.enhance > x.enhance),
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
