// An operation of src/operations/ run in the CLI's own process, with its own engine: the same
// handler the worker runs, without the worker. Its `isParams`/`isResult` guards are not run here:
// they guard a process boundary (a message parsed from JSON, an answer from another process), and
// here nothing crosses one. The parameters are built from flags and record files the CLI has already
// checked (records with the same analysisProblem check), with errors that name the flag or the file;
// the result is the handler's own typed object, made by the same build.
import type { ModelOptions } from '../engine/api';
import { EngineError } from '../engine/errors';
import type { EngineLike, OperationContext, ProgressKind, ProgressKinds } from '../operations/operation';

export function inProcess<K extends ProgressKind>(engine: EngineLike, options: ModelOptions,
                                                  opts: { signal?: AbortSignal; onProgress?: (p: ProgressKinds[K]) => void } = {}): OperationContext<K> {
  const elsewhere = (what: string) => () => Promise.reject(new EngineError('invalid-option', `${what} is not available in the command line`));
  return {
    signal: opts.signal ?? new AbortController().signal,
    progress: (p) => opts.onProgress?.(p),
    model: () => ({ engine, options }),
    load: elsewhere('loading another model'),
    render: elsewhere('an image preview'),
  };
}
