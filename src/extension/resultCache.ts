// Results by the settings key (model hash and the settings that change results) + sha256(image): a small in-memory LRU in
// front of one JSON file per result in the extension's global storage, so reopening an image (or a
// panel after a window reload) is instant. No vscode import.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { AnalyzeOptions, ModelOptions } from '../engine/api';
import { batchSettings } from '../engine/batch/records';
import { isAnalysisResult as isRecordShaped } from '../engine/batch/records';
import type { FileRole } from '../engine/errors';
import { sameStamp, stampOf, type FileStamp } from '../engine/files';
import { hashFile, type FileHash } from '../engine/hash';
import type { AnalysisResult } from '../engine/result';
import { isSha256 } from '../protocol/guards';

/**
 * sha256 of files, remembered by path and stamp (size and times): a model of hundreds of MB is read
 * once per change, not once per analysis. The hash comes with the stamp the file had when it was
 * opened, so the worker takes it only for that version of the file.
 */
export class FileHasher {
  private readonly memo = new Map<string, { stamp: FileStamp; hash: Promise<FileHash> }>();

  async hash(file: string, role: FileRole): Promise<FileHash> {
    const stamp = stampOf(await fs.stat(file));
    const known = this.memo.get(file);
    if (known && sameStamp(known.stamp, stamp)) return known.hash;
    const hash = hashFile(file, role);
    this.memo.set(file, { stamp, hash });
    hash.catch(() => { if (this.memo.get(file)?.hash === hash) this.memo.delete(file); });
    return hash;
  }
}

/** Results cached by an engine that read images otherwise are not reused. 2: photos read upright (EXIF orientation); 3: resized as Pillow does. */
const CACHE_VERSION = 3;

/**
 * The cache key of one image's result. What changes the numbers is the engine's settings key, the
 * same one every line of a batch file carries (model hash, scope, the preprocessing the model's
 * configs and the overrides give, analysis options; not threads or provider); the image's content;
 * and the labels file, whose names the result holds.
 */
export function resultKey(model: ModelOptions, analyze: AnalyzeOptions, modelSha: string, imageSha: string): { key: string; settingsKey: string } {
  const settingsKey = batchSettings(modelSha, model, analyze).key;
  const key = createHash('sha256').update(`${CACHE_VERSION}\n${settingsKey}\n${imageSha}\n${model.labelsPath ?? ''}`).digest('hex');
  return { key, settingsKey };
}

/** A whole record (the panel draws its layer scores and maps), of the shape result files are checked for. */
export function isAnalysisResult(v: unknown): v is AnalysisResult {
  return isRecordShaped(v) && Array.isArray(v.layerScores) && Array.isArray(v.tokenMaps);
}

export class ResultCache {
  private readonly memory = new Map<string, AnalysisResult>();

  /** `dir` undefined: memory only. */
  constructor(private readonly dir: string | undefined, private readonly memoryEntries = 16, private readonly diskEntries = 200) {}

  async get(key: string): Promise<AnalysisResult | undefined> {
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      return hit;
    }
    if (!this.dir) return undefined;
    const file = this.file(key);
    try {
      const parsed: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
      if (!isAnalysisResult(parsed)) return undefined;
      this.remember(key, parsed);
      return parsed;
    } catch {
      return undefined;
    }
  }

  async set(key: string, result: AnalysisResult): Promise<void> {
    this.remember(key, result);
    if (!this.dir) return;
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = `${this.file(key)}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(result));
    await fs.rename(tmp, this.file(key));
    await this.prune();
  }

  private remember(key: string, result: AnalysisResult): void {
    this.memory.delete(key);
    this.memory.set(key, result);
    while (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value!);
  }

  private file(key: string): string {
    if (!isSha256(key)) throw new Error(`bad cache key ${JSON.stringify(key)}`);
    return path.join(this.dir!, `${key}.json`);
  }

  /** Keeps the newest `diskEntries` files. */
  private async prune(): Promise<void> {
    const names = (await fs.readdir(this.dir!)).filter((n) => n.endsWith('.json'));
    if (names.length <= this.diskEntries) return;
    const stats = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(path.join(this.dir!, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    stats.sort((a, b) => b.t - a.t);
    await Promise.all(stats.slice(this.diskEntries).map((s) => fs.rm(path.join(this.dir!, s.n), { force: true })));
  }
}
