// What a result file is, in one place: the schema ids, the line types (analyses, neuron scans, error
// lines) and the file names (a folder's result file, a shard's, a neuron scan's). A leaf: the
// readers, the writer and every front end import it; it imports no code of this project.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { BaselineName, ModelOptions } from '../api';
import type { AnalysisResult, ClassProbability, Rule } from '../result';
import type { TopScores } from './compact';

export const ANALYSIS_SCHEMA = 'neuron-path/1';
export const ERROR_SCHEMA = 'neuron-path/1-error';
export const NEURON_SCHEMA = 'neuron-path/neurons-1';
export const INTERVENTION_SCHEMA = 'neuron-path/intervention-1';

// ------------------------------------------------------------------------------------------- lines

/** What every line says of the model it was made with (threads and execution provider change nothing). */
export interface ModelSettings {
  sha256: string; scope: string; preprocess: NonNullable<ModelOptions['preprocess']>;
  preprocessing?: string;             // the preprocessing values (preprocessingKey); absent in files made before configs were keyed
  labelsPath: string | null;
}

/** The settings every line carries: `key` decides what resumes; the rest says what differs. */
export interface RunSettings { key: string; model: ModelSettings }

/** What a folder analysis was made with; every line carries it, so a file can be resumed and re-read. */
export interface BatchSettings extends RunSettings {
  analyze: {
    steps: number; formula: string; target: number | 'predicted'; baselines: BaselineName[]; randomCount: number; randomSeed: number;
    topK?: number;                    // only when > 1, so files made before top-K paths keep their key
    rule?: Rule;                      // only when not left, so files made before the rules keep their key
  };
}

/** Where an image came from: its folder's class (ImageFolder layout), or none (flat folder). */
export interface FolderClass {
  trueClass: number | null;           // the model's class the folder name matched, or null
  folderLabel: string | null;         // the sub-folder name, or null for an image at the top of the folder
}

/** What a record of a result file has whatever its kind: the image it is of (the resume key). */
export interface ImageRecord { schema: string; image: { path: string; pathBase64?: string; sha256: string; orientation?: number } }

/** An image that could not be analysed (or scanned): the run goes on. */
export interface BatchError<S = BatchSettings> extends FolderClass {
  schema: typeof ERROR_SCHEMA;
  image: string;                      // absolute path (bytes of a name that are not UTF-8 as \xHH)
  imageBase64?: string;               // only for such a name: the path's bytes, base64
  sha256: string | null;              // null when the file could not be read
  error: string;
  batch: S;
  analysedAt?: string;                // when the line was written (ISO 8601; absent in older files)
}

/** A record as a result file holds it: with its folder class, the run's settings and when it was written. */
export type RecordLine<R, S> = R & FolderClass & { batch: S; analysedAt?: string };

/** A line of a result file: a record, or an error line. */
export type ResultLine<R, S> = RecordLine<R, S> | BatchError<S>;

/** An analysis line (compact ones keep `topScores` instead of `layerScores`). */
export type BatchRecord = RecordLine<AnalysisResult & { topScores?: TopScores }, BatchSettings>;
export type BatchLine = BatchRecord | BatchError;

/** A neuron of a block, or (neuron null) every neuron of it. */
export interface NeuronUnit { layer: number; neuron: number | null }

export interface NeuronScanSettings extends RunSettings { scan: { units: NeuronUnit[] } }

/** What the scan found for one unit on one image. */
export interface UnitScan {
  layer: number;
  neuron: number | null;
  /** Per neuron of the unit (one value for a single neuron): the activation at the readout token(s), summed over them for `patches`. */
  activation: number[];
  /** Per neuron: the patch (row-major index on `grid`) where its activation is largest, and that activation. */
  peak: number[];
  peakValue: number[];
  /** A single neuron's activation at every patch. */
  map?: number[];
  /** A single neuron zeroed at the readout tokens: the target's probability and the top-1 class. */
  ablated?: { probability: number; top1: number };
}

export interface NeuronScanRecord {
  schema: typeof NEURON_SCHEMA;
  model: AnalysisResult['model'];
  image: AnalysisResult['image'];
  grid: [number, number];
  prediction: { top: ClassProbability[] };
  /** The class the ablation is measured on: the image's folder class where it has one, else the predicted class. */
  target: ClassProbability;
  units: UnitScan[];
}

export type NeuronScanLine = ResultLine<NeuronScanRecord, NeuronScanSettings>;

/** A line that could not be read, and why (1-based line numbers). */
export interface SkippedLine { line: number; reason: string }

/** A result file read: its usable lines, the skipped ones, and whether its last line was complete. */
export interface ReadResult<L = BatchLine> {
  lines: L[];
  skipped: SkippedLine[];
  endsWithNewline: boolean;
}

/**
 * A kind of record a result file holds (analyses, neuron scans): its schema, why a parsed line of
 * that schema is not usable, and what a summary can drop of it.
 */
export interface RecordKind<L> {
  schema: string;
  problem(v: Record<string, unknown>): string | undefined;
  /** The line without the per-neuron arrays summaries do not read (a record can be megabytes). */
  slim(line: L): L;
}

export const isErrorLine = <L extends { schema: string }>(line: L): line is Extract<L, BatchError<unknown>> => line.schema === ERROR_SCHEMA;

// ------------------------------------------------------------------------------------------- names

/** A folder's result file beside it: `photos/` -> `photos.neuron-path.jsonl`. */
export const RESULT_SUFFIX = '.neuron-path.jsonl';

/** The result file written next to a folder (or another suffix: a neuron scan's). */
export function resultFileNextTo(folder: string, suffix = RESULT_SUFFIX): string {
  return `${path.resolve(folder).replace(/[\\/]+$/, '')}${suffix}`;
}

/** The folder a result file next to it names (`photos.neuron-path.jsonl` -> `photos`), if it is such a file. */
export function folderNamedBy(file: string): string | undefined {
  return file.endsWith(RESULT_SUFFIX) ? file.slice(0, -RESULT_SUFFIX.length) : undefined;
}

/** What a folder's scan file is named after the folder: `<folder>.neurons-L3-29_L5.jsonl`. */
export function neuronScanSuffix(units: NeuronUnit[]): string {
  const selection = units.map((u) => (u.neuron === null ? `L${u.layer}` : `L${u.layer}-${u.neuron}`)).join('_');
  const short = selection.length <= 60 ? selection : `${units.length}units-${createHash('sha256').update(selection).digest('hex').slice(0, 8)}`;
  return `.neurons-${short}.jsonl`;
}

/** Shard `index` (0-based, like array task ids) of `count`. */
export interface Shard { index: number; count: number }

/** A shard's own result file beside the usual one: `x.neuron-path.jsonl` -> `x.neuron-path.shard-1-of-4.jsonl`. */
export function shardFile(out: string, shard: Shard): string {
  return `${out.replace(/\.jsonl$/i, '')}.shard-${shard.index}-of-${shard.count}.jsonl`;
}

/** The inverse of `shardFile`: `x.shard-1-of-4.jsonl` -> its run's file `x.jsonl` and its shard, else undefined. */
export function parseShardFile(file: string): { base: string; shard: Shard } | undefined {
  const m = /^(.*)\.shard-(\d+)-of-(\d+)\.jsonl$/i.exec(file);
  return m ? { base: `${m[1]}.jsonl`, shard: { index: Number(m[2]), count: Number(m[3]) } } : undefined;
}

const SHARD_SET = /^(.*)\.shard-\*-of-(\d+)\.jsonl$/;

/** `x.shard-2-of-4.jsonl` -> its run's files `x.shard-*-of-4.jsonl` (what `report` and the panel take). */
export function shardSetOf(file: string): string | undefined {
  const parsed = parseShardFile(file);
  return parsed ? `${parsed.base.replace(/\.jsonl$/, '')}.shard-*-of-${parsed.shard.count}.jsonl` : undefined;
}

/** The files of a shard set `x.shard-*-of-N.jsonl`: its folder and a test of a file name; undefined for anything else. */
export function shardSetMembers(pattern: string): { dir: string; isMember: (name: string) => boolean } | undefined {
  const m = SHARD_SET.exec(pattern);
  if (!m) return undefined;
  const prefix = `${path.basename(m[1])}.shard-`, suffix = `-of-${m[2]}.jsonl`;
  return {
    dir: path.dirname(m[1]),
    isMember: (name) => name.startsWith(prefix) && name.endsWith(suffix) && /^\d+$/.test(name.slice(prefix.length, -suffix.length)),
  };
}
