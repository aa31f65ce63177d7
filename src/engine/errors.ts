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
  | 'invalid-option'      // an engine option out of its bounds
  | 'output'              // an output that would replace an input or results this command did not make
  | 'cancelled';

/** What a file is to the user; front ends name the flag or setting that gave it. */
export type FileRole = 'model' | 'external-data' | 'image' | 'preprocessor' | 'labels' | 'result-file' | 'folder' | 'cache' | 'lock' | 'output';

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

/** The code of any error: an engine error's own, `cancelled` for aborts, else undefined. */
export function codeOf(e: unknown): EngineErrorCode | undefined {
  if (e instanceof EngineError) return e.code;
  if (e instanceof Error && e.name === 'AbortError') return 'cancelled';
  return undefined;
}
