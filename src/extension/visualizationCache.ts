// Feature visualizations kept in the extension's global storage, one PNG and its record per key (the
// model's hash and options, the neuron and the settings): the neuron view shows a cached one at once.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VisualizationRecord } from '../engine/visualize';
import { stableKey } from '../protocol/guards';

export interface CachedVisualization { png: string; record: VisualizationRecord }

export class VisualizationCache {
  constructor(readonly dir: string) {}

  private files(key: unknown): { png: string; json: string } {
    const name = createHash('sha256').update(stableKey(key)).digest('hex').slice(0, 32);
    return { png: path.join(this.dir, `${name}.png`), json: path.join(this.dir, `${name}.json`) };
  }

  /** The visualization under `key`, if one was completed (its record is written after its PNG). */
  async lookup(key: unknown): Promise<CachedVisualization | undefined> {
    const { png, json } = this.files(key);
    try {
      const record = JSON.parse(await fs.promises.readFile(json, 'utf8')) as VisualizationRecord;
      return record.schema === 'neuron-path/visualization-1' && (await fs.promises.stat(png)).isFile() ? { png, record } : undefined;
    } catch {
      return undefined;
    }
  }

  /** The cached visualization, or `compute` writes its PNG to the path given and the record is stored after it. */
  async get(key: unknown, compute: (png: string) => Promise<VisualizationRecord>): Promise<CachedVisualization> {
    const hit = await this.lookup(key);
    if (hit) return hit;
    const { png, json } = this.files(key);
    await fs.promises.mkdir(this.dir, { recursive: true });
    const record = await compute(png);
    await fs.promises.writeFile(json, JSON.stringify(record));
    return { png, record };
  }
}
