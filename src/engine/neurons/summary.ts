// What a neuron responds to, from a scan's records (pure, JSON-serialisable): the images that excite
// it most with the patch where it peaks, its mean activation per class (selectivity), how often it
// is on the class's paths (given a folder analysis's patterns), and per class the accuracy and the
// target probability with the neuron zeroed, against the clean run.
import { groupOf, type CategoryPatterns } from '../batch/patterns';
import type { FolderClass } from '../batch/records';
import { stat, type Stat } from '../batch/compare';
import { invalidOption } from '../errors';
import type { ClassProbability } from '../result';
import type { NeuronScanRecord, UnitScan } from './records';

export type ScanRecord = NeuronScanRecord & Partial<FolderClass>;

export interface TopImage {
  image: string;
  activation: number;
  peak: { index: number; row: number; col: number; value: number };
  map?: number[];                   // the activation at every patch (scans of single neurons)
  group: string;                    // the image's class label (folder class, else predicted)
  predicted: ClassProbability;
}

export interface Ablation {
  accuracy: number;                 // share of images whose top-1 is the target (folder class, else the clean prediction)
  probability: number;              // mean target probability
}

export interface ClassRow {
  key: string;
  class: number | null;
  label: string;
  images: number;
  activation: Stat;
  /** Share of the class's analysed images whose path goes through the neuron; null without a folder analysis. */
  onPaths: number | null;
  clean: Ablation;
  ablated: Ablation | null;         // null for neurons scanned as part of a whole layer
}

/** The activations of every scanned image in equal bins from the smallest to the largest. */
export interface ActivationHistogram {
  edges: number[];                  // bins + 1 edges, ascending
  counts: number[];                 // images per bin (the last bin holds its upper edge)
  topBins: number[];                // the bins the top images fall in, ascending
}

export interface NeuronSummary {
  layer: number;
  neuron: number;
  images: number;
  grid: [number, number];
  top: TopImage[];
  histogram: ActivationHistogram;
  classes: ClassRow[];              // by class index, then folder name
  all: ClassRow;
}

const byPath = (a: ScanRecord, b: ScanRecord) => (a.image.path < b.image.path ? -1 : a.image.path > b.image.path ? 1 : 0);

/** The unit that holds (layer, neuron) in a record: its own single-neuron unit first, else its layer's. */
function unitOf(r: NeuronScanRecord, layer: number, neuron: number): { unit: UnitScan; k: number } | undefined {
  const single = r.units.find((u) => u.layer === layer && u.neuron === neuron);
  if (single) return { unit: single, k: 0 };
  const whole = r.units.find((u) => u.layer === layer && u.neuron === null);
  return whole && neuron < whole.activation.length ? { unit: whole, k: neuron } : undefined;
}

export function summarizeNeuron(records: ScanRecord[], layer: number, neuron: number, opts: { top?: number; patterns?: CategoryPatterns } = {}): NeuronSummary {
  // In image order, so the means do not depend on the order of the file's lines.
  const rows = records.flatMap((r) => { const u = unitOf(r, layer, neuron); return u ? [{ r, ...u }] : []; })
    .sort((x, y) => byPath(x.r, y.r));
  if (!rows.length) throw invalidOption(`no record holds layer ${layer} neuron ${neuron}: scan it first`);
  const grid = rows[0].r.grid;
  const groupLabel = (r: ScanRecord) => groupOf(r, 'auto')!.label;
  const top = rows
    .map(({ r, unit, k }) => ({ r, unit, k, a: unit.activation[k] }))
    .sort((x, y) => y.a - x.a || byPath(x.r, y.r))
    .slice(0, opts.top ?? 12)
    .map(({ r, unit, k, a }): TopImage => {
      const index = unit.peak[k];
      return {
        image: r.image.path, activation: a, peak: { index, row: Math.floor(index / grid[1]), col: index % grid[1], value: unit.peakValue[k] },
        ...(unit.map ? { map: unit.map } : {}), group: groupLabel(r), predicted: r.prediction.top[0],
      };
    });

  const classRow = (key: string, cls: number | null, label: string, members: typeof rows): ClassRow => {
    const hit = (top1: number, r: ScanRecord) => Number(top1 === r.target.class);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    const ablatable = members.every(({ unit }) => unit.ablated);
    const pattern = opts.patterns?.classes.find((c) => c.key === key);
    return {
      key, class: cls, label, images: members.length,
      activation: stat(members.map(({ unit, k }) => unit.activation[k])),
      onPaths: pattern ? (pattern.layers[layer]?.find((n) => n.neuron === neuron)?.frequency ?? 0) : null,
      clean: { accuracy: mean(members.map(({ r }) => hit(r.prediction.top[0].class, r))), probability: mean(members.map(({ r }) => r.target.probability)) },
      ablated: ablatable ? {
        accuracy: mean(members.map(({ r, unit }) => hit(unit.ablated!.top1, r))), probability: mean(members.map(({ unit }) => unit.ablated!.probability)),
      } : null,
    };
  };
  const groups = new Map<string, { cls: number | null; label: string; members: typeof rows }>();
  for (const row of rows) {
    const g = groupOf(row.r, 'auto')!;
    const entry = groups.get(g.key) ?? { cls: g.class, label: g.label, members: [] };
    entry.members.push(row);
    groups.set(g.key, entry);
  }
  const classes = [...groups.entries()]
    .sort(([, a], [, b]) => (a.cls ?? Infinity) - (b.cls ?? Infinity) || a.label.localeCompare(b.label))
    .map(([key, g]) => classRow(key, g.cls, g.label, g.members));
  const histogram = activationHistogram(rows.map(({ unit, k }) => unit.activation[k]), top.map((t) => t.activation));
  return { layer, neuron, images: rows.length, grid, top, histogram, classes, all: classRow('all', null, 'all images', rows) };
}

const HISTOGRAM_BINS = 30;

export function activationHistogram(values: number[], marked: number[], bins = HISTOGRAM_BINS): ActivationHistogram {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }   // one value (or one image): one bin around it
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const binOf = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[binOf(v)]++;
  return { edges, counts, topBins: [...new Set(marked.map(binOf))].sort((a, b) => a - b) };
}

/** The neurons of a whole-layer scan most selective for one class: largest gap between their best class mean and their overall mean. */
export function selectiveNeurons(records: ScanRecord[], layer: number, count: number): { neuron: number; label: string; classMean: number; mean: number }[] {
  const whole = records.map((r) => r.units.find((u) => u.layer === layer && u.neuron === null)).filter((u): u is UnitScan => !!u);
  if (!whole.length) throw invalidOption(`no record holds every neuron of layer ${layer}: scan the layer first`);
  const D = whole[0].activation.length;
  const groups = new Map<string, { label: string; sums: Float64Array; n: number }>();
  const total = new Float64Array(D);
  records.forEach((r) => {
    const u = r.units.find((x) => x.layer === layer && x.neuron === null);
    if (!u) return;
    const g = groupOf(r, 'auto')!;
    const e = groups.get(g.key) ?? { label: g.label, sums: new Float64Array(D), n: 0 };
    for (let j = 0; j < D; j++) { e.sums[j] += u.activation[j]; total[j] += u.activation[j]; }
    e.n++;
    groups.set(g.key, e);
  });
  return Array.from({ length: D }, (_, neuron) => {
    let best = { label: '', classMean: -Infinity };
    for (const g of groups.values()) if (g.sums[neuron] / g.n > best.classMean) best = { label: g.label, classMean: g.sums[neuron] / g.n };
    return { neuron, ...best, mean: total[neuron] / whole.length };
  }).sort((a, b) => (b.classMean - b.mean) - (a.classMean - a.mean) || a.neuron - b.neuron).slice(0, count);
}
