// A model is a folder, read like transformers.js reads one: the ONNX file, preprocessor_config.json
// and config.json (id2label) or labels.txt beside it. Every field has a default; user settings win.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PreprocessOverrides, ResizeMode } from './api';
import { EngineError, type ErrorFacts } from './errors';
import { readRegular } from './files';

export const FILES = { preprocessor: 'preprocessor_config.json', config: 'config.json', labels: 'labels.txt' };

/** Preprocessing settings or a labels file that cannot be used; facts name the file and field. */
export class ConfigError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}, code: 'preprocessing' | 'labels' = 'preprocessing') { super(code, message, facts); this.name = 'ConfigError'; }
}

export interface Preprocessing {
  size: [number, number] | undefined;    // [height, width] after resize (and crop)
  shortestEdge: number | undefined;      // resize so the short side is this, keeping the aspect ratio
  crop: [number, number] | undefined;    // center crop [height, width]
  resize: ResizeMode;
  rescale: number;                       // multiply 0..255 values by this
  mean: number[];
  std: number[];
}

/** The bounds preprocessing settings are held to, wherever they come from. */
export const PREPROCESS_BOUNDS = {
  /** Largest input side: ViT classifiers take 224 to 518; past this, a typo (or a hostile config) costs gigabytes. */
  side: 1024,
  /** Largest resize target of `shortest_edge` (the crop then takes the model's size out of it). */
  shortestEdge: 2048,
  /** |mean| and std: per-channel statistics of values scaled to about 0..1. */
  mean: 1e3,
  std: [1e-6, 1e3] as const,
};

function readJson(file: string, role: 'preprocessor' | 'labels'): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = readRegular(file, role).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON (${(e as Error).message})`, { file, source: file }, role === 'labels' ? 'labels' : 'preprocessing');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${file} does not hold a JSON object`, { file, source: file }, role === 'labels' ? 'labels' : 'preprocessing');
  }
  return value as Record<string, unknown>;
}

const RESAMPLE: Record<number, ResizeMode> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

/** Type-checks the fields of one settings source (a config file or the caller's overrides). */
class Fields {
  constructor(readonly source: string) {}

  fail(field: string, want: string, got: unknown): never {
    const shown = JSON.stringify(got)?.slice(0, 80) ?? String(got);
    // The caller's own options are named by the caller's front end (a flag, a setting): no source prefix.
    throw new ConfigError(`${this.source === OVERRIDES ? 'preprocessing ' : `${this.source}: `}${field} must be ${want}, got ${shown}`, { file: this.source === OVERRIDES ? undefined : this.source, source: this.source, field });
  }

  side(field: string, v: unknown, max = PREPROCESS_BOUNDS.side): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) this.fail(field, `a whole number from 1 to ${max}`, v);
    return v;
  }

  bool(field: string, v: unknown, fallback: boolean): boolean {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(field, 'true or false', v);
    return v;
  }

  /** `size`/`crop_size`: a number, {height, width} or {shortest_edge}. */
  size(field: string, v: unknown): { hw?: [number, number]; shortest?: number } {
    if (v === undefined || v === null) return {};
    if (typeof v === 'number') { const n = this.side(field, v); return { hw: [n, n] }; }
    if (typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (o.height !== undefined || o.width !== undefined) return { hw: [this.side(`${field}.height`, o.height), this.side(`${field}.width`, o.width)] };
      if (o.shortest_edge !== undefined) return { shortest: this.side(`${field}.shortest_edge`, o.shortest_edge, PREPROCESS_BOUNDS.shortestEdge) };
    }
    if (Array.isArray(v) && v.length === 2) return { hw: [this.side(`${field}[0]`, v[0]), this.side(`${field}[1]`, v[1])] };
    return this.fail(field, 'a number, {"height", "width"} or {"shortest_edge"}', v);
  }

  numbers(field: string, v: unknown, ok: (x: number) => boolean, want: string): number[] {
    if (!Array.isArray(v) || v.length === 0 || v.length > 4) this.fail(field, `a list of 1 to 4 numbers, ${want}`, v);
    v.forEach((x, i) => { if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) this.fail(`${field}[${i}]`, `a number ${want}`, x); });
    return v as number[];
  }

  mean(field: string, v: unknown): number[] {
    const m = PREPROCESS_BOUNDS.mean;
    return this.numbers(field, v, (x) => Math.abs(x) <= m, `from -${m} to ${m}`);
  }

  std(field: string, v: unknown): number[] {
    const [lo, hi] = PREPROCESS_BOUNDS.std;
    return this.numbers(field, v, (x) => x >= lo && x <= hi, `from ${lo} to ${hi}`);
  }
}

/** The source name of settings the caller gave (CLI flags, editor settings): front ends word it. */
export const OVERRIDES = 'overrides';

export function readPreprocessing(modelPath: string, overrides: PreprocessOverrides = {}): Preprocessing {
  const file = path.join(path.dirname(modelPath), FILES.preprocessor);
  const cfg = readJson(file, 'preprocessor') ?? {};
  const f: Fields = new Fields(file), o: Fields = new Fields(OVERRIDES);
  const size = f.size('size', cfg.size);
  const doNormalize = f.bool('do_normalize', cfg.do_normalize, true);
  const doRescale = f.bool('do_rescale', cfg.do_rescale, true);
  const doResize = f.bool('do_resize', cfg.do_resize, true);
  const crop = f.bool('do_center_crop', cfg.do_center_crop, false) ? f.size('crop_size', cfg.crop_size).hw : undefined;
  let rescale = 1;
  if (doRescale && cfg.rescale_factor !== undefined) {
    const r = cfg.rescale_factor;
    if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0 || r > 1) f.fail('rescale_factor', 'a number above 0 and at most 1', r);
    rescale = r;
  } else if (doRescale) rescale = 1 / 255;
  if (cfg.resample !== undefined && (typeof cfg.resample !== 'number' || !Number.isInteger(cfg.resample))) f.fail('resample', 'a PIL resampling code (0 nearest, 2 bilinear, 3 bicubic)', cfg.resample);
  const sizeOverride = overrides.size ? o.size('size', overrides.size).hw : undefined;
  return {
    size: sizeOverride ?? (doResize ? size.hw : undefined),
    shortestEdge: sizeOverride ? undefined : size.shortest,
    crop: sizeOverride ? undefined : crop,
    resize: overrides.resize ?? RESAMPLE[Number(cfg.resample ?? 2)] ?? 'bilinear',
    rescale,
    mean: overrides.mean ? o.mean('mean', overrides.mean) : doNormalize ? (cfg.image_mean === undefined ? [0.5, 0.5, 0.5] : f.mean('image_mean', cfg.image_mean)) : [0, 0, 0],
    std: overrides.std ? o.std('std', overrides.std) : doNormalize ? (cfg.image_std === undefined ? [0.5, 0.5, 0.5] : f.std('image_std', cfg.image_std)) : [1, 1, 1],
  };
}

/** Class names: an explicit labels file, else config.json id2label, else labels.txt, else "class N". */
export function readLabels(modelPath: string, numClasses: number, labelsPath?: string): string[] {
  const names = new Array<string>(numClasses).fill('');
  const dir = path.dirname(modelPath);
  let source: Record<number, string> | string[] | undefined;
  if (labelsPath) {
    if (!fs.existsSync(labelsPath)) throw new ConfigError(`labels file ${labelsPath} does not exist`, { file: labelsPath, role: 'labels' }, 'labels');
    source = labelsPath.endsWith('.json') ? id2label(readJson(labelsPath, 'labels')) : readLines(labelsPath);
    if (!source) throw new ConfigError(`${labelsPath} has no id2label map (a config.json with id2label, or a labels.txt, is read)`, { file: labelsPath, role: 'labels' }, 'labels');
  } else {
    source = id2label(readJson(path.join(dir, FILES.config), 'labels'));
    if (!source && fs.existsSync(path.join(dir, FILES.labels))) source = readLines(path.join(dir, FILES.labels));
  }
  for (let i = 0; i < numClasses; i++) {
    const v = Array.isArray(source) ? source[i] : source?.[i];
    names[i] = v && String(v).trim() ? String(v).trim() : `class ${i}`;
  }
  return names;
}

function id2label(cfg: Record<string, unknown> | undefined): Record<number, string> | undefined {
  const map = cfg?.id2label as Record<string, string> | undefined;
  if (!map || typeof map !== 'object') return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [Number(k), v]));
}

function readLines(file: string): string[] {
  return readRegular(file, 'labels').toString('utf8').split(/\r?\n/).filter((line, i, all) => line.trim() !== '' || i < all.length - 1);
}
