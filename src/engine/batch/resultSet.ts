// Several result files read as one (the shard files of a cluster run, a re-run of one shard): every
// image counts once, with its newest line, and files made with other settings are refused rather
// than mixed. Each file is streamed by `readResultFile` (any size; bad lines skipped and counted).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fg from 'fast-glob';
import { EngineError, type EngineErrorCode, type ErrorFacts } from '../errors';
import { lineImageKey, settingsDifferences } from './records';
import { shardSetMembers, type ImageRecord, type ReadResult, type ResultLine, type RunSettings, type SkippedLine } from './schema';
import { readResultFile, type ReadOptions } from './resultFile';

/** A line that cannot be read, and where. */
export interface SkippedInFile extends SkippedLine { file: string }

export interface ResultSet<L> {
  files: string[];
  lines: L[];                         // one per image: its newest line (a record or an error line)
  skipped: SkippedInFile[];
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
 * The result files a user's arguments name: files as they are, a folder's `*.jsonl` files, a shard
 * set (`x.shard-*-of-4.jsonl`: that run's shard files only) and glob patterns (quoted, so the shell
 * leaves them; `**` for sub-folders). Sorted oldest first (by modification time) so that, between
 * lines without a time, the later file wins. `whileWritten`: a run may not have written yet, so a
 * file or shard that does not exist yet is no error (a missing file is kept, a set may be empty).
 */
export async function expandResults(args: string[], opts: { whileWritten?: boolean } = {}): Promise<string[]> {
  const files = new Map<string, { file: string; mtime: number }>(); // by device and inode
  const none = (code: EngineErrorCode, message: string, facts: ErrorFacts): string[] => {
    if (opts.whileWritten) return [];
    throw new ResultSetError(code, message, facts);
  };
  for (const arg of args) {
    const abs = path.resolve(arg);
    const stat = await fs.promises.stat(abs).catch(() => undefined);
    // A shard set names one run (`x.shard-*-of-4.jsonl`); with a pattern before it, it is a glob like any other.
    const set = stat || isGlob(arg.replace('.shard-*-of-', '.shard-0-of-')) ? undefined : shardSetMembers(abs);
    let found: string[];
    if (stat && !stat.isDirectory()) found = [abs];
    else if (stat) {
      found = await walk(RESULT_GLOB, abs);
      if (!found.length) found = none('not-found', `the folder ${abs} holds no result files (*.jsonl)`, { file: abs, role: 'folder' });
    } else if (set) {
      const names = await fs.promises.readdir(set.dir).catch(() => [] as string[]);
      found = names.filter(set.isMember).map((n) => path.join(set.dir, n));
      if (!found.length) found = none('not-found', `no result file matches ${arg}`, { file: arg, role: 'result-file' });
    } else if (isGlob(arg)) {
      found = await walk(arg.split(path.sep).join('/'));
      if (!found.length) found = none('not-found', `no result file matches ${arg}`, { file: arg, role: 'result-file' });
    } else {
      found = opts.whileWritten ? [abs] : none('not-found', `result file ${arg} does not exist`, { file: abs, role: 'result-file' });
    }
    for (const f of found) {
      // A missing file (a run not started) is kept by its path; a file reached by two paths counts once.
      const st = await fs.promises.stat(f).catch(() => undefined);
      const id = st ? `${st.dev}:${st.ino}` : path.resolve(f);
      if (!files.has(id)) files.set(id, { file: path.resolve(f), mtime: st?.mtimeMs ?? 0 });
    }
  }
  return [...files.values()].sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file)).map((f) => f.file);
}

/**
 * The files a glob matches. Linked folders are not entered (a link to a parent would loop until
 * the memory runs out); a link to a file matches like the file.
 */
async function walk(pattern: string, cwd?: string): Promise<string[]> {
  const found = await fg(pattern, { cwd, absolute: true, onlyFiles: false, followSymbolicLinks: false });
  const isFile = await Promise.all(found.map((f) => fs.promises.stat(f).then((st) => st.isFile(), () => false)));
  return found.filter((_, i) => isFile[i]);
}

type Line = ResultLine<ImageRecord, RunSettings>;

/**
 * The newest of two lines of the same image: by analysis time; a line without one (written before
 * lines carried it) is older than any line with one; between two without, the later one read.
 */
const newer = <L extends Line>(a: L, b: L) => {
  if (a.analysedAt === undefined || b.analysedAt === undefined) return a.analysedAt !== undefined ? a : b;
  return a.analysedAt > b.analysedAt ? a : b;
};

/** Merges files already read (in order: later wins between lines without a time). */
export function mergeResults<L extends Line>(reads: { file: string; read: Pick<ReadResult<L>, 'lines' | 'skipped'> }[]): ResultSet<L> {
  const byImage = new Map<string, L>();
  const count = new Map<string, number>();
  let first: { file: string; line: L } | undefined;
  const skipped: SkippedInFile[] = [];
  for (const { file, read } of reads) {
    skipped.push(...read.skipped.map((s) => ({ file, ...s })));
    for (const line of read.lines) {
      first ??= { file, line };
      if (line.batch?.key !== first.line.batch?.key) {
        const names: [string, string] = [`in ${path.basename(first.file)}`, `in ${path.basename(file)}`];
        const modelOf = (l: L) => ('model' in l ? (l.model as { path?: string }).path : undefined);
        const diff = line.batch && first.line.batch ? settingsDifferences(first.line.batch, line.batch, names, [modelOf(first.line), modelOf(line)]) : ['lines without batch settings'];
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
export async function readResultSet<L extends Line>(args: string[], opts: ReadOptions<L>): Promise<ResultSet<L>> {
  const reads = [];
  for (const file of await expandResults(args)) reads.push({ file, read: await readResultFile(file, opts) });
  return mergeResults(reads);
}
