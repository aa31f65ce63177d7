// The errors of the host <-> worker boundary: the codes a worker answers with, and the errors the
// worker client rejects with on the host (plain classes, no vscode). A cancellation is the engine's
// CancelledError on both sides.
import { isObject } from './guards';

export type WorkerErrorCode =
  | 'cancelled'
  | 'model-not-found'
  | 'model-load-failed'
  | 'no-model'
  | 'image-not-found'
  | 'image-unreadable'
  | 'cuda-unavailable'
  | 'analysis-failed'
  | 'bad-request'
  | 'internal';

const ERROR_CODES: readonly string[] = [
  'cancelled', 'model-not-found', 'model-load-failed', 'no-model', 'image-not-found', 'image-unreadable',
  'cuda-unavailable', 'analysis-failed', 'bad-request', 'internal',
] satisfies WorkerErrorCode[];

/** An error as the worker reports it: `message` is for the user and says what to do. */
export interface WorkerErrorInfo {
  code: WorkerErrorCode;
  message: string;
  /** The original error text and stack, for the output channel. */
  detail?: string;
  /** The engine's own error (its code and facts, and its text), for a caller that words it itself (the CLI's batch). */
  original?: { message: string; code?: string; facts?: Record<string, unknown> };
}

export function isWorkerErrorInfo(v: unknown): v is WorkerErrorInfo {
  return isObject(v) && typeof v.code === 'string' && ERROR_CODES.includes(v.code) && typeof v.message === 'string'
    && (v.detail === undefined || typeof v.detail === 'string')
    && (v.original === undefined || (isObject(v.original) && typeof v.original.message === 'string'
      && (v.original.code === undefined || typeof v.original.code === 'string') && (v.original.facts === undefined || isObject(v.original.facts))));
}

/** The worker answered a request with an error. */
export class WorkerRequestError extends Error {
  override name = 'WorkerRequestError';
  constructor(readonly code: WorkerErrorCode, message: string, readonly detail?: string, readonly original?: WorkerErrorInfo['original']) { super(message); }
}

/** The worker did not answer (or report progress) in time; it was stopped. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  constructor(readonly method: string, readonly timeoutMs: number) {
    super(`The Neuron Path worker did not answer '${method}' within ${Math.round(timeoutMs / 1000)} s and was stopped. `
      + 'It will be restarted on the next run. A large model on the CPU can be slow: try fewer steps (neuronPath.steps) '
      + 'or a smaller model.');
  }
}

/** The worker process ended while the request was pending (`words`: what happened, without advice, for a front end that gives its own). */
export class WorkerExitedError extends Error {
  override name = 'WorkerExitedError';
  constructor(message: string, readonly exitCode: number | null, readonly signal: string | null, readonly crashed: boolean, readonly words?: string) {
    super(message);
  }
}
