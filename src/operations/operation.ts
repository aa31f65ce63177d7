// What one worker operation is: everything about it in one declaration, so the worker's server, the
// host's client and the CLI read the same facts (its parameter check, its handler, the progress it
// sends, how long the client waits, and what its errors name). One module per operation; the table
// in index.ts lists them.
import type { ModelInfo, ModelOptions } from '../engine/api';
import type { Engine } from '../engine/index';
import type { LayerProgress } from '../engine/result';
import type { WorkerErrorCode } from '../protocol/workerErrors';
import type { BatchProgressInfo } from './progress';

/** What the operations need of the engine: the real Engine's methods (the protocol tests' fake has them too). */
export type EngineLike = Pick<Engine, 'info' | 'analyze' | 'scanNeurons' | 'pathJas' | 'scaledProbabilities' | 'readoutActivations' | 'intervene' | 'editedModel' | 'visualize' | 'dispose'>;

/** The open model and the options it was opened with. */
export interface OpenModel { engine: EngineLike; options: ModelOptions }

/** An optimisation's progress: `value` is what it ascends, at step `step` of `steps`. */
export interface StepProgress { step: number; steps: number; value: number }

/** The progress an operation sends: per layer step of one analysis, per image of a folder, per optimisation step, or none. */
export interface ProgressKinds { layer: LayerProgress; batch: BatchProgressInfo; step: StepProgress; none: never }
export type ProgressKind = keyof ProgressKinds;

/** What a handler gets from whoever runs it (the worker's server, or the CLI in its own process). */
export interface OperationContext<K extends ProgressKind> {
  readonly signal: AbortSignal;
  progress(p: ProgressKinds[K]): void;
  /** The open model; throws a `no-model` error when there is none. */
  model(): OpenModel;
  /** Opens a model (kept when these options are already open), replacing any other. */
  load(options: ModelOptions): Promise<ModelInfo>;
  /** A PNG rendering of an image (the worker's sharp); needs no model. */
  render(imagePath: string, maxSize: number): Promise<{ dataUri: string; width: number; height: number }>;
}

export interface Operation<P, R, K extends ProgressKind> {
  /** How long the client waits for an answer or a progress message, in ms (one layer step, one image...). */
  readonly timeoutMs: number;
  readonly progress: K;
  /** Queued behind the model's other work (one engine runs one thing at a time), or answered at once beside it. */
  readonly queued: boolean;
  /** It writes a result file: a result-file error then advises moving the file away. */
  readonly writesResultFile?: boolean;
  /** Checks the parameters (the message's envelope is checked by the protocol's guard). */
  isParams(v: Record<string, unknown>): boolean;
  /** Checks the worker's answer (the fields the host and the pages read; a huge array's length, not its elements). */
  isResult(v: unknown): v is R;
  /** What that check expects, in words, for the error of an answer that fails it: "an analysis (model, image, path, ...)". */
  readonly resultShape: string;
  /** What its errors name: "the image /x.png", "the folder /d". */
  subject(p: P): string;
  /** Its failure when no engine error code explains it: the worker code and the message's wording. */
  failure: { code: WorkerErrorCode; message(p: P, reason: string): string };
  run(ctx: OperationContext<K>, p: P): Promise<R>;
}

/** Declares an operation (the identity, for type inference of P, R and K). */
export function operation<P, R, K extends ProgressKind>(op: Operation<P, R, K>): Operation<P, R, K> {
  return op;
}

/** The usual failure of an analysis-like operation. */
export function analysisFailure<P>(subject: (p: P) => string): Operation<P, unknown, ProgressKind>['failure'] {
  return { code: 'analysis-failed', message: (p, reason) => `The analysis of ${subject(p)} failed: ${reason}. See the "Neuron Path" output for details.` };
}
