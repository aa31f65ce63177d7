// Every operation the worker answers, by method name. Adding one: its module, and a line here.
import { analyze } from './analyze';
import { batch } from './batch';
import { comparePaths } from './comparePaths';
import { exportEdited } from './exportEdited';
import { intervene } from './intervene';
import { interveneFolder } from './interveneFolder';
import { loadModel } from './loadModel';
import { neuronScan } from './neuronScan';
import type { Operation, ProgressKind, ProgressKinds } from './operation';
import { preview } from './preview';
import { prune } from './prune';
import { visualize } from './visualize';

export const OPERATIONS = { loadModel, analyze, preview, batch, neuronScan, comparePaths, prune, intervene, interveneFolder, exportEdited, visualize } as const;

export type WorkerMethod = keyof typeof OPERATIONS;
type Of<M extends WorkerMethod> = (typeof OPERATIONS)[M] extends Operation<infer P, infer R, infer K> ? { params: P; result: R; progress: K } : never;
export type ParamsOf<M extends WorkerMethod> = Of<M>['params'];
export type ResultOf<M extends WorkerMethod> = Of<M>['result'];
export type ProgressOf<M extends WorkerMethod> = ProgressKinds[Of<M>['progress'] & ProgressKind];

export function isWorkerMethod(v: unknown): v is WorkerMethod {
  return typeof v === 'string' && Object.hasOwn(OPERATIONS, v);
}

/** The operation of a method, as the untyped view the server and client work with. */
export function operationOf(method: WorkerMethod): Operation<unknown, unknown, ProgressKind> {
  return OPERATIONS[method];
}
