// What the CLI writes for people: text that came from files (labels, paths, messages) may carry
// control characters, and an ANSI or OSC escape in a label would drive the user's terminal (move
// the cursor, rewrite lines, set the title, make links). Human output escapes them, visibly.
import { EngineError } from '../engine/errors';
import type { ModelInfo } from '../engine/api';
import { describeDefaultNames } from '../engine/classNames';
import { defaultedFields, describeDefaults } from '../engine/preprocessing';

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that reorder text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same and newline: inside one line (a file name, a label, a log line) a newline would forge a line.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_IN_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string) => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Text of several lines with every control character but the line breaks written as an escape (`\x1b`, `\u202e`). */
export function safeText(s: string): string {
  return s.replace(CONTROL, escape);
}

/** One line (a name from a file or folder, a log line, an error): every control character escaped, newlines too. */
export function safeLine(s: string): string {
  return s.replace(CONTROL_IN_LINE, escape);
}

/** What to do about an engine error, in the CLI's words (flags, not settings). */
function hint(e: EngineError): string | undefined {
  const f = e.facts;
  switch (e.code) {
    case 'not-found': return f.role === 'model' ? 'check --model' : f.role === 'image' ? undefined : f.role === 'labels' ? 'check --labels' : undefined;
    case 'model-choice': return 'give --model the path of the one to analyse';
    case 'preprocessing':
      return f.source === 'overrides' ? `check --${String(f.field ?? 'size').split(/[.[]/)[0]}`
        : f.file ? `fix ${f.file}, or override it with --size/--mean/--std/--resize` : 'fix the model folder\'s config, or override it with --size/--mean/--std/--resize';
    case 'labels': return f.role === 'folder' ? 'fix it, or move it out of the folder to group its images by predicted class' : 'fix the file, or give another with --labels';
    case 'result-settings': return f.files ? undefined : 'write to another --out file, or delete this one to start over'; // files: a report's inputs
    case 'result-file': return f.role === 'record' ? 'write one with analyze --json' : 'name another --out file';
    case 'result-locked': return 'wait for that run to finish, or stop it (the lock of a killed run on another machine is taken over once its heartbeat is older than --lock-stale)';
    case 'target': return 'give --target a class index in range, or --target predicted';
    case 'cache': return 'set NEURON_PATH_CACHE to a writable folder';
    case 'provider': return 'use --provider cpu';
    case 'output': return `name another ${typeof f.flag === 'string' ? f.flag : 'output'} file, or add --force to replace it`;
    case 'invalid-option': return f.field === undefined ? undefined : `check --${({ steps: 'steps', randomCount: 'random', randomSeed: 'seed', topK: 'top-k' } as Record<string, string>)[String(f.field)] ?? f.field}`;
    default: return undefined;
  }
}

/** V8's words when an allocation fails: memory ran out (or a limit such as ulimit -v was reached). */
const OUT_OF_MEMORY = /allocation failed|Invalid (typed )?array length|out of memory|Cannot allocate memory|ENOMEM/i;

/** One line for stderr: the engine's message and, for engine errors, what to do. */
export function errorLine(err: Error): string {
  if (!(err instanceof EngineError) && OUT_OF_MEMORY.test(err.message)) {
    return safeLine(`out of memory (${err.message.replace(/[.\s]+$/, '')}); free memory, raise the limit (ulimit -v), or use fewer --jobs, a smaller --batch or a smaller model`);
  }
  const h = err instanceof EngineError ? hint(err) : undefined;
  const text = err.message.replace(/[.\s]+$/, '');
  return safeLine(h ? `${text}; ${h}` : text);
}

const PREP_FLAGS = { resize: '--size', crop: '--size', interpolation: '--resize', mean: '--mean', std: '--std', rescale: undefined } as const;

/**
 * A warning line on stderr for each thing the model folder left to guesses: preprocessing values,
 * class names shown as "class N" (even with --quiet: results depend on them).
 */
export function warnDefaults(info: Pick<ModelInfo, 'preprocessing' | 'classNames' | 'numClasses'>): void {
  const prep = describeDefaults(info.preprocessing);
  if (prep) {
    const flags = [...new Set(defaultedFields(info.preprocessing).map((f) => PREP_FLAGS[f]).filter((f) => f))];
    process.stderr.write(`neuron-path: warning: ${safeLine(prep)}${flags.length ? `, or give ${flags.join('/')}` : ''}.\n`);
  }
  const names = describeDefaultNames(info.classNames, info.numClasses);
  if (names) process.stderr.write(`neuron-path: warning: ${safeLine(names)}, or give --labels FILE.\n`);
}
