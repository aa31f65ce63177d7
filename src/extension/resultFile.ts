// A batch result file (.jsonl) read as it grows: each refresh reads only the bytes appended since
// the last one, keeps the lines without their heavy per-neuron arrays (layerScores, tokenMaps: the
// summary does not use them), and summarises everything with the engine's report. All reads are
// asynchronous: they run on the extension host's thread when the user clicks. No vscode import.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isError, parseLines, recordsOf, type BatchLine, type BatchRecord, type ReadResult } from '../engine/batch/records';
import { summarize, type BatchReport } from '../engine/batch/report';

export const RESULT_SUFFIX = '.neuron-path.jsonl';

/** The result file written next to a folder: `photos/` -> `photos.neuron-path.jsonl`. */
export function resultFileNextTo(folder: string): string {
  return `${path.resolve(folder).replace(/[\\/]+$/, '')}${RESULT_SUFFIX}`;
}

/** The folder a result file next to it was made from, if that folder exists. */
export async function folderOfResultFile(file: string): Promise<string | undefined> {
  if (!file.endsWith(RESULT_SUFFIX)) return undefined;
  const folder = file.slice(0, -RESULT_SUFFIX.length);
  try { return (await fs.stat(folder)).isDirectory() ? folder : undefined; } catch { return undefined; }
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
  private reading: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Reads what was appended (from the start if the file shrank). Resolves whether new lines came. */
  read(): Promise<boolean> {
    // One read at a time: a refresh and a page reload may ask at once.
    const next = this.reading.then(() => this.readAppended());
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** Whether the file exists (a result file of a batch that has not started yet does not). */
  async exists(): Promise<boolean> {
    try { await fs.stat(this.file); return true; } catch { return false; }
  }

  private async readAppended(): Promise<boolean> {
    let size: number;
    try { size = (await fs.stat(this.file)).size; } catch { return false; }
    if (size < this.offset) { this.offset = 0; this.lineNo = 0; this.lines = []; this.skipped = []; this.version++; }
    if (size === this.offset) return false;
    const handle = await fs.open(this.file, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(size - this.offset);
      await handle.read(buf, 0, buf.length, this.offset);
    } finally {
      await handle.close();
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
export async function findRecord(file: string, image: string): Promise<BatchRecord | undefined> {
  try {
    return recordsOf(parseLines(await fs.readFile(file, 'utf8')).lines).filter((r) => r.image.path === image).pop();
  } catch {
    return undefined;
  }
}
