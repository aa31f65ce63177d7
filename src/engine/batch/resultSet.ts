// Several result files read as one (the shard files of a cluster run, a re-run of one shard): every
// image counts once, with its newest line, and files made with other settings are refused rather
// than mixed. Each file is streamed by `readResultFile` (any size; bad lines skipped and counted).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fg from 'fast-glob';
import { EngineError, type EngineErrorCode, type ErrorFacts } from '../errors';
import { isError, lineImageKey, type BatchLine, type ReadResult } from './records';
import { readResultFile, type ReadOptions } from './resultFile';
import { settingsDifferences } from './run';

/** A line that cannot be read, and where. */
export interface SkippedLine { file: string; line: number; reason: string }

export interface ResultSet {
  files: string[];
  lines: BatchLine[];                 // one per image: its newest line (a record or an error line)
  skipped: SkippedLine[];
  /** Images with more than one line across the files, and how many lines they had in all. */
  duplicates: { images: number; lines: number };
}

/** Result files that cannot be read as one: missing, none in a folder, or made with other settings. */
export class ResultSetError extends EngineError {
  constructor(code: EngineErrorCode, message: string, facts: ErrorFacts) { super(code, message, facts); this.name = 'ResultSetError'; }
}

const RESULT_GLOB = '*.jsonl';
const isGlob = (s: string) => fg.isDynamicPattern(s.split(path.sep).join('/'));

/**
 * The result files named by `args`: files as they are, a folder's `*.jsonl` files, and glob
 * patterns (quoted, so the shell leaves them; `**` for sub-folders). Sorted oldest first (by
 * modification time) so that, between lines without a time, the later file wins.
 */
export function resultFiles(args: string[]): string[] {
  const files = new Map<string, string>(); // by device and inode: a file reached by two paths counts once
  const add = (file: string) => {
    const st = fs.statSync(file);
    const id = `${st.dev}:${st.ino}`;
    if (!files.has(id)) files.set(id, path.resolve(file));
  };
  for (const arg of args) {
    const abs = path.resolve(arg);
    if (fs.existsSync(abs)) {
      if (!fs.statSync(abs).isDirectory()) { add(abs); continue; }
      const found = walk(RESULT_GLOB, abs);
      if (!found.length) throw new ResultSetError('not-found', `the folder ${abs} holds no result files (*.jsonl)`, { file: abs, role: 'folder' });
      found.forEach(add);
    } else if (isGlob(arg)) {
      const found = walk(arg.split(path.sep).join('/'));
      if (!found.length) throw new ResultSetError('not-found', `no result file matches ${arg}`, { file: arg, role: 'result-file' });
      found.forEach(add);
    } else {
      throw new ResultSetError('not-found', `result file ${arg} does not exist`, { file: abs, role: 'result-file' });
    }
  }
  const mtime = (f: string) => fs.statSync(f).mtimeMs;
  return [...files.values()].sort((a, b) => mtime(a) - mtime(b) || a.localeCompare(b));
}

/**
 * The files a glob matches. Linked folders are not entered (a link to a parent would loop until
 * the memory runs out); a link to a file matches like the file.
 */
function walk(pattern: string, cwd?: string): string[] {
  return fg.sync(pattern, { cwd, absolute: true, onlyFiles: false, followSymbolicLinks: false })
    .filter((f) => { try { return fs.statSync(f).isFile(); } catch { return false; } });
}

/** The newest of two lines of the same image: by analysis time, else the later one read. */
const newer = (a: BatchLine, b: BatchLine) => (a.analysedAt && b.analysedAt && a.analysedAt > b.analysedAt ? a : b);

/** Merges files already read (in order: later wins between lines without a time). */
export function mergeResults(reads: { file: string; read: Pick<ReadResult, 'lines' | 'skipped'> }[]): ResultSet {
  const byImage = new Map<string, BatchLine>();
  const count = new Map<string, number>();
  let first: { file: string; line: BatchLine } | undefined;
  const skipped: SkippedLine[] = [];
  for (const { file, read } of reads) {
    skipped.push(...read.skipped.map((s) => ({ file, ...s })));
    for (const line of read.lines) {
      first ??= { file, line };
      if (line.batch?.key !== first.line.batch?.key) {
        const names: [string, string] = [`in ${path.basename(first.file)}`, `in ${path.basename(file)}`];
        const diff = line.batch && first.line.batch ? settingsDifferences(first.line.batch, line.batch, names) : ['lines without batch settings'];
        throw new ResultSetError('result-settings', `${file} holds results made with other settings than ${first.file} (${diff.join('; ')}): ` +
          'they are different analyses; report them one at a time', { file, role: 'result-file', files: [first.file, file], differences: diff });
      }
      const image = lineImageKey(line);
      const had = byImage.get(image);
      byImage.set(image, had ? newer(had, line) : line);
      count.set(image, (count.get(image) ?? 0) + 1);
    }
  }
  const repeated = [...count.values()].filter((n) => n > 1);
  return {
    files: reads.map((r) => r.file), lines: [...byImage.values()], skipped,
    duplicates: { images: repeated.length, lines: repeated.reduce((a, n) => a + n, 0) },
  };
}

/** Reads the result files named by `args` (files, folders, globs) as one (`slim` for summaries). */
export async function readResultSet(args: string[], opts: ReadOptions = {}): Promise<ResultSet> {
  const reads = [];
  for (const file of resultFiles(args)) reads.push({ file, read: await readResultFile(file, opts) });
  return mergeResults(reads);
}
