// The messages between the extension host (or the CLI's batch) and the engine worker, a child
// process. The requests are the operations of src/operations/: their parameters, results and
// progress come from that table.
import type { LayerProgress } from '../engine/result';
import { isWorkerMethod, type ParamsOf, type WorkerMethod } from '../operations/index';
import type { StepProgress } from '../operations/operation';
import type { BatchProgressInfo } from '../operations/progress';
import { isId, isObject } from './guards';
import { isWorkerErrorInfo, type WorkerErrorInfo } from './workerErrors';

export const PROTOCOL_VERSION = 1;

export type WorkerRequest = { [M in WorkerMethod]: { type: 'request'; id: number; method: M; params: ParamsOf<M> } }[WorkerMethod];

export type HostToWorker =
  | WorkerRequest
  /** Stop request `id` (between passes); it then answers with an error of code `cancelled`. */
  | { type: 'cancel'; id: number }
  /** Dispose the engine and exit. */
  | { type: 'shutdown' };

export type WorkerToHost =
  /** Sent once when the worker has started and listens. */
  | { type: 'ready'; pid: number; protocol: number }
  | { type: 'progress'; id: number; progress: LayerProgress }
  | { type: 'batchProgress'; id: number; progress: BatchProgressInfo }
  | { type: 'stepProgress'; id: number; progress: StepProgress }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WorkerErrorInfo }
  /** Something outside any request went wrong; the worker exits right after. */
  | { type: 'fatal'; error: WorkerErrorInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** Checks a message's envelope (its parameters are the operation's to check); the worker answers bad ones with `bad-request`. */
export function isHostToWorker(v: unknown): v is HostToWorker {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'request': return isId(v.id) && isWorkerMethod(v.method) && isObject(v.params);
    case 'cancel': return isId(v.id);
    case 'shutdown': return true;
    default: return false;
  }
}

/** Checks the shape of a message the host received from the worker. */
export function isWorkerToHost(v: unknown): v is WorkerToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready': return typeof v.pid === 'number' && typeof v.protocol === 'number';
    case 'progress': return isId(v.id) && isObject(v.progress) && typeof v.progress.phase === 'string';
    case 'batchProgress': return isId(v.id) && isObject(v.progress) && typeof v.progress.done === 'number' && typeof v.progress.total === 'number';
    case 'stepProgress': return isId(v.id) && isObject(v.progress) && typeof v.progress.step === 'number' && typeof v.progress.steps === 'number' && typeof v.progress.value === 'number';
    case 'result': return isId(v.id) && 'result' in v;
    case 'error': return isId(v.id) && isWorkerErrorInfo(v.error);
    case 'fatal': return isWorkerErrorInfo(v.error);
    case 'log': return typeof v.message === 'string' && (v.level === 'info' || v.level === 'warn' || v.level === 'error');
    default: return false;
  }
}
