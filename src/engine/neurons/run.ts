// The neuron scan of a folder into a resumable result file, through the batch runner (same folder
// scan, same file conventions, same resume and cancel). The runner hands out one image per
// analyzer; here `batchSize` analyzers share one queue that runs the images they hold together, so
// one model run covers many images.
import type { ModelOptions } from '../api';
import { itemFile, type BatchItem, type FolderScan } from '../batch/scan';
import { folderItems, runBatch, type Analyzer, type BatchRunOptions, type BatchProgress, type BatchSummary } from '../batch/run';
import type { Engine } from '../index';
import { NEURON_RECORDS, neuronScanSettings } from './records';
import type { NeuronScanLine, NeuronScanRecord, NeuronUnit } from '../batch/schema';

/** Images per model run: past a few dozen small images a larger batch gains nothing and holds more memory. */
export const DEFAULT_SCAN_BATCH = 16;
/** The most images per run: each holds its activations and one analyser slot; 1e9 would allocate 1e9 of them. */
export const MAX_SCAN_BATCH = 256;

export interface NeuronScanOptions {
  folder: string;
  out: string;
  units: NeuronUnit[];
  modelOptions: ModelOptions;       // what the engine was opened with (scope, preprocessing, labels)
  batchSize?: number;
  limit?: number;
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress<NeuronScanLine>) => void;
  onScan?: (scan: FolderScan, items: BatchItem[]) => void;
  lock?: BatchRunOptions['lock'];
}

/** What the folder scan needs of an Engine (the worker passes its engine through this). */
export type NeuronScanner = Pick<Engine, 'info' | 'scanNeurons'>;

export async function scanFolderNeurons(engine: NeuronScanner, opts: NeuronScanOptions): Promise<BatchSummary> {
  const items = folderItems(opts.folder, engine.info.labels, opts);
  const size = Math.min(MAX_SCAN_BATCH, Math.max(1, opts.batchSize ?? DEFAULT_SCAN_BATCH));
  const analyze = batchedAnalyzer(size, (batch, signal) => engine.scanNeurons(batch.map((it) => ({ path: itemFile(it), target: it.trueClass })), opts.units, signal));
  return runBatch({
    items, out: opts.out, settings: neuronScanSettings(engine.info.sha256, opts.modelOptions, opts.units), modelPath: engine.info.path,
    analyzers: Array.from({ length: size }, () => analyze), kind: NEURON_RECORDS,
    signal: opts.signal, onProgress: opts.onProgress, lock: opts.lock,
  });
}

interface Waiting { item: BatchItem; signal: AbortSignal; resolve(r: NeuronScanRecord): void; reject(e: unknown): void }

/**
 * One analyzer for `size` callers: the items asked for in the same turn of the event loop (the
 * runner's callers ask together, since one batch answers them together) run as one batch, and
 * batches run one after another (an Engine is not re-entrant).
 */
export function batchedAnalyzer(size: number, run: (items: BatchItem[], signal: AbortSignal) => Promise<(NeuronScanRecord | Error)[]>): Analyzer<NeuronScanRecord> {
  const waiting: Waiting[] = [];
  let scheduled = false;
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    scheduled = false;
    const batch = waiting.splice(0, size);
    if (waiting.length) schedule();
    if (!batch.length) return;
    chain = chain.then(async () => {
      try {
        const results = await run(batch.map((w) => w.item), batch[0].signal);
        batch.forEach((w, i) => { const r = results[i]; if (r instanceof Error) w.reject(r); else w.resolve(r); });
      } catch (e) {
        batch.forEach((w) => w.reject(e));
      }
    });
  };
  const schedule = () => { if (!scheduled) { scheduled = true; setImmediate(flush); } };
  return (item, signal) => new Promise<NeuronScanRecord>((resolve, reject) => {
    waiting.push({ item, signal, resolve, reject });
    if (waiting.length >= size) flush(); else schedule();
  });
}
