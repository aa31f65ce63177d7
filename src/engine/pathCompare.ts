// Two images' paths side by side: where they share a neuron, how each path neuron
// ranks among the other image's candidate scores of its layer, and the JAS of each path on the
// other image (with that image's target class), beside its JAS on its own.
import { EngineError } from './errors';
import { stepsText } from '../format';
import { rankOf } from './rank';
import type { AnalysisResult, ClassProbability } from './result';

export interface LayerComparison {
  layer: number;
  a: number;                        // A's path neuron
  b: number;                        // B's path neuron
  same: boolean;
  aRankInB: number;                 // 1-based rank of A's neuron among B's scores of the layer (1: B chose it too)
  bRankInA: number;
}

export interface PathComparison {
  a: { image: string; target: ClassProbability; jas: number; jasOnOther: number };
  b: { image: string; target: ClassProbability; jas: number; jasOnOther: number };
  neurons: number;                  // per layer, for reading the ranks
  layers: LayerComparison[];
  shared: number;                   // layers where both paths use the same neuron
}

/** Checks that two results can be compared: same model, same scoring settings. */
export function checkComparable(a: AnalysisResult, b: AnalysisResult): void {
  if (a.model.sha256 !== b.model.sha256) throw new EngineError('not-comparable', `the two results are of different models (${a.model.path} and ${b.model.path}); analyse both with one model`);
  if (a.settings.steps !== b.settings.steps || a.settings.formula !== b.settings.formula || (a.settings.rule ?? 'left') !== (b.settings.rule ?? 'left')) {
    const how = (s: AnalysisResult['settings']) => `${stepsText(s)}, ${s.formula}`;
    throw new EngineError('not-comparable', `the two results were scored differently (${how(a.settings)} vs ${how(b.settings)}); analyse both with the same steps, rule and formula`);
  }
}

/** `cross`: JAS of A's path on B's image (B's target) and of B's path on A's image (A's target). */
export function comparePaths(a: AnalysisResult, b: AnalysisResult, cross: { aOnB: number; bOnA: number }): PathComparison {
  checkComparable(a, b);
  const layers = a.path.map((pa, l): LayerComparison => {
    const pb = b.path[l];
    return { layer: l, a: pa.neuron, b: pb.neuron, same: pa.neuron === pb.neuron, aRankInB: rankOf(b.layerScores[l], pa.neuron), bRankInA: rankOf(a.layerScores[l], pb.neuron) };
  });
  return {
    a: { image: a.image.path, target: a.target, jas: a.jas, jasOnOther: cross.aOnB },
    b: { image: b.image.path, target: b.target, jas: b.jas, jasOnOther: cross.bOnA },
    neurons: a.model.neuronsPerLayer, layers, shared: layers.filter((l) => l.same).length,
  };
}
