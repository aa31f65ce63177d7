// `batch --jobs N`: N engine worker processes (dist/worker.js, the one the extension forks), each
// driven by the shared WorkerClient (request timeouts, pending requests rejected when a process
// exits). The engine's own errors come back with their code and facts, so a line written (or a run
// stopped) here is exactly what an in-process engine's error would give.
import * as path from 'node:path';
import type { AnalyzeOptions, ModelInfo, ModelOptions } from '../engine/api';
import { itemFile, type Analyzer } from '../engine/batch/index';
import { EngineError, isCancelled, isEngineErrorCode } from '../engine/errors';
import { sha256File } from '../engine/hash';
import { locateModel } from '../engine/modelLocation';
import { RequestTimeoutError, WorkerExitedError, WorkerRequestError } from '../protocol/workerErrors';
import { analyzeParams } from '../operations/analyze';
import { forkTransport, WorkerClient } from '../worker/client';
import { likelyOutOfMemory } from '../worker/crash';

/** A worker process died or hung: every later image would fail too, so the run stops (runBatch: fatal). */
const workerFailed = (message: string) => new EngineError('worker-failed', message);

/** The error the engine threw in the worker (same code, facts and text), or a `worker-failed` error (`jobs`, `threads`: what a memory advice names). */
export function engineError(err: unknown, run: { jobs: number; threads?: number }): Error {
  const e = err as Error;
  if (isCancelled(e)) return e;
  if (e instanceof WorkerRequestError) {
    const o = e.original;
    if (!o) return e;
    return o.code && isEngineErrorCode(o.code) ? new EngineError(o.code, o.message, o.facts ?? {}) : new Error(o.message);
  }
  const again = 'what is done stays in the file: run the same command again to resume';
  if (e instanceof WorkerExitedError) {
    // Each worker holds the model and onnxruntime's buffers, which grow with its threads.
    const fewer = [run.jobs > 1 ? `fewer worker processes (--jobs ${run.jobs - 1}: each holds the model)` : '',
      run.threads !== undefined && run.threads > 1 ? `fewer threads each (--threads ${Math.floor(run.threads / 2)})` : ''].filter(Boolean);
    return workerFailed(`a worker process stopped during an analysis: ${e.words ?? `it exited (${e.signal ?? `code ${e.exitCode}`})`}; ${again}` +
      (likelyOutOfMemory(e.exitCode, e.signal) ? `; to use less memory: ${fewer.join(', ')}, or more memory` : ''));
  }
  if (e instanceof RequestTimeoutError) return workerFailed(`a worker process did not answer for ${Math.round(e.timeoutMs / 1000)} s and was stopped; ${again}`);
  return workerFailed(`a worker process failed: ${e?.message ?? String(err)}`);
}

export class WorkerPool {
  private constructor(private readonly clients: WorkerClient[], readonly info: ModelInfo, private readonly threads?: number) {}

  /** Starts `jobs` workers, each loading the model; fails (and stops them all) if any cannot. */
  static async start(jobs: number, model: ModelOptions, log: (line: string) => void, workerScript = path.join(__dirname, 'worker.js')): Promise<WorkerPool> {
    // Hashed here once, not by each worker (each would read a large model once more); its errors are the engine's own.
    const sha256 = await sha256File(locateModel(model.modelPath).file, 'model');
    const clients = Array.from({ length: jobs }, (_, i) => new WorkerClient({
      spawn: () => forkTransport(workerScript),
      log: (line) => log(`[worker ${i + 1}] ${line}`),
    }));
    try {
      const infos = await Promise.all(clients.map((c) => c.ensureModel({ ...model, sha256 })));
      return new WorkerPool(clients, infos[0], model.threads);
    } catch (err) {
      await Promise.all(clients.map((c) => c.dispose()));
      throw engineError(err, { jobs, threads: model.threads });
    }
  }

  analyzers(options: AnalyzeOptions): Analyzer[] {
    return this.clients.map((c) => async (item, signal, imageHash) => {
      try {
        return await c.request('analyze', analyzeParams(itemFile(item), options, imageHash), { signal });
      } catch (err) {
        throw engineError(err, { jobs: this.clients.length, threads: this.threads });
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.dispose()));
  }
}
