// Compact batch records: per layer only the top K candidate scores and the path neuron's rank among
// all D, instead of every score. A ViT-B/16 record with all scores is about 0.75 MB (12 x 3072
// numbers); 50,000 of them would not fit comfortably anywhere. Single-image results keep all.
import { rankOf, topIndices } from '../rank';
import type { AnalysisResult } from '../result';

export const TOP_SCORES = 32;

/** What a compact record keeps of `layerScores` (whose rows it leaves empty). */
export interface TopScores {
  k: number;                          // scores kept per layer (fewer when D is smaller)
  layers: {
    neurons: number[];                // the k best candidates of the layer step, best first
    scores: number[];                 // their scores
    pathRank: number;                 // 1-based rank of the path neuron among all D scores (rank.ts's order)
  }[];
}

export type ScoresKept = 'top' | 'all';

/** The record with its layer scores cut to the top `k` per layer, in rank.ts's order. */
export function compactScores<T extends AnalysisResult>(record: T, k = TOP_SCORES): T & { topScores: TopScores } {
  const layers = record.layerScores.map((row, layer) => {
    const top = topIndices(row, k);
    return { neurons: top, scores: top.map((j) => row[j]), pathRank: rankOf(row, record.path[layer].neuron) };
  });
  return { ...record, layerScores: [], topScores: { k, layers } };
}

/** A batch record without all its scores (the image panel recomputes such an image). */
export const isCompact = (record: { topScores?: TopScores; layerScores: number[][] }) => record.topScores !== undefined;
