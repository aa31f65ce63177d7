// A batch result file (.jsonl) read as it grows: each refresh reads only the bytes appended since
// the last one, keeps the lines without their heavy per-neuron arrays (layerScores, tokenMaps: the
// summary does not use them), and summarises everything with the engine's report. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isError, parseLines, readLines, recordsOf, type BatchLine, type BatchRecord, type ReadResult } from '../engine/batch/records';
import { summarize, type BatchReport } from '../engine/batch/report';

export const RESULT_SUFFIX = '.neuron-path.jsonl';

/** The result file written next to a folder: `photos/` -> `photos.neuron-path.jsonl` (or another suffix: a neuron scan's). */
export function resultFileNextTo(folder: string, suffix = RESULT_SUFFIX): string {
  return `${path.resolve(folder).replace(/[\\/]+$/, '')}${suffix}`;
}

/** The folder a result file next to it was made from, if that folder exists. */
export function folderOfResultFile(file: string): string | undefined {
  if (!file.endsWith(RESULT_SUFFIX)) return undefined;
  const folder = file.slice(0, -RESULT_SUFFIX.length);
  try { return fs.statSync(folder).isDirectory() ? folder : undefined; } catch { return undefined; }
}

export interface Summary { report?: BatchReport; skipped: ReadResult['skipped']; error?: string }

export class ResultFileReader {
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
}

function slim(line: BatchLine): BatchLine {
  if (isError(line)) return line;
  return { ...line, layerScores: [], tokenMaps: [] };
}

/** The full record of one image in a result file (its last one), maps and scores included. */
export function findRecord(file: string, image: string): BatchRecord | undefined {
  try {
    return recordsOf(readLines(file).lines).filter((r) => r.image.path === image).pop();
  } catch {
    return undefined;
  }
}
