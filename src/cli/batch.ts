// `neuron-path batch DIR`: every image of a folder into a .jsonl file, one line per image as it
// finishes, resumable. With --jobs N, N worker processes (this CLI again, one Engine each) share
// the queue and the parent alone writes the file.
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchSettings, runBatch, scanFolder, skippedSummary, type Analyzer, type BatchItem, type BatchProgress } from '../engine/batch/index';
import { EngineError, type EngineErrorCode, type ErrorFacts } from '../engine/errors';
import { Engine, type AnalysisResult, type AnalyzeOptions } from '../engine/index';
import { analyzeOptions, modelOptions, UsageError, type Flags } from './args';
import { safeText } from './terminal';

export const BATCH_USAGE = `
usage: neuron-path batch DIR [--out FILE.jsonl] [--limit N] [--jobs N] [analyze options]
  Analyses every image of DIR (png, jpg, jpeg, webp, gif, tif, tiff, avif). Sub-folders are classes
  (ImageFolder layout, matched to the model's labels by name or index); images at the top are grouped
  by predicted class. One JSON line per image is appended to FILE as it finishes (default
  ./<DIR name>.neuron-path.jsonl); run the same command again to resume. Ctrl-C stops cleanly.
  --limit N            only the first N images (classes taken in turn)
  --jobs N             N worker processes, one model each (default 1)

usage: neuron-path report FILE.jsonl [--prune 0.1,0.3,0.5,0.7,0.9 --model M] [--keep K] [--holdout F] [--layers N] [--json OUT]
  The method comparison, the top path neurons per class, the class similarity matrix and, with
  --prune, the pruning check (needs the model, given with --model and checked against the records'
  sha256, and the images the records name): per class the kept neurons are chosen on part of its
  images and the accuracy is measured on the others. --labels FILE names its classes.
  --keep K             path neurons kept per block: the K most frequent on the chosen images,
                       counting every neuron of top-K paths (batch --top-k) (default 5)
  --holdout F          share of each class's images held out for measuring (default 0.2; 0: the
                       same images choose and measure); seeded by --seed
  --layers N           prune only the first N blocks (default all)
  --top N              neurons shown per class and layer (default 3); --seed S pruning seed (default 0)
  --by B               auto (default: folder class, else predicted) | folder | predicted
  --json OUT           also write the whole report as JSON
`;

const CHILD_ENV = 'NEURON_PATH_BATCH_CHILD';

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(p: BatchProgress<unknown>): string {
  const rate = p.rate ? `${p.rate >= 10 ? p.rate.toFixed(0) : p.rate.toFixed(1)} img/s` : '- img/s';
  const eta = p.etaSeconds !== undefined ? `, ETA ${duration(p.etaSeconds)}` : '';
  const failed = p.failed ? `, ${p.failed} failed` : '';
  return `${p.done}/${p.total} images, ${rate}${eta}${failed}`;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be an integer >= 1, got '${v}'`);
  return n;
}

export async function batch(f: Flags, positionals: string[], argv: string[]): Promise<number> {
  if (process.env[CHILD_ENV] && process.send) { await child(f); return 0; }
  const dir = positionals[0];
  if (!dir) throw new UsageError('batch needs a folder DIR');
  if (positionals.length > 1) throw new UsageError(`batch takes one folder, got ${positionals.length}`);
  if (f.json !== undefined) throw new UsageError('batch writes its records with --out FILE.jsonl, not --json');
  const limit = positiveInt('limit', f.limit), jobs = positiveInt('jobs', f.jobs) ?? 1;
  const out = path.resolve(f.out ?? `${path.basename(path.resolve(dir))}.neuron-path.jsonl`);
  const mOpts = modelOptions(f), aOpts = analyzeOptions(f);
  const tty = process.stderr.isTTY && !f.quiet;
  const log = (msg: string) => { if (!f.quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${safeText(msg)}\n`); };
  const controller = new AbortController();
  const onSigint = () => { log('stopping after the images in progress... (the file stays resumable)'); controller.abort(); };
  process.once('SIGINT', onSigint);

  log(`opening ${mOpts.modelPath}${jobs > 1 ? ` in ${jobs} worker processes` : ''}`);
  const pool = jobs > 1 ? await WorkerPool.start(jobs, argv, f.threads === undefined ? Math.max(1, Math.floor(os.cpus().length / jobs)) : undefined) : undefined;
  const engine = pool ? undefined : await Engine.open(mOpts);
  try {
    const info = pool ? pool.info : engine!.info;
    const scan = scanFolder(dir, info.labels);
    const items = limit !== undefined ? scan.items.slice(0, limit) : scan.items;
    const matched = scan.classes.filter((c) => c.trueClass !== null).length;
    log(`${scan.items.length} images in ${scan.root} (${scan.layout === 'flat' ? 'flat folder: grouped by predicted class'
      : `${scan.classes.length} class folder${scan.classes.length === 1 ? '' : 's'}, ${matched} matched to the model's labels`})${limit !== undefined ? `, first ${items.length}` : ''}`);
    if (scan.unmatched.length) log(`folders matching no label (their images are grouped by folder name): ${scan.unmatched.join(', ')}`);
    if (scan.undecodable.length) log(`${scan.undecodable.length} files skipped: their names are not valid UTF-8, which Node cannot open (rename them): ${scan.undecodable.slice(0, 3).join(', ')}`);
    const analyzers: Analyzer[] = pool ? pool.analyzers(aOpts) : [(item, signal) => engine!.analyze(item.image, aOpts, { signal })];
    let lastShown = 0;
    const summary = await runBatch({
      items, out, settings: batchSettings(info.sha256, mOpts, aOpts), analyzers, signal: controller.signal,
      onProgress: (p) => {
        if (p.line && p.line.schema !== 'neuron-path/1') log(`  skipped ${p.line.image}: ${p.line.error}`);
        if (f.quiet) return;
        if (p.analysed === 0 && p.resumed) log(`${p.resumed} images already in ${out}; resuming`);
        const now = performance.now();
        if (tty) process.stderr.write(`\r\x1b[K${safeText(progressLine(p))}`);
        else if (now - lastShown >= 1000 || p.done === p.total || p.analysed === 0) { log(progressLine(p)); lastShown = now; }
      },
    });
    if (tty) process.stderr.write('\n');
    const skipped = skippedSummary(summary.skipped);
    if (skipped) log(`${out}: ${skipped}`);
    if (summary.cancelled) {
      log(`stopped: ${summary.resumed + summary.analysed}/${summary.total} images in ${out}; run the same command again to resume.`);
      return 130;
    }
    log(`done: ${summary.total} images (${summary.analysed} analysed now, ${summary.resumed} before, ${summary.failed} failed) in ${duration(summary.seconds)} -> ${out}`);
    log(`next: neuron-path report ${path.relative(process.cwd(), out) || out}`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await engine?.dispose();
    await pool?.close();
  }
}

// --------------------------------------------------------------------------- worker processes
type ToChild = { type: 'analyze'; id: number; image: string; options: AnalyzeOptions } | { type: 'cancel'; id: number };
type FromChild =
  | { type: 'ready'; info: Engine['info'] }
  | { type: 'fatal'; error: SentError }
  | { type: 'result'; id: number; record: AnalysisResult }
  | { type: 'error'; id: number; error: SentError };

/** An error across the IPC channel: an engine error keeps its code and facts (the runner and the messages use them). */
interface SentError { name: string; message: string; code?: EngineErrorCode; facts?: ErrorFacts }
const sendable = (e: unknown): SentError => {
  const err = e as Error;
  return err instanceof EngineError ? { name: err.name, message: err.message, code: err.code, facts: err.facts } : { name: err.name, message: err.message };
};
const received = (s: SentError): Error => Object.assign(s.code ? new EngineError(s.code, s.message, s.facts) : new Error(s.message), { name: s.name });

class BatchWorkerError extends Error {
  constructor(message: string) { super(message); this.name = 'BatchWorkerError'; }
}

class Worker {
  private pending?: { id: number; resolve: (r: AnalysisResult) => void; reject: (e: Error) => void };
  private nextId = 1;
  exited = false;

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: FromChild) => {
      if ((m.type === 'result' || m.type === 'error') && this.pending?.id === m.id) {
        const p = this.pending;
        this.pending = undefined;
        if (m.type === 'result') p.resolve(m.record);
        else p.reject(received(m.error));
      }
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      this.pending?.reject(new BatchWorkerError(`a worker process exited (${signal ?? `code ${code}`}) during an analysis`));
      this.pending = undefined;
    });
  }

  analyze(item: BatchItem, options: AnalyzeOptions, signal: AbortSignal): Promise<AnalysisResult> {
    if (this.exited) return Promise.reject(new BatchWorkerError('a worker process has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.proc.send({ type: 'cancel', id } satisfies ToChild);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        id,
        resolve: (r) => { signal.removeEventListener('abort', onAbort); resolve(r); },
        reject: (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
      };
      this.proc.send({ type: 'analyze', id, image: item.image, options } satisfies ToChild);
    });
  }
}

class WorkerPool {
  private constructor(private readonly workers: Worker[], readonly info: Engine['info']) {}

  static async start(jobs: number, argv: string[], threads: number | undefined): Promise<WorkerPool> {
    const script = process.argv[1];
    const args = ['batch', ...argv.filter((a, i) => !(argv[i - 1] === '--jobs' || a === '--jobs' || a.startsWith('--jobs=')))];
    if (threads !== undefined) args.push('--threads', String(threads));
    const procs = Array.from({ length: jobs }, () => fork(script, args, {
      env: { ...process.env, [CHILD_ENV]: '1' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }));
    const workers = procs.map((p) => new Worker(p));
    try {
      const infos = await Promise.all(procs.map((p) => new Promise<Engine['info']>((resolve, reject) => {
        p.once('message', (m: FromChild) => (m.type === 'ready' ? resolve(m.info) : reject(m.type === 'fatal' ? received(m.error) : new Error('unexpected message'))));
        p.once('exit', (code) => reject(new BatchWorkerError(`a worker process exited with code ${code} while opening the model`)));
      })));
      return new WorkerPool(workers, infos[0]);
    } catch (e) {
      for (const p of procs) if (p.exitCode === null) p.kill();
      throw e;
    }
  }

  analyzers(options: AnalyzeOptions): Analyzer[] {
    return this.workers.map((w) => (item, signal) => w.analyze(item, options, signal));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      if (w.exited) { resolve(); return; }
      w.proc.once('exit', () => resolve());
      w.proc.disconnect();
    })));
  }
}

/** A worker process: one Engine, one analysis at a time, until the parent disconnects. */
async function child(f: Flags): Promise<void> {
  process.on('SIGINT', () => { /* the parent decides: it cancels over IPC */ });
  const send = (m: FromChild) => { if (process.connected) process.send!(m); };
  let engine: Engine;
  try {
    engine = await Engine.open(modelOptions(f));
  } catch (e) {
    send({ type: 'fatal', error: sendable(e) });
    process.disconnect();
    return;
  }
  send({ type: 'ready', info: engine.info });
  let current: { id: number; controller: AbortController } | undefined;
  let queue = Promise.resolve();
  process.on('message', (m: ToChild) => {
    if (m.type === 'cancel') { if (current?.id === m.id) current.controller.abort(); return; }
    queue = queue.then(async () => {
      current = { id: m.id, controller: new AbortController() };
      try {
        send({ type: 'result', id: m.id, record: await engine.analyze(m.image, m.options, { signal: current.controller.signal }) });
      } catch (e) {
        send({ type: 'error', id: m.id, error: sendable(e) });
      }
      current = undefined;
    });
  });
  await new Promise<void>((resolve) => process.once('disconnect', resolve));
  await queue;
  await engine.dispose();
}
