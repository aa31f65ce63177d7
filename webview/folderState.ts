// The folder panel's state (a batch result file, live while its batch runs) and how messages and
// user actions change it. Pure (no DOM), so it is unit tested. The numbers come from the engine's
// report (src/engine/batch/report.ts); this module only picks and formats them.
import type { MethodStats } from '../src/engine/batch/compare';
import { cosine, imagesThrough, topNeurons } from '../src/engine/batch/patterns';
import type { PruneVariant, PruningCurve } from '../src/engine/batch/prune';
import { formatNumber as fmt, formatPercent as pct, formatSigned as fmtSigned, formatSpread as spread, formatPointsSpread } from '../src/format';
import type { BatchReport } from '../src/engine/batch/report';
import { PRUNING_DEFAULTS, PRUNING_MIN_IMAGES } from '../src/engine/options';
import { batchProgressText } from '../src/format';
import type { BatchProgressInfo } from '../src/operations/progress';
import type { FolderInit, FolderPersistedState, HostToFolderWebview, PruneRequest } from '../src/protocol/folderPanel';
import type { NeuronRef, ThumbnailStatus } from '../src/protocol/thumbnails';

export type FolderStatus = 'empty' | 'running' | 'done' | 'cancelled' | 'error';

export interface Cell { layer: number; neuron: number }

export interface FolderState {
  resultFile: string;
  folder?: string;
  title: string;
  report?: BatchReport;
  skipped: { line: number; reason: string }[];
  status: FolderStatus;
  progress?: BatchProgressInfo;
  message?: string;
  /** The class (CategoryPatterns key) whose heatmap is shown. */
  selectedClass?: string;
  /** Whether the user picked it (else it follows the largest class as a live run's reports come). */
  classChosen: boolean;
  /** The bundled model's file: its results are named "bundled model". */
  bundledModelPath?: string;
  /** The heatmap cell whose images are listed. */
  selectedCell?: Cell;
  topK: number;
  pruning: PruningState;
  /** The heatmap cells' feature-visualization thumbnails (sent by the host). */
  thumbnails: ThumbnailStatus;
}

/** The pruning check run from the panel (with the open model, on the file's images). */
export interface PruningState {
  status: 'idle' | 'running' | 'done' | 'cancelled' | 'error';
  done?: number; total?: number;
  curve?: PruningCurve;
  message?: string;
}

export type FolderAction =
  | HostToFolderWebview
  | { type: 'selectClass'; key: string }
  | { type: 'selectCell'; cell: Cell | undefined }
  | { type: 'setTopK'; k: number };

export const DEFAULT_TOP_K = 8;

export function initialFolderState(persisted?: Partial<FolderPersistedState>): FolderState {
  return {
    resultFile: persisted?.resultFile ?? '', folder: persisted?.folder, title: '', skipped: [], status: 'empty',
    selectedClass: persisted?.selectedClass, classChosen: persisted?.selectedClass !== undefined, topK: DEFAULT_TOP_K, pruning: { status: 'idle' }, thumbnails: { uris: {} },
  };
}

export function persistedFolder(s: FolderState): FolderPersistedState {
  return { resultFile: s.resultFile, folder: s.folder, selectedClass: s.classChosen ? s.selectedClass : undefined };
}

/**
 * The class shown: the user's pick while the report has it; else the class with the most images
 * (the first of those in class order), which is the one whose frequencies say the most. While a
 * run goes the early reports hold a few images of the first classes only, so an unpicked
 * selection follows the largest class as the images come.
 */
function withReport(s: FolderState, report: BatchReport | undefined): FolderState {
  if (!report) return { ...s, report, selectedCell: undefined };
  const classes = report.patterns.classes;
  const kept = s.classChosen && classes.some((c) => c.key === s.selectedClass);
  const largest = classes.reduce<typeof classes[number] | undefined>((best, c) => (!best || c.count > best.count ? c : best), undefined);
  const selectedClass = kept ? s.selectedClass : largest?.key;
  const cls = classes.find((c) => c.key === selectedClass);
  const cell = s.selectedCell;
  const selectedCell = cell && selectedClass === s.selectedClass && cls?.layers[cell.layer]?.some((n) => n.neuron === cell.neuron) ? cell : undefined;
  return { ...s, report, selectedClass, classChosen: kept, selectedCell };
}

export function reduceFolder(s: FolderState, a: FolderAction): FolderState {
  switch (a.type) {
    case 'init': {
      const i: FolderInit = a.init;
      const status: FolderStatus = i.running ? 'running' : i.error ? 'error' : i.report ? 'done' : 'empty';
      return withReport({
        ...s, resultFile: i.resultFile, folder: i.folder, title: i.title, bundledModelPath: i.bundledModelPath, skipped: i.skipped ?? [], status,
        progress: i.running, message: i.error,
      }, i.report);
    }
    case 'report':
      return withReport({ ...s, skipped: a.skipped }, a.report);
    case 'batchProgress':
      return { ...s, status: 'running', progress: a.progress, message: undefined };
    case 'batchDone':
      return {
        ...s, status: a.message && !a.cancelled ? 'error' : a.cancelled ? 'cancelled' : 'done', message: a.message,
        progress: a.result && s.progress ? { ...s.progress, done: a.result.resumed + a.result.analysed, total: a.result.total, etaSeconds: undefined } : s.progress,
      };
    case 'pruneProgress':
      return { ...s, pruning: { ...s.pruning, status: 'running', done: a.done, total: a.total, message: undefined } };
    case 'pruneDone':
      return {
        ...s, pruning: {
          status: a.curve ? 'done' : a.cancelled ? 'cancelled' : 'error', curve: a.curve ?? s.pruning.curve, message: a.message,
        },
      };
    case 'selectClass':
      if (!s.report?.patterns.classes.some((c) => c.key === a.key)) return s;
      if (a.key === s.selectedClass) return s.classChosen ? s : { ...s, classChosen: true };
      return { ...s, selectedClass: a.key, classChosen: true, selectedCell: undefined };
    case 'selectCell':
      if (a.cell?.layer === s.selectedCell?.layer && a.cell?.neuron === s.selectedCell?.neuron) return s;
      return { ...s, selectedCell: a.cell };
    case 'thumbnails':
      return { ...s, thumbnails: a.status };
    case 'setTopK': {
      const k = Math.max(1, Math.min(64, Math.round(a.k)));
      return k === s.topK || !Number.isFinite(k) ? s : { ...s, topK: k };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// What the page shows, derived from the state
// ---------------------------------------------------------------------------------------------

// The number formats are shared with the image panel and the CLI (src/format.ts).
export { fmt, fmtSigned, pct };

export interface ComparisonRow {
  method: MethodStats['method'];
  name: string;
  images: number;
  jas: string; remove: string; enhance: string; kept: string; beats: string;
  stats: MethodStats;
}

/** The method comparison table: mean ± spread of JAS and of the remove / enhance deviation, accuracy after removal. */
export function comparisonRows(report: BatchReport | undefined): ComparisonRow[] {
  return (report?.comparison ?? []).map((m) => ({
    method: m.method, name: m.name, images: m.images,
    jas: spread(m.jas), remove: formatPointsSpread(m.removeDeviation), enhance: formatPointsSpread(m.enhanceDeviation),
    kept: pct(m.removeKept),
    beats: m.pathBeats ? `${pct(m.pathBeats.jas)} / ${pct(m.pathBeats.remove)} / ${pct(m.pathBeats.enhance)}` : '',
    stats: m,
  }));
}

export interface HeatCell { layer: number; rank: number; neuron: number; count: number; frequency: number }

export interface Heatmap { key: string; label: string; images: number; layers: number; k: number; rows: HeatCell[][] }

/** Layers x the k most frequent neurons of the selected class (the engine's topNeurons). */
export function heatmapOf(s: FolderState): Heatmap | undefined {
  const cls = s.report?.patterns.classes.find((c) => c.key === s.selectedClass);
  if (!cls) return undefined;
  const rows = topNeurons(cls, s.topK).map((layer, l) => layer.map((n, rank) => ({ layer: l, rank, neuron: n.neuron, count: n.count, frequency: n.frequency })));
  return { key: cls.key, label: cls.label, images: cls.count, layers: rows.length, k: s.topK, rows };
}

/** The neurons of the heatmap shown, row by row (the host sends their thumbnails). */
export function heatmapNeurons(s: FolderState): NeuronRef[] {
  return heatmapOf(s)?.rows.flatMap((row) => row.map((c) => ({ layer: c.layer, neuron: c.neuron }))) ?? [];
}

/** The images of the selected class whose path uses the selected cell's neuron (the engine's imagesThrough). */
export function cellImages(s: FolderState): string[] {
  if (!s.report || !s.selectedClass || !s.selectedCell) return [];
  return imagesThrough(s.report.patterns, s.selectedClass, s.selectedCell.layer, s.selectedCell.neuron);
}

export const MAX_SIMILARITY_CLASSES = 40;

/** The classes the similarity matrix shows: all, or the `max` with most images (a 1000-class folder would be a million cells). */
export function similarityView(report: BatchReport | undefined, max = MAX_SIMILARITY_CLASSES): { indices: number[]; hidden: number } {
  const classes = report?.patterns.classes ?? [];
  const order = classes.map((c, i) => ({ i, count: c.count })).sort((a, b) => b.count - a.count || a.i - b.i).slice(0, max).map((x) => x.i).sort((a, b) => a - b);
  return { indices: order, hidden: classes.length - order.length };
}

/** The similarity matrix of the shown classes (computed here: the report keeps only each class's most similar classes). */
export function similarityMatrix(report: BatchReport, indices: number[]): number[][] {
  const classes = report.patterns.classes;
  return indices.map((i) => indices.map((j) => cosine(classes[i], classes[j])));
}

/** The classes most similar to the selected one, most similar first (the report's top N of it). */
export function similarTo(s: FolderState): { label: string; similarity: number }[] {
  const p = s.report?.patterns;
  const i = p ? p.classes.findIndex((c) => c.key === s.selectedClass) : -1;
  return i < 0 ? [] : p!.similar[i].map((x) => ({ label: p!.classes[x.index].label, similarity: x.similarity }));
}

/** Whether an image is one of the report's (the host opens nothing else). */
export function isReportImage(report: BatchReport | undefined, image: string): boolean {
  return !!report && report.patterns.images.includes(image);
}

export function statusText(s: FolderState): string {
  const p = s.progress;
  const progress = p ? `${p.done}/${p.total} images` : '';
  switch (s.status) {
    case 'running': return p && p.total > 0 ? `Analyzing: ${batchProgressText(p)}` : 'Loading the model and scanning the folder...';
    case 'cancelled': return `Stopped at ${progress}. Run "Analyze Folder" again (or Resume) to continue where it stopped.`;
    case 'error': return s.message ?? 'The batch failed.';
    case 'done': return s.report ? `${s.report.images} images analysed${s.report.errors.length ? `, ${s.report.errors.length} failed` : ''}.` : '';
    case 'empty': return s.message ?? 'No analysed images yet.';
  }
}

export const PRUNE_NAMES: Record<PruneVariant, string> = {
  unprotected: 'none kept', protected: 'path neurons kept', activation: 'activation neurons kept', control: 'random neurons kept',
};

/** The pruning table: per zeroed fraction, the accuracy of each variant (the first row is the clean model). */
export function pruningRows(curve: PruningCurve): { zeroed: string; cells: string[] }[] {
  const variants = Object.keys(PRUNE_NAMES) as PruneVariant[];
  return [
    { zeroed: '0% (clean)', cells: variants.map(() => pct(curve.clean.accuracy)) },
    ...curve.points.map((p) => ({ zeroed: pct(p.fraction), cells: variants.map((v) => pct(p.accuracy[v])) })),
  ];
}

export function pruningText(s: FolderState): string {
  const p = s.pruning;
  switch (p.status) {
    case 'running': return p.total ? `Pruning check: ${p.done ?? 0}/${p.total} images...` : 'Pruning check: loading the model...';
    case 'error': return p.message ?? 'The pruning check failed.';
    case 'cancelled': return 'The pruning check was stopped.';
    case 'done': {
      const c = p.curve!;
      const small = c.images < PRUNING_MIN_IMAGES
        ? ` Only ${c.images} image${c.images === 1 ? '' : 's'} measured: one image moves the accuracy by ${pct(1 / Math.max(1, c.images))}, so the curves cannot tell the variants apart. `
          + `Analyse more images per class (at least ${PRUNING_MIN_IMAGES} measured), or raise the held-out share.`
        : '';
      return `Kept neurons chosen on ${c.holdout > 0 ? `${pct(1 - c.holdout)} of each class\u2019s images, accuracy measured on the other ${c.images}` : `the same ${c.images} images they are measured on`}; `
        + `${c.keep} per block in the first ${c.layers} blocks; seed ${c.seed}.${c.skipped.length ? ` ${c.skipped.length} images skipped.` : ''}${small}`;
    }
    case 'idle': return 'Zero a random share of the neurons of the first blocks and see how much accuracy the class\u2019s path neurons keep, against as many activation or random neurons.';
  }
}

export const DEFAULT_FRACTIONS = PRUNING_DEFAULTS.fractions.map((f) => Math.round(f * 100)).join(',');

/** The form's values as a request, or the first problem with them. */
export function pruneRequestOf(form: { keep: string; holdout: string; layers: string; fractions: string }): PruneRequest | string {
  const keep = Number(form.keep), holdout = Number(form.holdout) / 100;
  const layers = form.layers.trim() === '' ? undefined : Number(form.layers);
  const fractions = form.fractions.split(',').map((x) => Number(x.trim().replace(/%$/, '')) / 100);
  if (!Number.isInteger(keep) || keep < 0) return 'Neurons kept must be a whole number, 0 or more.';
  if (!(holdout >= 0 && holdout < 1)) return 'Held out must be a percentage from 0 to 99.';
  if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1)) return 'Blocks must be a whole number, 1 or more (empty: all).';
  if (!fractions.length || fractions.length > 20 || fractions.some((f) => !(f >= 0 && f <= 1))) return 'Zeroed must be percentages from 0 to 100, separated by commas.';
  return { keep, holdout, layers, fractions };
}

export function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
