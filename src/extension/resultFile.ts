// A batch result file (.jsonl) read as it grows: each refresh reads only the bytes appended since
// the last one, keeps the lines without their heavy per-neuron arrays (layerScores, tokenMaps: the
// summary does not use them), and summarises everything with the engine's report. A folder of
// result files (the shard files of a cluster run), or one shard file's whole run, is read the same
// way, file by file, as one result. All reads are asynchronous: they run on the extension host's
// thread when the user clicks. The bytes go through the engine's result-line reader (line checks,
// skipped-line counts) like every result file read. No vscode import.
import { createReadStream, promises as fs, statSync } from 'node:fs';
import * as path from 'node:path';
import { readResultFile, ResultLineReader } from '../engine/batch/resultFile';
import { openRegular } from '../engine/files';
import { ANALYSIS_RECORDS, recordsOf } from '../engine/batch/records';
import { ANALYSIS_SCHEMA, folderNamedBy, type BatchLine, type BatchRecord, type ReadResult, type SkippedLine } from '../engine/batch/schema';
import { summarize, summarizeSet, type BatchReport } from '../engine/batch/report';
import { scanFolder } from '../engine/batch/scan';
import { expandResults, mergeResults } from '../engine/batch/resultSet';

const CHUNK = 1 << 20;

/** The folder a result file next to it was made from, if that folder exists. */
export async function folderOfResultFile(file: string): Promise<string | undefined> {
  const folder = folderNamedBy(file);
  if (folder === undefined) return undefined;
  try { return (await fs.stat(folder)).isDirectory() ? folder : undefined; } catch { return undefined; }
}

/** The images a folder analysis holds a line of: its records' and its error lines'. */
export const reportImages = (report: BatchReport | undefined): string[] => [...(report?.patterns.images ?? []), ...(report?.errors.map((e) => e.image) ?? [])];

/**
 * How many images of `folder` a result holds no line of (`images`: its records' and error lines'):
 * 0 when a Resume would have nothing to do. Undefined when the folder cannot be scanned (then Resume is offered).
 */
export function imagesLeft(folder: string, images: readonly string[]): number | undefined {
  const inResult = new Set(images);
  try {
    return scanFolder(folder, []).items.filter((item) => !inResult.has(item.image)).length;
  } catch {
    return undefined;
  }
}

export interface Summary { report?: BatchReport; skipped: SkippedLine[]; error?: string }

/** A result that grows: one file, or several read as one. */
export interface ResultReader {
  /** Reads what was appended. Resolves whether new lines came. */
  read(): Promise<boolean>;
  summary(): Summary;
  /** Whether there is anything to read yet (a batch that has not started has written nothing). */
  exists(): Promise<boolean>;
}

/** Reads one at a time: a refresh and a page reload may ask at once. */
class OneAtATime {
  private last: Promise<unknown> = Promise.resolve();
  run<T>(read: () => Promise<T>): Promise<T> {
    const next = this.last.then(read);
    this.last = next.catch(() => undefined);
    return next;
  }
}

/** The files a result source stands for while it may still be written (see expandResults). */
export const filesOf = (source: string): Promise<string[]> => expandResults([source], { whileWritten: true });

/** A reader for a result source: a file, a folder of result files, or a shard set (see filesOf). */
export function resultReader(source: string): ResultReader {
  // One stat when the panel opens (a folder may be named x.jsonl); the reads are asynchronous.
  const folder = (() => { try { return statSync(source).isDirectory(); } catch { return false; } })();
  return source.endsWith('.jsonl') && !source.includes('.shard-*-of-') && !folder ? new ResultFileReader(source) : new ResultSetReader(source);
}

export class ResultFileReader implements ResultReader {
  private offset = 0;
  private parser = new ResultLineReader({ kind: ANALYSIS_RECORDS, slim: true });
  private version = 0;
  private summarised = -1;
  private last: Summary = { skipped: [] };
  private readonly reads = new OneAtATime();

  constructor(readonly file: string) {}

  private get lines(): BatchLine[] { return this.parser.result.lines; }
  private get skipped(): SkippedLine[] { return this.parser.result.skipped; }

  /** Reads what was appended (from the start if the file shrank). Resolves whether new lines came. */
  read(): Promise<boolean> {
    return this.reads.run(() => this.readAppended());
  }

  /** Whether the file exists (a result file of a batch that has not started yet does not). */
  async exists(): Promise<boolean> {
    try { await fs.stat(this.file); return true; } catch { return false; }
  }

  /** In chunks: a file of any size, and a line being written waits in the parser for its end. */
  private async readAppended(): Promise<boolean> {
    let size: number;
    try { size = (await fs.stat(this.file)).size; } catch { return false; }
    if (size < this.offset) { this.offset = 0; this.parser = new ResultLineReader({ kind: ANALYSIS_RECORDS, slim: true }); this.version++; }
    if (size === this.offset) return false;
    const before = this.lines.length + this.skipped.length;
    const { fd } = openRegular(this.file, 'result-file'); // regular files only; the stream closes it
    for await (const chunk of createReadStream('', { fd, start: this.offset, end: size - 1, highWaterMark: CHUNK })) {
      this.parser.push(chunk as Buffer);
      this.offset += (chunk as Buffer).length;
    }
    if (this.lines.length + this.skipped.length === before) return false;
    this.version++;
    return true;
  }

  /** The report of everything read so far (recomputed only when new lines came). */
  summary(): Summary {
    if (this.summarised === this.version) return this.last;
    this.summarised = this.version;
    const read: ReadResult<BatchLine> = { lines: this.lines, skipped: this.skipped, endsWithNewline: true };
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
  get contents(): Pick<ReadResult<BatchLine>, 'lines' | 'skipped'> { return { lines: this.lines, skipped: this.skipped }; }
}

/** Several result files as one, each read as it grows; files that appear later are picked up. */
export class ResultSetReader implements ResultReader {
  private readonly readers = new Map<string, ResultFileReader>();
  private changed = true;
  private last: Summary = { skipped: [] };
  private readonly reads = new OneAtATime();

  constructor(readonly source: string) {}

  read(): Promise<boolean> {
    return this.reads.run(async () => {
      let changed = false;
      for (const file of await filesOf(this.source)) {
        if (!this.readers.has(file)) this.readers.set(file, new ResultFileReader(file));
        if (await this.readers.get(file)!.read()) changed = true;
      }
      this.changed ||= changed;
      return changed;
    });
  }

  async exists(): Promise<boolean> {
    return (await filesOf(this.source)).length > 0;
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

/**
 * The full record of one image in a result source (its newest one), maps and scores included;
 * each file streamed keeping only that image's records, so any size reads.
 */
export async function findRecord(source: string, image: string): Promise<BatchRecord | undefined> {
  try {
    const mine = (l: BatchLine) => l.schema === ANALYSIS_SCHEMA && l.image.path === image;
    const reads = [];
    for (const file of await filesOf(source)) reads.push({ file, read: await readResultFile(file, { kind: ANALYSIS_RECORDS, filter: mine }) });
    return recordsOf(mergeResults(reads).lines).pop();
  } catch {
    return undefined;
  }
}
