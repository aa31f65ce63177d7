// A panel's job in the worker (the folder panel's batch and pruning check, the neuron view's scan and
// visualization, Intervene's folder run, the thumbnails' visualizations): one at a time, stopped by
// the page's Stop (it ends as cancelled) or by closing the panel (it is forgotten), its progress
// passed on only while it is the panel's current job, and how it ended said once: its result, a
// stop, or an error worded (and reported) by the service. A folder run's file keeps what is done, so
// running it again resumes it.
import { isCancelled } from '../engine/errors';
import type { BatchProgressInfo, BatchRunResult } from '../operations/progress';

/** How a job ended: its result, or stopped, or failed with the service's words for the error. */
export interface JobEnd<R> { result?: R; cancelled: boolean; message?: string }

export interface JobHooks<P, R> {
  subject: string;                                  // what failed, for the error's report: "Analyzing the folder x"
  progress?(p: P): void;
  ended(end: JobEnd<R>): void | Promise<void>;
}

export class PanelJob<P> {
  private current: { controller: AbortController; progress?: P } | undefined;

  constructor(private readonly reportError: (err: unknown, subject: string) => string) {}

  get isRunning(): boolean { return this.current !== undefined; }
  /** The running job (with its last progress), for a page that opens while it runs. */
  get running(): { progress?: P } | undefined { return this.current; }

  /** Runs `work` and says how it ended; resolves its result, or undefined (not run because one runs, stopped, failed, forgotten). */
  async run<R>(work: (onProgress: (p: P) => void, signal: AbortSignal) => Promise<R>, hooks: JobHooks<P, R>): Promise<R | undefined> {
    if (this.current) return undefined;
    const job = { controller: new AbortController(), progress: undefined as P | undefined };
    this.current = job;
    let end: JobEnd<R>;
    try {
      end = { result: await work((p) => { if (this.current === job) { job.progress = p; hooks.progress?.(p); } }, job.controller.signal), cancelled: false };
    } catch (err) {
      const cancelled = isCancelled(err);
      end = { cancelled, message: cancelled ? undefined : this.reportError(err, hooks.subject) };
    }
    if (this.current !== job) return undefined;
    this.current = undefined;
    await hooks.ended(end);
    return end.result;
  }

  /** Stops the running job; it ends as cancelled. */
  cancel(): void { this.current?.controller.abort(); }

  /** Stops the running job and forgets it (its panel is closing): nothing more is said of it. */
  dispose(): void {
    this.current?.controller.abort();
    this.current = undefined;
  }
}

type FolderRunMessage =
  | { type: 'batchProgress'; progress: BatchProgressInfo }
  | { type: 'batchDone'; result?: BatchRunResult; message?: string; cancelled: boolean };

/**
 * A panel's folder run (the folder panel's batch, the neuron view's scan): its progress goes to the
 * page as `batchProgress`; when it ends the panel re-reads its file, then the page gets `batchDone`.
 */
export class FolderRun extends PanelJob<BatchProgressInfo> {
  /** What went wrong last (a failed run; the panel sets it when its file cannot be read), for the page's `init`; cleared when a run starts. */
  error: string | undefined;
  /** Images the last run that ended left undone (failed or not reached), for a page that was not ready to hear its end; cleared when a run starts. */
  left: number | undefined;

  constructor(reportError: (err: unknown, subject: string) => string,
              private readonly panel: { post(m: FolderRunMessage): void; refresh(): Promise<void> }) {
    super(reportError);
  }

  /** `onProgress`: what the panel does besides (schedule a re-read of its file). */
  start(work: (onProgress: (p: BatchProgressInfo) => void, signal: AbortSignal) => Promise<BatchRunResult>, subject: string,
        onProgress?: (p: BatchProgressInfo) => void): Promise<BatchRunResult | undefined> {
    if (!this.isRunning) { this.error = undefined; this.left = undefined; }
    return this.run(work, {
      subject,
      progress: (p) => { this.panel.post({ type: 'batchProgress', progress: p }); onProgress?.(p); },
      ended: async (end) => {
        this.error = end.message;
        if (end.result) this.left = end.result.total - end.result.resumed - end.result.analysed;
        await this.panel.refresh();
        this.panel.post(end.result ? { type: 'batchDone', result: end.result, cancelled: end.result.cancelled } : { type: 'batchDone', cancelled: end.cancelled, message: end.message });
      },
    });
  }
}
