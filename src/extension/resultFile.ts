// A batch result file (.jsonl) read as it grows: each refresh reads only the bytes appended since
// the last one, keeps the lines without their heavy per-neuron arrays (layerScores, tokenMaps: the
// summary does not use them), and summarises everything with the engine's report. A folder of
// result files (the shard files of a cluster run), or one shard file's whole run, is read the same
// way, file by file, as one result. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isError, parseLines, readLines, recordsOf, type BatchLine, type BatchRecord, type ReadResult } from '../engine/batch/records';
import { summarize, summarizeSet, type BatchReport } from '../engine/batch/report';
import { mergeResults } from '../engine/batch/resultSet';

export const RESULT_SUFFIX = '.neuron-path.jsonl';

/** The result file written next to a folder: `photos/` -> `photos.neuron-path.jsonl`. */
export function resultFileNextTo(folder: string): string {
  return `${path.resolve(folder).replace(/[\\/]+$/, '')}${RESULT_SUFFIX}`;
}

/** The folder a result file next to it was made from, if that folder exists. */
export function folderOfResultFile(file: string): string | undefined {
  if (!file.endsWith(RESULT_SUFFIX)) return undefined;
  const folder = file.slice(0, -RESULT_SUFFIX.length);
  try { return fs.statSync(folder).isDirectory() ? folder : undefined; } catch { return undefined; }
}

export interface Summary { report?: BatchReport; skipped: ReadResult['skipped']; error?: string }

/** A result that grows: one file, or several read as one. */
export interface ResultReader {
  /** Reads what was appended. Returns whether new lines came. */
  read(): boolean;
  summary(): Summary;
}

/** `x.shard-2-of-4.jsonl` -> its run's files `x.shard-*-of-4.jsonl` (a pattern the panel is keyed by). */
const SHARD_FILE = /^(.*)\.shard-\d+-of-(\d+)\.jsonl$/;
export function shardSetOf(file: string): string | undefined {
  const m = SHARD_FILE.exec(file);
  return m ? `${m[1]}.shard-*-of-${m[2]}.jsonl` : undefined;
}

/** The files a result source stands for: a folder's `*.jsonl`, a shard set's files, or the file itself. */
export function filesOf(source: string): string[] {
  const m = /^(.*)\.shard-\*-of-(\d+)\.jsonl$/.exec(source);
  let dir = source, keep = (name: string) => name.endsWith('.jsonl');
  if (m) {
    dir = path.dirname(source);
    const prefix = `${path.basename(m[1])}.shard-`, suffix = `-of-${m[2]}.jsonl`;
    keep = (name) => name.startsWith(prefix) && name.endsWith(suffix) && /^\d+$/.test(name.slice(prefix.length, -suffix.length));
  } else if (!isDirectory(source)) {
    return [source];
  }
  try { return fs.readdirSync(dir).filter(keep).sort().map((n) => path.join(dir, n)); } catch { return []; }
}

function isDirectory(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

/** A reader for a result source: a file, a folder of result files, or a shard set (see filesOf). */
export function resultReader(source: string): ResultReader {
  return source.endsWith('.jsonl') && !source.includes('.shard-*-of-') && !isDirectory(source) ? new ResultFileReader(source) : new ResultSetReader(source);
}

export class ResultFileReader implements ResultReader {
  private offset = 0;
  private lineNo = 0;
  private lines: BatchLine[] = [];
  private skipped: ReadResult['skipped'] = [];
  private version = 0;
  private summarised = -1;
  private last: Summary = { skipped: [] };

  constructor(readonly file: string) {}

  /** Reads what was appended (from the start if the file shrank). Returns whether new lines came. */
  read(): boolean {
    let size: number;
    try { size = fs.statSync(this.file).size; } catch { return false; }
    if (size < this.offset) { this.offset = 0; this.lineNo = 0; this.lines = []; this.skipped = []; this.version++; }
    if (size === this.offset) return false;
    const fd = fs.openSync(this.file, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      fs.closeSync(fd);
    }
    // Only whole lines: a line being written stays for the next read.
    const end = buf.lastIndexOf(0x0a);
    if (end < 0) return false;
    const text = buf.subarray(0, end + 1).toString('utf8');
    this.offset += end + 1;
    const read = parseLines(text);
    for (const l of read.lines) this.lines.push(slim(l));
    for (const s of read.skipped) this.skipped.push({ line: s.line + this.lineNo, reason: s.reason });
    this.lineNo += text.split('\n').length - 1;
    this.version++;
    return true;
  }

  /** The report of everything read so far (recomputed only when new lines came). */
  summary(): Summary {
    if (this.summarised === this.version) return this.last;
    this.summarised = this.version;
    const read: ReadResult = { lines: this.lines, skipped: this.skipped, endsWithNewline: true };
    try {
      this.last = { report: summarize(this.file, read).report, skipped: [...this.skipped] };
    } catch (err) {
      // No record yet (or only error lines), or records of two models.
      this.last = { skipped: [...this.skipped], error: err instanceof Error ? err.message : String(err) };
    }
    return this.last;
  }

  get lineCount(): number { return this.lines.length; }
  /** Everything read so far (slim lines). */
  get contents(): Pick<ReadResult, 'lines' | 'skipped'> { return { lines: this.lines, skipped: this.skipped }; }
}

/** Several result files as one, each read as it grows; files that appear later are picked up. */
export class ResultSetReader implements ResultReader {
  private readonly readers = new Map<string, ResultFileReader>();
  private changed = true;
  private last: Summary = { skipped: [] };

  constructor(readonly source: string) {}

  read(): boolean {
    let changed = false;
    for (const file of filesOf(this.source)) {
      if (!this.readers.has(file)) this.readers.set(file, new ResultFileReader(file));
      if (this.readers.get(file)!.read()) changed = true;
    }
    this.changed ||= changed;
    return changed;
  }

  summary(): Summary {
    if (!this.changed) return this.last;
    this.changed = false;
    const reads = [...this.readers.values()].map((r) => ({ file: r.file, read: r.contents }));
    const skipped = reads.flatMap(({ file, read }) => read.skipped.map((s) => ({ line: s.line, reason: `${path.basename(file)}: ${s.reason}` })));
    try {
      if (!reads.length) throw new Error(`no result files (*.jsonl) in ${this.source}`);
      this.last = { report: summarizeSet(mergeResults(reads)).report, skipped };
    } catch (err) {
      this.last = { skipped, error: err instanceof Error ? err.message : String(err) };
    }
    return this.last;
  }
}

function slim(line: BatchLine): BatchLine {
  if (isError(line)) return line;
  return { ...line, layerScores: [], tokenMaps: [] };
}

/** The full record of one image in a result source (its last one), maps and scores included. */
export function findRecord(source: string, image: string): BatchRecord | undefined {
  try {
    return filesOf(source).flatMap((file) => recordsOf(readLines(file).lines)).filter((r) => r.image.path === image).pop();
  } catch {
    return undefined;
  }
}
