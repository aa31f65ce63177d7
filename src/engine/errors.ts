// The engine's errors: one base class with a stable `code` and the facts a front end needs to word
// its own message (the CLI names flags, the extension names settings). Front ends switch on `code`,
// never on the text; the text states what is wrong, in the engine's words, with no advice that
// belongs to one front end.

export type EngineErrorCode =
  | 'model-format'        // not a readable ONNX model, or one this engine cannot instrument
  | 'not-a-vit'           // a readable model that is not a ViT classifier
  | 'unsupported-op'      // an op on the gradient path without a backward rule
  | 'method-undefined'    // a transformer the method defines no path for: token rows that change between blocks
  | 'not-found'           // a file the user named does not exist (facts.role says which)
  | 'model-choice'        // a model folder with several ONNX files and none preferred (facts.candidates)
  | 'not-a-file'          // it exists but is a folder, FIFO, device or socket
  | 'too-large'           // it is larger than what is read into memory
  | 'io'                  // reading or writing failed (permissions, disk)
  | 'image'               // an image that cannot be decoded or is out of bounds
  | 'preprocessing'       // preprocessing settings that are wrong, or do not fit the model
  | 'labels'              // a labels file that cannot be used
  | 'target'              // a target class out of range
  | 'numeric'             // a computation gave non-finite values: never reported as a result
  | 'cache'               // the instrumented-model cache cannot be used
  | 'provider'            // the execution provider cannot be used
  | 'result-file'         // a file that is not a neuron-path result file
  | 'result-settings'     // a result file made with other settings
  | 'result-locked'       // a result file another process is writing
  | 'invalid-option'      // an engine option or argument out of its bounds
  | 'not-comparable'      // two results (or a result and the model) that cannot be compared
  | 'worker-failed'       // the process running an analysis died, hung, or answered in the wrong shape (a batch stops on it)
  | 'output'              // an output that would replace an input or results this command did not make
  | 'cancelled';          // stopped by its AbortSignal

// Every code once (a Record: the compiler checks it is complete), to check a code that crossed a process boundary.
const CODES: Record<EngineErrorCode, true> = {
  'model-format': true, 'not-a-vit': true, 'unsupported-op': true, 'not-found': true, 'model-choice': true, 'not-a-file': true, 'too-large': true,
  io: true, image: true, preprocessing: true, labels: true, target: true, numeric: true, cache: true, provider: true,
  'result-file': true, 'result-settings': true, 'result-locked': true, 'invalid-option': true, 'not-comparable': true,
  'worker-failed': true, 'method-undefined': true, output: true, cancelled: true,
};

export function isEngineErrorCode(v: unknown): v is EngineErrorCode {
  return typeof v === 'string' && Object.hasOwn(CODES, v);
}

/** What a file is to the user; front ends name the flag or setting that gave it. */
export type FileRole = 'model' | 'external-data' | 'image' | 'preprocessor' | 'labels' | 'result-file' | 'folder' | 'cache' | 'lock' | 'output' | 'record';

export interface ErrorFacts {
  file?: string;
  role?: FileRole;
  /** The field of a settings source that is wrong, e.g. `size.height` of preprocessor_config.json. */
  field?: string;
  /** Where the wrong value came from: a file, or `overrides` for the caller's own options. */
  source?: string;
  /** For result-locked: the lock's holder as the lock file records it. */
  holder?: { pid: number; host: string; command: string; since: string };
  [key: string]: unknown;
}

export class EngineError extends Error {
  constructor(readonly code: EngineErrorCode, message: string, readonly facts: ErrorFacts = {}) {
    super(message);
    this.name = 'EngineError';
  }
}

/**
 * The one cancellation: what the engine, the worker client and the front ends throw when a signal
 * stops the work. Named AbortError like the platform's own (`signal.throwIfAborted()`).
 */
export class CancelledError extends EngineError {
  constructor(message = 'the analysis was cancelled') {
    super('cancelled', message);
    this.name = 'AbortError';
  }
}

/** The code of any error: an engine error's own, `cancelled` for the platform's aborts, else undefined. */
export function codeOf(e: unknown): EngineErrorCode | undefined {
  if (e instanceof EngineError) return e.code;
  if (e instanceof Error && e.name === 'AbortError') return 'cancelled';
  return undefined;
}

/** Whether an error is a cancellation (ours or the platform's), wherever it was thrown. */
export function isCancelled(e: unknown): boolean {
  return codeOf(e) === 'cancelled';
}

/** An option or argument out of its bounds; `field` names it for a front end's hint. */
export function invalidOption(message: string, field?: string): EngineError {
  return new EngineError('invalid-option', message, field === undefined ? {} : { field });
}
