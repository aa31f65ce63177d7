// Category-level neuron patterns (docs/method.md, many images), pure functions over records: per class and layer,
// how often each neuron is on the path, the most frequent ones with the images that use them, and
// a class-by-class cosine similarity of the frequency vectors (all layers concatenated).
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
  similarity: number[][];           // classes x classes, cosine of the frequency vectors
}

export interface PatternOptions {
  by?: GroupBy;                     // default 'auto'
  labels?: string[];                // the model's class names, for classes no record names
}

export function groupOf(r: Pick<PatternRecord, 'prediction' | 'target' | 'trueClass' | 'folderLabel'>, by: GroupBy, labels: string[] = []): Group | undefined {
  const trueClass = r.trueClass ?? null, folder = r.folderLabel ?? null;
  if (by !== 'predicted' && trueClass !== null) {
    const label = labels[trueClass] ?? r.prediction.top.find((c) => c.class === trueClass)?.label
      ?? (r.target.class === trueClass ? r.target.label : folder ?? `class ${trueClass}`);
    return { key: `class:${trueClass}`, class: trueClass, label };
  }
  if (by !== 'predicted' && folder !== null) return { key: `folder:${folder}`, class: null, label: folder };
  if (by === 'folder') return undefined;
  const top = r.prediction.top[0];
  return { key: `class:${top.class}`, class: top.class, label: labels[top.class] ?? top.label };
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
  return {
    layers: L, neurons: D, groupBy: by, images: records.map((r) => r.image.path), classes,
    similarity: classes.map((a) => classes.map((b) => cosine(a, b))),
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

/** Cosine similarity of two classes' frequency vectors, all layers concatenated. */
export function cosine(a: ClassPattern, b: ClassPattern): number {
  let dot = 0, na = 0, nb = 0;
  a.layers.forEach((la, l) => {
    const fb = new Map(b.layers[l].map((n) => [n.neuron, n.frequency]));
    for (const n of la) { na += n.frequency ** 2; dot += n.frequency * (fb.get(n.neuron) ?? 0); }
  });
  for (const lb of b.layers) for (const n of lb) nb += n.frequency ** 2;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** The n most similar pairs of different classes. */
export function similarityPairs(patterns: CategoryPatterns, n: number): { a: string; b: string; similarity: number }[] {
  const pairs: { a: string; b: string; similarity: number }[] = [];
  patterns.classes.forEach((a, i) => patterns.classes.forEach((b, j) => { if (j > i) pairs.push({ a: a.label, b: b.label, similarity: patterns.similarity[i][j] }); }));
  return pairs.sort((x, y) => y.similarity - x.similarity).slice(0, n);
}
