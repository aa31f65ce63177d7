// The lines of a batch result file (.jsonl): one `neuron-path/1` record per analysed image, with the
// image's folder class and the run's settings, or an error line for an image that could not be
// analysed. Reading is tolerant: a line cut off by a killed run is reported and skipped.
import { createHash } from 'node:crypto';
import type { AnalyzeOptions, BaselineName, ModelOptions } from '../api';
import { pathKey, type RecordedPath } from '../files';
import { readPreprocessing } from '../modelFolder';
import { locateModel } from '../modelLocation';
import { resolveAnalyzeOptions, resolvedScope } from '../options';
import { preprocessingKey } from '../preprocessing';
import type { AnalysisResult, Rule } from '../result';
import type { TopScores } from './compact';
import { parseResultText, readResultFileSync, type RecordKind } from './resultFile';

export type { RecordKind } from './resultFile';

export const ERROR_SCHEMA = 'neuron-path/1-error';

/** What a batch run was made with; every line carries it, so a file can be resumed and re-read. */
export interface BatchSettings {
  key: string;                        // hash of the model's sha256 and everything below
  model: {
    sha256: string; scope: string; preprocess: NonNullable<ModelOptions['preprocess']>;
    preprocessing?: string;           // the preprocessing values (preprocessingKey); absent in files made before configs were keyed
    labelsPath: string | null;
  };
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

/** A line of a batch file: the record (compact ones keep `topScores` instead of `layerScores`), where it came from, how it was made. */
export type BatchRecord = AnalysisResult & FolderClass & { batch: BatchSettings; topScores?: TopScores; analysedAt?: string };

export interface BatchError<S = BatchSettings> extends FolderClass {
  schema: typeof ERROR_SCHEMA;
  image: string;                      // absolute path (bytes of a name that are not UTF-8 as \xHH)
  imageBase64?: string;               // only for such a name: the path's bytes, base64
  sha256: string | null;              // null when the file could not be read
  error: string;
  batch: S;
  analysedAt?: string;                // when the line was written (ISO 8601; absent in older files)
}

export type BatchLine = BatchRecord | BatchError;

/** The model settings that change what a record holds (threads and execution provider do not). */
export function modelSettings(modelSha256: string, model: ModelOptions): BatchSettings['model'] {
  const p = model.preprocess ?? {};
  const preprocess = Object.fromEntries(Object.entries({ size: p.size, mean: p.mean, std: p.std, resize: p.resize })
    .filter(([, v]) => v !== undefined)) as NonNullable<ModelOptions['preprocess']>;
  return { sha256: modelSha256, scope: resolvedScope(model), preprocess, preprocessing: configuredPreprocessing(model), labelsPath: model.labelsPath ?? null };
}

/**
 * The preprocessing the model's configs and the overrides give, as values (preprocessingKey): a
 * config edited between two runs changes the key. A config the engine cannot read is reported when
 * the model is opened; here it only has to key differently.
 */
function configuredPreprocessing(model: ModelOptions): string {
  try { return preprocessingKey(readPreprocessing(locateModel(model.modelPath), model.preprocess)); } catch { return 'unreadable'; }
}

/** The resume key of a settings body; labelsPath changes names, not numbers, so it is left out. */
export function settingsKey(body: { model: BatchSettings['model'] }): string {
  const keyed = { ...body, model: { ...body.model, labelsPath: undefined } };
  return createHash('sha256').update(JSON.stringify(keyed)).digest('hex').slice(0, 16);
}

/** The settings that change what a record holds (threads and execution provider do not). */
export function batchSettings(modelSha256: string, model: ModelOptions, analyze: AnalyzeOptions): BatchSettings {
  const a = resolveAnalyzeOptions(analyze);
  const baselines = [...new Set(a.baselines)].sort();
  const body = {
    model: modelSettings(modelSha256, model),
    analyze: {
      steps: a.steps, formula: a.formula, target: a.target, baselines, randomCount: a.randomCount, randomSeed: a.randomSeed,
      ...(a.topK > 1 ? { topK: a.topK } : {}),
      ...(a.rule !== 'left' ? { rule: a.rule } : {}),
    },
  };
  return { key: settingsKey(body), ...body };
}

/** The analyze options a settings block was made with (for a report that reruns passes). */
export function analyzeOptionsOf(s: BatchSettings): AnalyzeOptions {
  const a = s.analyze;
  return { steps: a.steps, rule: a.rule, formula: a.formula as AnalyzeOptions['formula'], target: a.target, baselines: a.baselines, randomCount: a.randomCount || undefined, randomSeed: a.randomSeed, topK: a.topK };
}

export const isError = (line: BatchLine): line is BatchError => line.schema === ERROR_SCHEMA;

/** What tells a line's image apart from others: its path, or its bytes where its name is not UTF-8. */
export const lineImageKey = (l: { schema: string; image: string | RecordedPath; imageBase64?: string }): string =>
  (typeof l.image === 'string' ? pathKey({ path: l.image, pathBase64: l.imageBase64 }) : pathKey(l.image));

/** The same key for an image a folder scan found (absolute). */
export const itemKey = (item: { image: string; imageBase64?: string }): string => pathKey({ path: item.image, pathBase64: item.imageBase64 });

/** The resume key of an image: its path, its content and the settings it was analysed with. */
export const doneKey = (image: string, sha256: string | null, settingsKey: string) => `${image}\u0000${sha256 ?? ''}\u0000${settingsKey}`;

export interface ReadResult {
  lines: BatchLine[];
  skipped: { line: number; reason: string }[];   // unparsable or foreign lines, 1-based
  endsWithNewline: boolean;
}

/** Lines already in memory; each checked for the shape of a record of `kind` (see resultFile.ts; default: analyses). */
export function parseLines(text: string, kind?: RecordKind): ReadResult {
  return parseResultText(text, { kind });
}

/** A whole result file, read in chunks (any size); prefer the async readResultFile. */
export function readLines(file: string, kind?: RecordKind): ReadResult {
  return readResultFileSync(file, { kind });
}

/** The analysed images of a file (error lines and, for a re-analysed image, all but its last record dropped). */
export function recordsOf(lines: BatchLine[]): BatchRecord[] {
  const last = new Map<string, BatchRecord>();
  for (const l of lines) if (!isError(l)) last.set(doneKey(lineImageKey(l), l.image.sha256, l.batch?.key ?? ''), l);
  return [...last.values()];
}
