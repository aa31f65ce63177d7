// A batch result file (.jsonl) read as it grows: each refresh reads only the bytes appended since
// the last one, keeps the lines without their heavy per-neuron arrays (layerScores, tokenMaps: the
// summary does not use them), and summarises everything with the engine's report. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readResultFile, ResultLineReader } from '../engine/batch/resultFile';
import { openRegular } from '../engine/files';
import { recordsOf, type BatchLine, type BatchRecord, type ReadResult } from '../engine/batch/records';
import { summarize, type BatchReport } from '../engine/batch/report';

export const RESULT_SUFFIX = '.neuron-path.jsonl';
const CHUNK = 1 << 20;

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
  private parser = new ResultLineReader({ slim: true });
  private version = 0;
  private summarised = -1;
  private last: Summary = { skipped: [] };

  constructor(readonly file: string) {}

  private get lines(): BatchLine[] { return this.parser.result.lines; }
  private get skipped(): ReadResult['skipped'] { return this.parser.result.skipped; }

  /**
   * Reads what was appended (from the start if the file shrank), in chunks: a file of any size, and
   * a line being written waits in the parser for its end. Returns whether new lines came.
   */
  read(): boolean {
    let size: number;
    try { size = fs.statSync(this.file).size; } catch { return false; }
    if (size < this.offset) { this.offset = 0; this.parser = new ResultLineReader({ slim: true }); this.version++; }
    if (size === this.offset) return false;
    const before = this.lines.length + this.skipped.length;
    const { fd } = openRegular(this.file, 'result-file');
    try {
      const buf = Buffer.alloc(Math.min(CHUNK, size - this.offset));
      while (this.offset < size) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - this.offset), this.offset);
        if (n === 0) break;
        this.parser.push(buf.subarray(0, n));
        this.offset += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    if (this.lines.length + this.skipped.length === before) return false;
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

/** The full record of one image in a result file (its last one), maps and scores included; streamed, so any size reads. */
export async function findRecord(file: string, image: string): Promise<BatchRecord | undefined> {
  try {
    const mine = (l: BatchLine) => l.schema === 'neuron-path/1' && l.image.path === image;
    return recordsOf((await readResultFile(file, { filter: mine })).lines).pop();
  } catch {
    return undefined;
  }
}
