// A folder split across the tasks of a cluster job (a Slurm array, a Kubernetes Indexed Job): each
// image belongs to one shard, chosen by a hash of its path relative to the folder, so an image keeps
// its shard when others are added or removed and a resumed task finds its own images again. Each
// shard writes its own result file; `report` and the folder panel read them together.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { invalidOption } from '../errors';

/** Shard `index` (0-based, like array task ids) of `count`. */
export interface Shard { index: number; count: number }

const nonNegativeInt = (s: string) => /^\d+$/.test(s.trim()) ? Number(s) : NaN;

/** `K/N`, K in 0..N-1. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw invalidOption(`--shard takes K/N (task K of N, K counting from 0), got '${text}'`);
  return checked(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

function checked(index: number, count: number, what: string): Shard {
  if (!Number.isInteger(count) || count < 1) throw invalidOption(`${what}: the number of shards must be an integer >= 1`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw invalidOption(`${what}: the shard must be in 0..${count - 1}`);
  return { index, count };
}

/** Where the shard came from, for the progress line and errors. */
export interface ShardChoice { shard: Shard; source: string }

/**
 * The shard of this process: `--shard K/N`; else, in a Slurm array, the task's place in the array
 * (its id minus the array's first id, so `--array=1-4` works like `--array=0-3`), or with
 * `--shards N` the task id modulo N (so one task resubmitted alone, `sbatch --array=2`, is still
 * shard 2); else, with `--shards N`, the Kubernetes Indexed Job's completion index. Undefined: not sharded.
 */
export function chooseShard(flag: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): ShardChoice | undefined {
  if (flag !== undefined) {
    const shard = parseShard(flag);
    if (shards !== undefined && shards !== shard.count) throw invalidOption(`--shard ${flag} and --shards ${shards} disagree`);
    return { shard, source: '--shard' };
  }
  const slurmId = env.SLURM_ARRAY_TASK_ID;
  if (slurmId !== undefined && slurmId !== '') {
    const id = nonNegativeInt(slurmId), min = nonNegativeInt(env.SLURM_ARRAY_TASK_MIN ?? '0'), tasks = nonNegativeInt(env.SLURM_ARRAY_TASK_COUNT ?? '');
    const source = `Slurm array task ${slurmId}`;
    if (shards !== undefined) {
      if (Number.isNaN(id)) throw invalidOption(`cannot read SLURM_ARRAY_TASK_ID=${slurmId}; give --shard K/N`);
      if (tasks > shards) throw invalidOption(`the Slurm array has ${tasks} tasks but --shards is ${shards}: submit --array=0-${shards - 1}`);
      return { shard: { index: id % shards, count: shards }, source };
    }
    if (Number.isNaN(id) || Number.isNaN(min) || Number.isNaN(tasks)) {
      throw invalidOption(`cannot read the Slurm array task from SLURM_ARRAY_TASK_ID=${slurmId}, SLURM_ARRAY_TASK_MIN=${env.SLURM_ARRAY_TASK_MIN}, ` +
        `SLURM_ARRAY_TASK_COUNT=${env.SLURM_ARRAY_TASK_COUNT}; give --shard K/N`);
    }
    if (id - min >= tasks) {
      throw invalidOption(`Slurm array task ${id} (first ${min}) would be shard ${id - min} of ${tasks}: submit a contiguous array ` +
        'without a step (e.g. --array=0-3), or give --shards N');
    }
    return { shard: checked(id - min, tasks, 'the Slurm array task'), source };
  }
  const k8s = env.JOB_COMPLETION_INDEX;
  if (shards !== undefined) {
    if (k8s === undefined || k8s === '') {
      throw invalidOption('--shards N takes the shard from a Slurm array (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX); neither is set. Give --shard K/N');
    }
    return { shard: checked(nonNegativeInt(k8s), shards, `JOB_COMPLETION_INDEX=${k8s}`), source: `Indexed Job completion ${k8s}` };
  }
  return undefined;
}

/** The shard of an image, from its path relative to the folder ('/'-separated, so every OS agrees). */
export function shardOfPath(relativePath: string, count: number): number {
  const key = relativePath.split(path.sep).join('/');
  const h = createHash('sha256').update(key).digest();
  return h.readUIntBE(0, 6) % count;
}

/** The items of one shard, in their order. */
export function inShard<T extends { image: string }>(items: T[], root: string, shard: Shard): T[] {
  return items.filter((it) => shardOfPath(path.relative(root, it.image), shard.count) === shard.index);
}

/** A shard's own result file beside the usual one: `x.neuron-path.jsonl` -> `x.neuron-path.shard-1-of-4.jsonl`. */
export function shardFile(out: string, shard: Shard): string {
  return `${out.replace(/\.jsonl$/i, '')}.shard-${shard.index}-of-${shard.count}.jsonl`;
}

export const shardLabel = (s: Shard) => `shard ${s.index}/${s.count}`;

/** The inverse of `shardFile`: `x.shard-1-of-4.jsonl` -> its run's file `x.jsonl` and its shard, else undefined. */
export function parseShardFile(file: string): { base: string; shard: Shard } | undefined {
  const m = /^(.*)\.shard-(\d+)-of-(\d+)\.jsonl$/i.exec(file);
  return m ? { base: `${m[1]}.jsonl`, shard: { index: Number(m[2]), count: Number(m[3]) } } : undefined;
}

/** A run's shard files among the files read: which of its N shards are missing, and which files are not one of them. */
export interface ShardSet { files: string; count: number; found: number; missing: string[]; extra: string[] }

/** The shard sets among `files` (one per run file and shard count); a report over an incomplete set names what it lacks. */
export function shardSets(files: string[]): ShardSet[] {
  const sets = new Map<string, { base: string; count: number; indexes: Set<number>; extra: string[] }>();
  for (const file of files) {
    const parsed = parseShardFile(file);
    if (!parsed) continue;
    const { base, shard } = parsed;
    const key = `${base}\0${shard.count}`;
    const set = sets.get(key) ?? { base, count: shard.count, indexes: new Set<number>(), extra: [] };
    sets.set(key, set);
    if (shard.index < shard.count && shard.count > 0) set.indexes.add(shard.index); else set.extra.push(file);
  }
  return [...sets.values()].map(({ base, count, indexes, extra }) => ({
    files: shardFile(base, { index: 0, count }).replace(/\.shard-0-of-/, '.shard-*-of-'), count, found: indexes.size, extra,
    missing: Array.from({ length: Math.min(count, 100_000) }, (_, k) => k).filter((k) => !indexes.has(k)).map((index) => shardFile(base, { index, count })),
  }));
}
