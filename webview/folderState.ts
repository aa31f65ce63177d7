// The folder panel's state (a batch result file, live while its batch runs) and how messages and
// user actions change it. Pure (no DOM), so it is unit tested. The numbers come from the engine's
// report (src/engine/batch/report.ts); this module only picks and formats them.
import type { MethodStats } from '../src/engine/batch/compare';
import { imagesThrough, topNeurons } from '../src/engine/batch/patterns';
import { formatNumber as fmt, formatPercent as pct, formatSigned as fmtSigned, formatSpread as spread } from '../src/format';
import type { BatchReport } from '../src/engine/batch/report';
import { batchProgressText, type BatchProgressInfo, type FolderInit, type FolderPersistedState, type HostToFolderWebview } from '../src/protocol';

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
  /** The heatmap cell whose images are listed. */
  selectedCell?: Cell;
  topK: number;
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
    selectedClass: persisted?.selectedClass, topK: DEFAULT_TOP_K,
  };
}

export function persistedFolder(s: FolderState): FolderPersistedState {
  return { resultFile: s.resultFile, folder: s.folder, selectedClass: s.selectedClass };
}

/** Keeps the selection where the new report still has it, else picks the first class. */
function withReport(s: FolderState, report: BatchReport | undefined): FolderState {
  if (!report) return { ...s, report, selectedCell: undefined };
  const classes = report.patterns.classes;
  const selectedClass = classes.some((c) => c.key === s.selectedClass) ? s.selectedClass : classes[0]?.key;
  const cls = classes.find((c) => c.key === selectedClass);
  const cell = s.selectedCell;
  const selectedCell = cell && cls?.layers[cell.layer]?.some((n) => n.neuron === cell.neuron) ? cell : undefined;
  return { ...s, report, selectedClass, selectedCell };
}

export function reduceFolder(s: FolderState, a: FolderAction): FolderState {
  switch (a.type) {
    case 'init': {
      const i: FolderInit = a.init;
      const status: FolderStatus = i.running ? 'running' : i.error ? 'error' : i.report ? 'done' : 'empty';
      return withReport({
        ...s, resultFile: i.resultFile, folder: i.folder, title: i.title, skipped: i.skipped ?? [], status,
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
    case 'selectClass':
      if (a.key === s.selectedClass || !s.report?.patterns.classes.some((c) => c.key === a.key)) return s;
      return { ...s, selectedClass: a.key, selectedCell: undefined };
    case 'selectCell':
      if (a.cell?.layer === s.selectedCell?.layer && a.cell?.neuron === s.selectedCell?.neuron) return s;
      return { ...s, selectedCell: a.cell };
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
    jas: spread(m.jas), remove: spread(m.removeDeviation, true), enhance: spread(m.enhanceDeviation, true),
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

export function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}
