// Reading and writing batch result files (.jsonl) safely at any size: lines are read as a stream
// (a file is never one string: past 512 MiB that fails), each line is checked for the shape the
// report and the panels rely on (a bad or foreign line is skipped and counted, never fatal). A
// writer holds the file's lock (lock.ts) so that two runs cannot interleave their lines.
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { EngineError } from '../errors';
import { openRegular } from '../files';
import { FORMULAS, STEPS_RANGE, TOP_K_RANGE } from '../options';
import type { AnalysisResult, Formula } from '../result';
import { ERROR_SCHEMA, type BatchLine, type ReadResult } from './records';

/** A line longer than this is skipped unread (a ViT-L record with maps is about 5 MiB). */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;
const CHUNK = 1 << 20;
const readAsync = promisify(fs.read);

// --------------------------------------------------------------------------------------------- shape

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isProb = (v: unknown) => isNum(v) && (v as number) >= 0 && (v as number) <= 1;
const LIMIT = 1e7; // layers, neurons and classes: far above any model, far below what breaks arrays

/**
 * Another kind of record a result file can hold (a neuron scan's): its schema and why a parsed line
 * of that schema is not usable. Without a kind, a file holds analyses (`neuron-path/1`).
 */
export interface RecordKind { schema: string; problem(v: Obj): string | undefined }

/** Why a parsed line is not a usable record (of `kind`, default analyses) or error line, or undefined when it is one. */
export function lineProblem(v: unknown, kind?: RecordKind): string | undefined {
  if (!isObj(v)) return 'not a JSON object';
  if (v.schema === ERROR_SCHEMA) {
    if (typeof v.image !== 'string' || typeof v.error !== 'string') return 'an error line without image and error';
    return undefined;
  }
  const schema = kind?.schema ?? 'neuron-path/1';
  if (v.schema !== schema) return `not a ${schema} record (schema ${JSON.stringify(v.schema)?.slice(0, 40)})`;
  if (kind) return kind.problem(v);
  const r = v as Obj;
  const model = r.model, image = r.image, prediction = r.prediction, target = r.target, manipulation = r.manipulation;
  if (!isObj(model) || typeof model.sha256 !== 'string' || !isInt(model.layers, 1, LIMIT) || !isInt(model.neuronsPerLayer, 1, LIMIT)) return 'no model (sha256, layers, neuronsPerLayer)';
  if (!isObj(image) || typeof image.path !== 'string') return 'no image path';
  const L = model.layers as number, D = model.neuronsPerLayer as number;
  if (!Array.isArray(r.path) || r.path.length !== L) return `a path that is not one neuron per layer (${L})`;
  if (!r.path.every((n, l) => isObj(n) && n.layer === l && isInt(n.neuron, 0, D - 1))) return `a path neuron out of range (0..${D - 1})`;
  if (!isObj(prediction) || !Array.isArray(prediction.top) || !prediction.top.length
    || !prediction.top.every((c) => isObj(c) && isInt(c.class, 0, LIMIT) && isProb(c.probability))) return 'no prediction (top classes with probabilities)';
  if (!isObj(target) || !isInt(target.class, 0, LIMIT) || !isProb(target.probability)) return 'no target class and probability';
  const settings = r.settings;
  if (!isObj(settings) || !isInt(settings.steps, STEPS_RANGE.min, STEPS_RANGE.max) || !FORMULAS.includes(settings.formula as Formula)
    || (settings.topK !== undefined && !isInt(settings.topK, TOP_K_RANGE.min, TOP_K_RANGE.max))) {
    return `settings out of their bounds (steps ${STEPS_RANGE.min}..${STEPS_RANGE.max}, formula ${FORMULAS.join('|')}, top-k ${TOP_K_RANGE.min}..${TOP_K_RANGE.max})`;
  }
  if (!isNum(r.jas)) return 'no finite JAS';
  if (!isObj(manipulation) || !isObj(manipulation.remove) || !isObj(manipulation.enhance)
    || !isProb(manipulation.remove.probability) || !isProb(manipulation.enhance.probability)) return 'no remove/enhance probabilities';
  if (!isObj(r.baselines)) return 'no baselines';
  for (const key of ['activation', 'integratedGradients', 'influencePattern'] as const) {
    const b = r.baselines[key];
    if (b !== undefined && !(isObj(b) && isNum(b.jas) && isProb(b.remove) && isProb(b.enhance) && Array.isArray(b.path)
      && b.path.length === L && b.path.every((n) => isObj(n) && isInt(n.neuron, 0, D - 1)))) return `a malformed ${key} baseline`;
  }
  const top = r.topK;
  if (top !== undefined && !(isObj(top) && isInt(top.k, 2, D) && Array.isArray(top.layers) && top.layers.length === L
    && top.layers.every((set, l) => Array.isArray(set) && set.length === top.k && set.every((n) => isObj(n) && n.layer === l && isInt(n.neuron, 0, D - 1)))
    && isNum(top.jas) && isObj(top.remove) && isProb(top.remove.probability) && isObj(top.enhance) && isProb(top.enhance.probability))) {
    return 'a malformed top-K path';
  }
  const random = r.baselines.random;
  if (random !== undefined && !(isObj(random) && isInt(random.count, 1, LIMIT) && isNum(random.jasMean) && isProb(random.removeMean) && isProb(random.enhanceMean))) {
    return 'a malformed random baseline';
  }
  if (r.trueClass !== undefined && r.trueClass !== null && !isInt(r.trueClass, 0, LIMIT)) return 'a folder class that is not a class index';
  if (r.folderLabel !== undefined && r.folderLabel !== null && typeof r.folderLabel !== 'string') return 'a folder label that is not text';
  if (r.layerScores !== undefined && !(Array.isArray(r.layerScores) && r.layerScores.every((row) => Array.isArray(row)))) return 'malformed layer scores';
  if (r.tokenMaps !== undefined && !(Array.isArray(r.tokenMaps) && r.tokenMaps.every((m) => isObj(m) && Array.isArray(m.values)))) return 'malformed token maps';
  return undefined;
}

/** One line of text as a record or error line, or the reason it is skipped. */
export function parseLine(text: string, kind?: RecordKind): { line: BatchLine } | { reason: string } {
  let value: unknown;
  try { value = JSON.parse(text); } catch { return { reason: 'not valid JSON (cut off by a stopped run?)' }; }
  const problem = lineProblem(value, kind);
  return problem ? { reason: problem } : { line: value as BatchLine };
}

/** Whether an analysis result (e.g. a record the panel is given) has the shape of a record. */
export const isAnalysisResult = (v: unknown): v is AnalysisResult => lineProblem(v) === undefined && (v as Obj).schema === 'neuron-path/1';

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

export interface ReadOptions {
  /** Drop the per-neuron arrays (layerScores, tokenMaps) of each record as it is read: summaries do not use them. */
  slim?: boolean;
  /** Keep only the lines this accepts (e.g. one image's records), so a large file is not held in memory. */
  filter?: (line: BatchLine) => boolean;
  /** The records the file holds (default: analyses). */
  kind?: RecordKind;
}

/**
 * Result lines from byte chunks as they come (a file read in pieces, or a file that grows): complete
 * lines are parsed and checked at once, a partial last line waits for the next chunk.
 */
export class ResultLineReader {
  readonly result: ReadResult = { lines: [], skipped: [], endsWithNewline: true };
  private readonly splitter: LineSplitter;

  constructor(private readonly opts: ReadOptions = {}) {
    this.splitter = new LineSplitter((text, lineNo) => this.line(text, lineNo));
  }

  push(chunk: Buffer): void { this.splitter.push(chunk); }

  /** The end of the input: a last line without a newline is read too. */
  end(): ReadResult {
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
    result.lines.push(opts.slim ? slim(parsed.line) : parsed.line);
  }
}

/** Reads a result file as a stream (any size). A missing file reads as empty; anything but a regular file is refused. */
export async function readResultFile(file: string, opts: ReadOptions = {}): Promise<ReadResult> {
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

/** The same, synchronously (for callers that cannot wait); also chunked, so any size reads. */
export function readResultFileSync(file: string, opts: ReadOptions = {}): ReadResult {
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
export function parseResultText(text: string, opts: ReadOptions = {}): ReadResult {
  const reader = new ResultLineReader(opts);
  reader.push(Buffer.from(text, 'utf8'));
  return reader.end();
}

export function slim(line: BatchLine): BatchLine {
  if (line.schema !== 'neuron-path/1') return line;
  return { ...line, layerScores: [], tokenMaps: [] };
}

/** "3 lines skipped: line 7 (not valid JSON), line 9 (...), ..." for a front end to print. */
export function skippedSummary(skipped: ReadResult['skipped'], shown = 3): string | undefined {
  if (!skipped.length) return undefined;
  const list = skipped.slice(0, shown).map((s) => `line ${s.line} (${s.reason})`).join(', ');
  return `${skipped.length} line${skipped.length === 1 ? '' : 's'} skipped: ${list}${skipped.length > shown ? ', ...' : ''}`;
}

/**
 * A file that may be appended to: missing, empty, or one whose first line is a neuron-path
 * record or error line. Anything else (a log, another tool's .jsonl) is refused, not appended to.
 */
export function checkAppendable(file: string, schema = 'neuron-path/1'): void {
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
