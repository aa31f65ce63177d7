// Category-level neuron patterns (docs/method.md, many images), pure functions over records: per class and layer,
// how often each neuron is on the path, the most frequent ones with the images that use them, and
// for each class the classes most similar to it (cosine of the frequency vectors, all layers
// concatenated). Only the top N per class is kept: the full matrix is quadratic in the classes
// (6000 classes: 36 million numbers), so it is computed a row at a time and never stored whole.
import { knownLabel, placeholderName } from '../classNames';
import { EngineError } from '../errors';
import type { AnalysisResult } from '../result';
import type { FolderClass } from './schema';

/** What the patterns read from a record (a batch line, or a plain neuron-path/1 record). */
export type PatternRecord = Pick<AnalysisResult, 'path' | 'target' | 'prediction'> & Partial<Pick<AnalysisResult, 'topK'>> & {
  model: Pick<AnalysisResult['model'], 'layers' | 'neuronsPerLayer'>;
  image: Pick<AnalysisResult['image'], 'path'>;
} & Partial<FolderClass>;

/** auto: the folder's class where the image has one, else the predicted class. */
export type GroupBy = 'auto' | 'folder' | 'predicted';

export interface Group { key: string; class: number | null; label: string }

export interface NeuronFrequency {
  neuron: number;
  count: number;                    // paths of the class that pass through it
  frequency: number;                // count / images of the class
  images: number[];                 // indices into CategoryPatterns.images
}

export interface ClassPattern extends Group {
  count: number;                    // images of the class
  layers: NeuronFrequency[][];      // per layer, every neuron on some path, most frequent first
}

export interface CategoryPatterns {
  layers: number;
  neurons: number;
  groupBy: GroupBy;
  images: string[];                 // image paths, in record order
  classes: ClassPattern[];          // by class index, then folder name
  /** How many most similar classes `similar` keeps per class (at most). */
  similarTop: number;
  /** Per class (as `classes`), the other classes with a cosine above 0, most similar first (ties: lower index), at most `similarTop`. */
  similar: SimilarClass[][];
}

export interface SimilarClass {
  index: number;                    // into CategoryPatterns.classes
  similarity: number;               // cosine of the two classes' frequency vectors
}

/** The most similar classes kept per class by default (the CLI prints the 20 most similar pairs: exact with N >= 20). */
export const SIMILAR_TOP_DEFAULT = 20;
export const SIMILAR_TOP_RANGE = { min: 1, max: 1000 } as const;

export interface PatternOptions {
  by?: GroupBy;                     // default 'auto'
  labels?: string[];                // the model's class names, for classes no record names
  similarTop?: number;              // default SIMILAR_TOP_DEFAULT
}

export function groupOf(r: Pick<PatternRecord, 'prediction' | 'target' | 'trueClass' | 'folderLabel'>, by: GroupBy, labels: string[] = []): Group | undefined {
  const trueClass = r.trueClass ?? null, folder = r.folderLabel ?? null;
  if (by !== 'predicted' && trueClass !== null) {
    return { key: `class:${trueClass}`, class: trueClass, label: knownLabel(trueClass, labels, r) ?? folder ?? placeholderName(trueClass) };
  }
  if (by !== 'predicted' && folder !== null) return { key: `folder:${folder}`, class: null, label: folder };
  if (by === 'folder') return undefined;
  const top = r.prediction.top[0];
  return { key: `class:${top.class}`, class: top.class, label: knownLabel(top.class, labels, r) ?? placeholderName(top.class) };
}

export function categoryPatterns(records: PatternRecord[], options: PatternOptions = {}): CategoryPatterns {
  const by = options.by ?? 'auto';
  const L = records[0]?.model.layers ?? 0, D = records[0]?.model.neuronsPerLayer ?? 0;
  const odd = records.find((r) => r.model.layers !== L || r.model.neuronsPerLayer !== D || r.path.length !== L);
  if (odd) throw new EngineError('not-comparable', `records of different models: ${odd.image.path} has ${odd.model.layers}x${odd.model.neuronsPerLayer} neurons, the first ${L}x${D}`);
  const groups = new Map<string, { group: Group; images: number[]; layers: Map<number, number[]>[] }>();
  records.forEach((r, i) => {
    const group = groupOf(r, by, options.labels);
    if (!group) return;
    let g = groups.get(group.key);
    if (!g) groups.set(group.key, g = { group, images: [], layers: Array.from({ length: L }, () => new Map<number, number[]>()) });
    g.images.push(i);
    for (const n of r.path) {
      const list = g.layers[n.layer].get(n.neuron);
      if (list) list.push(i); else g.layers[n.layer].set(n.neuron, [i]);
    }
  });
  const classes: ClassPattern[] = [...groups.values()]
    .sort((a, b) => (a.group.class ?? Infinity) - (b.group.class ?? Infinity) || a.group.label.localeCompare(b.group.label))
    .map(({ group, images, layers }) => ({
      ...group, count: images.length,
      layers: layers.map((m) => [...m.entries()]
        .map(([neuron, imgs]) => ({ neuron, count: imgs.length, frequency: imgs.length / images.length, images: imgs }))
        .sort((a, b) => b.count - a.count || a.neuron - b.neuron)),
    }));
  const similarTop = options.similarTop ?? SIMILAR_TOP_DEFAULT;
  if (!Number.isInteger(similarTop) || similarTop < SIMILAR_TOP_RANGE.min || similarTop > SIMILAR_TOP_RANGE.max) {
    throw new EngineError('invalid-option', `the number of most similar classes must be an integer from ${SIMILAR_TOP_RANGE.min} to ${SIMILAR_TOP_RANGE.max}, got ${similarTop}`);
  }
  const index = new SimilarityIndex(classes);
  return {
    layers: L, neurons: D, groupBy: by, images: records.map((r) => r.image.path), classes,
    similarTop, similar: classes.map((_, i) => index.top(i, similarTop)),
  };
}

/** The k most frequent neurons of each layer of a class (fewer where fewer are ever on its paths). */
export function topNeurons(pattern: ClassPattern, k: number): NeuronFrequency[][] {
  return pattern.layers.map((l) => l.slice(0, k));
}

/** The images of a class whose path passes through (layer, neuron): a heatmap cell's images. */
export function imagesThrough(patterns: CategoryPatterns, key: string, layer: number, neuron: number): string[] {
  const cls = patterns.classes.find((c) => c.key === key);
  const cell = cls?.layers[layer]?.find((n) => n.neuron === neuron);
  return (cell?.images ?? []).map((i) => patterns.images[i]);
}

/** Cosine similarity of two classes' frequency vectors, all layers concatenated (SimilarityIndex gives the same numbers, bit for bit, for many). */
export function cosine(a: ClassPattern, b: ClassPattern): number {
  let dot = 0, na = 0, nb = 0;
  a.layers.forEach((la, l) => {
    const fb = new Map(b.layers[l].map((n) => [n.neuron, n.frequency]));
    for (const n of la) { na += n.frequency ** 2; dot += n.frequency * (fb.get(n.neuron) ?? 0); }
  });
  for (const lb of b.layers) for (const n of lb) nb += n.frequency ** 2;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Rows of the class similarity matrix, one at a time: an inverted index (neuron -> the classes whose
 * paths use it) gives a row in time proportional to the classes that share neurons with the row's
 * class. Each dot product adds the same products in the same order as `cosine`, so the numbers are
 * identical to it (a neuron the other class lacks adds an exact 0 there).
 */
export class SimilarityIndex {
  private readonly classes: ClassPattern[];
  private readonly norms: Float64Array;
  /** Per layer and neuron: the classes that use it and their frequencies. */
  private readonly postings: Map<number, { index: number[]; frequency: number[] }>[];
  private readonly dots: Float64Array;
  private readonly touched: Int32Array;

  constructor(classes: ClassPattern[]) {
    this.classes = classes;
    this.norms = new Float64Array(classes.length);
    this.postings = Array.from({ length: classes[0]?.layers.length ?? 0 }, () => new Map<number, { index: number[]; frequency: number[] }>());
    classes.forEach((c, i) => {
      let norm = 0;
      c.layers.forEach((layer, l) => {
        for (const n of layer) {
          norm += n.frequency ** 2;
          let p = this.postings[l].get(n.neuron);
          if (!p) this.postings[l].set(n.neuron, p = { index: [], frequency: [] });
          p.index.push(i);
          p.frequency.push(n.frequency);
        }
      });
      this.norms[i] = norm;
    });
    this.dots = new Float64Array(classes.length);
    this.touched = new Int32Array(classes.length);
  }

  /** Class i's cosine with every class (a fresh array: the row of the full matrix). */
  row(i: number): Float64Array {
    const out = new Float64Array(this.classes.length);
    this.each(i, (j, s) => { out[j] = s; });
    return out;
  }

  /** The n classes other than i most similar to it (cosine above 0), most similar first, ties to the lower index. */
  top(i: number, n: number): SimilarClass[] {
    const best: SimilarClass[] = [];
    this.each(i, (j, similarity) => {
      if (j === i || similarity <= 0) return;
      const worse = (x: SimilarClass) => x.similarity < similarity || (x.similarity === similarity && x.index > j);
      if (best.length === n && !worse(best[n - 1])) return;
      let at = best.length;
      while (at > 0 && worse(best[at - 1])) at--;
      best.splice(at, 0, { index: j, similarity });
      if (best.length > n) best.pop();
    });
    return best;
  }

  /** Calls f(j, cosine) for every class j that shares a neuron with class i. */
  private each(i: number, f: (j: number, similarity: number) => void): void {
    const { dots, touched, norms } = this;
    let count = 0;
    this.classes[i].layers.forEach((layer, l) => {
      for (const n of layer) {
        const p = this.postings[l].get(n.neuron)!;
        for (let k = 0; k < p.index.length; k++) {
          const j = p.index[k];
          if (dots[j] === 0) touched[count++] = j;
          dots[j] += n.frequency * p.frequency[k];
        }
      }
    });
    for (let k = 0; k < count; k++) {
      const j = touched[k];
      f(j, dots[j] / Math.sqrt(norms[i] * norms[j]));
      dots[j] = 0;
    }
  }
}

/** The n most similar pairs of different classes (exact for n up to `similarTop`: a pair among the n best is among both classes' n best). */
export function similarityPairs(patterns: CategoryPatterns, n: number): { a: string; b: string; similarity: number }[] {
  const seen = new Set<string>();
  const pairs: { a: string; b: string; similarity: number }[] = [];
  patterns.similar.forEach((list, i) => {
    for (const { index: j, similarity } of list) {
      const key = i < j ? `${i},${j}` : `${j},${i}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const [a, b] = i < j ? [i, j] : [j, i];
      pairs.push({ a: patterns.classes[a].label, b: patterns.classes[b].label, similarity });
    }
  });
  return pairs.sort((x, y) => y.similarity - x.similarity).slice(0, n);
}
