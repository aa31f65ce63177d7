// The files a command writes (--json, --merged): checked before any work (the folder takes a file;
// the output is none of the command's inputs; it does not hold neuron-path results this command
// would not make again), then written whole or not at all. --force replaces them anyway.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../engine/errors';
import { checkWritable, openRegular, readRegular, sameFile, writeAtomic } from '../engine/files';

export interface OutputRules {
  /** The files the command reads: an output that is one of them is refused. */
  inputs: string[];
  /** --force: replace whatever is there. */
  force?: boolean;
  /**
   * For an existing file (`schema`: its neuron-path schema, undefined for any other file): why this
   * command may not replace it (it holds results the command would not write again), or undefined
   * when it may. Default: neuron-path files are kept, other files replaced.
   */
  keeps?: (file: string, schema: string | undefined) => string | undefined;
}

/** A refused output: the CLI adds what to do, naming the flag. */
const refused = (file: string, flag: string, why: string) =>
  new EngineError('output', `${flag} ${file} ${why}`, { file, role: 'output', flag });

/** The schema of the neuron-path record or result file `file` starts with, or undefined for any other file. */
export function neuronPathSchema(file: string): string | undefined {
  const { fd, size } = openRegular(file, 'output');
  try {
    const buf = Buffer.alloc(Math.min(size, 4096));
    const head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    return /^\s*\{\s*"schema"\s*:\s*"(neuron-path\/[^"]*)"/.exec(head)?.[1];
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks the output `value` of `flag` before the command does any work; returns its absolute path
 * (undefined for none, or '-' for stdout).
 */
export function checkOutput(flag: string, value: string | undefined, rules: OutputRules): string | undefined {
  if (value === undefined || value === '-') return value;
  if (value === '') throw refused(value, flag, 'is empty: name a file');
  const file = path.resolve(value);
  try {
    checkWritable(file, 'output');
  } catch (e) {
    const err = e as EngineError;
    throw new EngineError(err.code, `${flag}: ${err.message}`, { ...err.facts, flag });
  }
  if (rules.force || !fs.existsSync(file)) return file;
  const input = rules.inputs.find((i) => sameFile(i, file));
  if (input) throw refused(file, flag, path.resolve(input) === file ? 'is one of the command\'s inputs' : `is the same file as the input ${input}`);
  const schema = neuronPathSchema(file);
  const kept = rules.keeps ? rules.keeps(file, schema) : schema && `holds neuron-path results (${schema})`;
  if (kept) throw refused(file, flag, kept);
  return file;
}

/** What `analyze --json` may replace: a record of the same image (the same analysis made again). */
export function recordOf(image: string): OutputRules['keeps'] {
  const wanted = path.resolve(image);
  return (file, schema) => {
    if (!schema) return undefined;
    let other: unknown;
    try { other = (JSON.parse(readRegular(file, 'output').toString('utf8')) as { image?: { path?: unknown } }).image?.path; } catch { /* not one record */ }
    if (other === wanted) return undefined;
    return typeof other === 'string' ? `holds the record of another image (${other})` : `holds neuron-path results (${schema})`;
  };
}

/** Writes an output checked by `checkOutput` (text or lines), whole or not at all. */
export function writeOutput(file: string | undefined, parts: Iterable<string>): void {
  if (file === undefined || file === '-') return;
  writeAtomic(file, 'output', parts);
}
