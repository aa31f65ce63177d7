// An intervention on every image of a folder, through the batch runner (same folder scan, resume,
// shards and cancel as `batch`): one `neuron-path/intervention-1` line per image, and per class the
// accuracy and the mean target probability before and after.
import type { ModelOptions } from './api';
import { modelSettings, settingsKey, type BatchSettings, type FolderClass, type RecordKind } from './batch/records';
import { folderItems, runBatch, type BatchProgress, type BatchSummary, type FolderRunOptions, type ResultLine } from './batch/run';
import { itemFile } from './batch/scan';
import type { Engine } from './index';
import { INTERVENTION_SCHEMA, type Intervention, type InterventionRecord } from './intervene';

export interface InterventionSettings {
  key: string;
  model: BatchSettings['model'];
  intervention: Intervention;
}

export type InterventionLine = ResultLine<InterventionRecord, InterventionSettings>;

export const INTERVENTION_RECORDS: RecordKind = {
  schema: INTERVENTION_SCHEMA,
  problem: (v) => {
    const image = v.image as { path?: unknown } | undefined;
    if (!image || typeof image.path !== 'string') return 'no image path';
    if (!Array.isArray(v.before) || !Array.isArray(v.after) || !v.target || typeof v.target !== 'object') return 'no prediction before and after';
    return undefined;
  },
};

export function interventionSettings(modelSha256: string, model: ModelOptions, i: Intervention): InterventionSettings {
  const body = { model: modelSettings(modelSha256, model), intervention: { rows: i.rows, settings: i.settings.map(({ layer, neuron, factor }) => ({ layer, neuron, factor })) } };
  return { key: settingsKey(body), ...body };
}

export interface InterveneFolderOptions extends Pick<FolderRunOptions, 'folder' | 'out' | 'limit' | 'shard' | 'signal' | 'onScan'> {
  intervention: Intervention;
  modelOptions: ModelOptions;
  onProgress?: (p: BatchProgress<InterventionLine>) => void;
}

/** Every image of the folder; the target is the image's folder class, else the class predicted before. */
export async function interveneFolder(engine: Pick<Engine, 'info' | 'intervene'>, opts: InterveneFolderOptions): Promise<BatchSummary> {
  const items = folderItems(opts.folder, engine.info.labels, opts);
  return runBatch({
    items, out: opts.out, settings: interventionSettings(engine.info.sha256, opts.modelOptions, opts.intervention),
    analyzers: [(item, signal) => engine.intervene(itemFile(item), opts.intervention, item.trueClass ?? undefined, signal)],
    kind: INTERVENTION_RECORDS, signal: opts.signal, onProgress: opts.onProgress,
  });
}

export interface ClassEffect {
  label: string;
  images: number;
  /** Share of images whose top-1 is the target (the folder class, else the class predicted before). */
  accuracy: { before: number; after: number };
  /** Mean probability of the target. */
  probability: { before: number; after: number };
}

/** Per folder class (in label order) and over all images. */
export function summarizeInterventions(records: (InterventionRecord & FolderClass)[]): { classes: ClassEffect[]; all: ClassEffect } {
  const effect = (label: string, rs: (InterventionRecord & FolderClass)[]): ClassEffect => {
    const mean = (f: (r: InterventionRecord) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    return {
      label, images: rs.length,
      accuracy: { before: mean((r) => Number(r.before[0].class === r.target.class)), after: mean((r) => Number(r.top1After === r.target.class)) },
      probability: { before: mean((r) => r.target.before), after: mean((r) => r.target.after) },
    };
  };
  const groups = new Map<string, (InterventionRecord & FolderClass)[]>();
  for (const r of records) {
    const label = r.folderLabel ?? '(no class folder)';
    const group = groups.get(label);
    if (group) group.push(r); else groups.set(label, [r]);
  }
  const order = (rs: FolderClass[]) => rs[0].trueClass ?? Infinity;
  const classes = [...groups].sort(([a, ra], [b, rb]) => order(ra) - order(rb) || a.localeCompare(b)).map(([label, rs]) => effect(label, rs));
  return { classes, all: effect('all', records) };
}
