// The class similarity of a report on many classes (`npm run bench -- --classes 1000,6000`): the
// category patterns of generated records of a ViT-B-shaped model (12 blocks x 3072 neurons), with
// the full class x class matrix as the report made it before (dense: every pair's cosine, all kept)
// and with each class's top N only, row by row (now). Each in its own process, for its peak RSS.
import { categoryPatterns, cosine, type ClassPattern, type PatternRecord } from '../../src/engine/batch/patterns';
import { rng } from '../../src/engine/random';

export interface ClassRecordsShape { classes: number; perClass: number; layers: number; neurons: number; seed: number }

export const VIT_B_CLASSES: Omit<ClassRecordsShape, 'classes'> = { perClass: 2, layers: 12, neurons: 3072, seed: 1 };

/**
 * Records with one path neuron per block: half of the time one of the class's own 3 neurons of the
 * block, else a neuron of the whole model drawn towards the low numbers (some neurons are on many
 * classes' paths, as on a real model), so classes share neurons unevenly.
 */
export function manyClassRecords(s: ClassRecordsShape): PatternRecord[] {
  const random = rng(s.seed);
  const own = Array.from({ length: s.classes }, () => Array.from({ length: s.layers }, () => Array.from({ length: 3 }, () => Math.floor(random() * s.neurons))));
  const records: PatternRecord[] = [];
  for (let c = 0; c < s.classes; c++) {
    for (let k = 0; k < s.perClass; k++) {
      const path = own[c].map((mine, layer) => ({
        layer, neuron: random() < 0.5 ? mine[Math.floor(random() * 3)] : Math.floor(s.neurons * random() ** 3), activation: 1, score: 1,
      }));
      const top = { class: c, label: `class ${c}`, probability: 1 };
      records.push({
        model: { layers: s.layers, neuronsPerLayer: s.neurons }, image: { path: `/images/${c}/${k}.png` },
        path, prediction: { top: [top] }, target: top, trueClass: c, folderLabel: null,
      });
    }
  }
  return records;
}

/** The full matrix, as categoryPatterns made it before it kept the top N: every pair's cosine. */
export function denseSimilarity(classes: ClassPattern[]): number[][] {
  return classes.map((a) => classes.map((b) => cosine(a, b)));
}

export interface ClassesResult { classes: number; images: number; seconds: number; maxRssMb: number; jsonMb: number }

/** One measurement (a bench child): the patterns of `classes` generated classes, dense or top N. */
export function classesChild(spec: { classes: number; dense: boolean }): ClassesResult {
  const records = manyClassRecords({ ...VIT_B_CLASSES, classes: spec.classes });
  const started = performance.now();
  const patterns = categoryPatterns(records, { similarTop: spec.dense ? 1 : undefined });
  const matrix = spec.dense ? denseSimilarity(patterns.classes) : undefined;
  const seconds = (performance.now() - started) / 1000;
  // What the similarity adds to the JSON report (a row at a time: the whole matrix is more than a string holds).
  const jsonBytes = matrix ? matrix.reduce((sum, row) => sum + JSON.stringify(row).length + 1, 0) : JSON.stringify(patterns.similar).length;
  return { classes: patterns.classes.length, images: records.length, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, jsonMb: jsonBytes / 2 ** 20 };
}
