// Reading and writing batch result files (.jsonl) safely at any size: lines are read as a stream
// (a file is never one string: past 512 MiB that fails), each line is checked for the shape the
// report and the panels rely on (a bad or foreign line is skipped and counted, never fatal). A
// writer holds the file's lock (lock.ts) so that two runs cannot interleave their lines.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { EngineError } from '../errors';
import { openRegular } from '../files';
import { ERROR_SCHEMA, type ReadResult, type RecordKind, type SkippedLine } from './schema';

/** A line longer than this is skipped unread (a ViT-L record with maps is about 5 MiB). */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;
const CHUNK = 1 << 20;
const readAsync = promisify(fs.read);

// --------------------------------------------------------------------------------------------- shape

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a parsed line is not a usable record of `kind` or error line, or undefined when it is one. */
export function lineProblem<L>(v: unknown, kind: RecordKind<L>): string | undefined {
  if (!isObj(v)) return 'not a JSON object';
  if (v.schema === ERROR_SCHEMA) {
    if (typeof v.image !== 'string' || typeof v.error !== 'string') return 'an error line without image and error';
    return undefined;
  }
  if (v.schema !== kind.schema) return `not a ${kind.schema} record (schema ${JSON.stringify(v.schema)?.slice(0, 40)})`;
  return kind.problem(v);
}

/** One line of text as a record or error line, or the reason it is skipped. */
export function parseLine<L>(text: string, kind: RecordKind<L>): { line: L } | { reason: string } {
  let value: unknown;
  try { value = JSON.parse(text); } catch { return { reason: 'not valid JSON (cut off by a stopped run?)' }; }
  const problem = lineProblem(value, kind);
  return problem ? { reason: problem } : { line: value as L };
}

// --------------------------------------------------------------------------------------------- reading

/** Splits byte chunks into lines; a line over MAX_LINE_BYTES is dropped as it streams by. */
class LineSplitter {
  private parts: Buffer[] = [];
  private bytes = 0;
  private tooLong = false;
  lineNo = 0;

  constructor(private readonly onLine: (text: string | undefined, lineNo: number) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      this.add(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
  }

  /** The last line, if the file does not end with a newline; returns whether it did. */
  end(): boolean {
    if (!this.bytes && !this.tooLong) return true;
    this.emit();
    return false;
  }

  private add(part: Buffer): void {
    if (this.tooLong) return;
    this.bytes += part.length;
    if (this.bytes > MAX_LINE_BYTES) { this.tooLong = true; this.parts = []; return; }
    this.parts.push(Buffer.from(part)); // a copy: the chunk buffer is reused
  }

  private emit(): void {
    this.lineNo++;
    this.onLine(this.tooLong ? undefined : Buffer.concat(this.parts).toString('utf8'), this.lineNo);
    this.parts = [];
    this.bytes = 0;
    this.tooLong = false;
  }
}

export interface ReadOptions<L> {
  /** The records the file holds (analyses: ANALYSIS_RECORDS; neuron scans: NEURON_RECORDS). */
  kind: RecordKind<L>;
  /** Drop the per-neuron arrays of each record as it is read (the kind's `slim`): summaries do not use them. */
  slim?: boolean;
  /** Keep only the lines this accepts (e.g. one image's records), so a large file is not held in memory. */
  filter?: (line: L) => boolean;
}

/**
 * Result lines from byte chunks as they come (a file read in pieces, or a file that grows): complete
 * lines are parsed and checked at once, a partial last line waits for the next chunk.
 */
export class ResultLineReader<L> {
  readonly result: ReadResult<L> = { lines: [], skipped: [], endsWithNewline: true };
  private readonly splitter: LineSplitter;

  constructor(private readonly opts: ReadOptions<L>) {
    this.splitter = new LineSplitter((text, lineNo) => this.line(text, lineNo));
  }

  push(chunk: Buffer): void { this.splitter.push(chunk); }

  /** The end of the input: a last line without a newline is read too. */
  end(): ReadResult<L> {
    this.result.endsWithNewline = this.splitter.end();
    return this.result;
  }

  private line(text: string | undefined, lineNo: number): void {
    const { result, opts } = this;
    if (text === undefined) { result.skipped.push({ line: lineNo, reason: `longer than ${MAX_LINE_BYTES / 2 ** 20} MiB` }); return; }
    if (!text.trim()) return;
    const parsed = parseLine(text, opts.kind);
    if ('reason' in parsed) { result.skipped.push({ line: lineNo, reason: parsed.reason }); return; }
    if (opts.filter && !opts.filter(parsed.line)) return;
    result.lines.push(opts.slim ? opts.kind.slim(parsed.line) : parsed.line);
  }
}

/** Reads a result file as a stream (any size). A missing file reads as empty; anything but a regular file is refused. */
export async function readResultFile<L>(file: string, opts: ReadOptions<L>): Promise<ReadResult<L>> {
  if (!fs.existsSync(file)) return { lines: [], skipped: [], endsWithNewline: true };
  const { fd } = openRegular(file, 'result-file');
  const reader = new ResultLineReader(opts);
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let n: number; (n = (await readAsync(fd, buf, 0, CHUNK, null)).bytesRead) > 0;) reader.push(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return reader.end();
}

/**
 * The `schema` its first record names, reading no further than its first line: which kind of result
 * a file holds. Undefined for a missing or empty file, or a first line that is no JSON object naming one.
 */
export async function firstSchema(file: string): Promise<string | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const { fd } = openRegular(file, 'result-file');
  let first: { text: string | undefined } | undefined;
  const splitter = new LineSplitter((text) => { if (!first && (text === undefined || text.trim())) first = { text }; });
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let n: number; !first && (n = (await readAsync(fd, buf, 0, CHUNK, null)).bytesRead) > 0;) splitter.push(buf.subarray(0, n));
    if (!first) splitter.end();
  } finally {
    fs.closeSync(fd);
  }
  try {
    const v: unknown = JSON.parse(first?.text ?? '');
    return isObj(v) && typeof v.schema === 'string' ? v.schema : undefined;
  } catch {
    return undefined;
  }
}

/** The same, synchronously (for callers that cannot wait); also chunked, so any size reads. */
export function readResultFileSync<L>(file: string, opts: ReadOptions<L>): ReadResult<L> {
  if (!fs.existsSync(file)) return { lines: [], skipped: [], endsWithNewline: true };
  const { fd } = openRegular(file, 'result-file');
  const reader = new ResultLineReader(opts);
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let n: number; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0;) reader.push(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return reader.end();
}

/** Parses text already in memory (a panel's appended bytes, a test's lines). */
export function parseResultText<L>(text: string, opts: ReadOptions<L>): ReadResult<L> {
  const reader = new ResultLineReader(opts);
  reader.push(Buffer.from(text, 'utf8'));
  return reader.end();
}

/** "3 lines skipped: line 7 (not valid JSON), line 9 (...), ..." for a front end to print. */
export function skippedSummary(skipped: SkippedLine[], shown = 3): string | undefined {
  if (!skipped.length) return undefined;
  const list = skipped.slice(0, shown).map((s) => `line ${s.line} (${s.reason})`).join(', ');
  return `${skipped.length} line${skipped.length === 1 ? '' : 's'} skipped: ${list}${skipped.length > shown ? ', ...' : ''}`;
}

/**
 * A file that may be appended to: missing, empty, or one whose first line is a neuron-path
 * record or error line. Anything else (a log, another tool's .jsonl) is refused, not appended to.
 */
export function checkAppendable(file: string, schema: string): void {
  if (!fs.existsSync(file)) return;
  const { fd, size } = openRegular(file, 'result-file');
  let head: string;
  try {
    const buf = Buffer.alloc(Math.min(size, 64 * 1024));
    head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const first = head.split('\n').find((l) => l.trim());
  if (first === undefined) return;
  const found = /^\s*\{\s*"schema"\s*:\s*"([^"]*)"/.exec(first)?.[1];
  if (found !== schema && found !== ERROR_SCHEMA) {
    throw new EngineError('result-file', `${file} is not a neuron-path result file (its first line is not a ${schema} record); it is left as it is`, { file, role: 'result-file' });
  }
}
