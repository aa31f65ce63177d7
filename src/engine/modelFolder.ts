// A model is a folder, read like transformers.js reads one: the ONNX file, preprocessor_config.json
// and config.json (id2label) or labels.txt beside it. Every field has a default; user settings win.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PreprocessOverrides, ResizeMode } from './api';

export const FILES = { preprocessor: 'preprocessor_config.json', config: 'config.json', labels: 'labels.txt' };

export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
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

function readJson(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON (${(e as Error).message}); fix or remove it.`);
  }
}

const RESAMPLE: Record<number, ResizeMode> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

function sizeOf(v: unknown): { hw?: [number, number]; shortest?: number } {
  if (typeof v === 'number') return { hw: [v, v] };
  if (v && typeof v === 'object') {
    const o = v as Record<string, number>;
    if (o.height && o.width) return { hw: [o.height, o.width] };
    if (o.shortest_edge) return { shortest: o.shortest_edge };
  }
  return {};
}

export function readPreprocessing(modelPath: string, overrides: PreprocessOverrides = {}): Preprocessing {
  const cfg = readJson(path.join(path.dirname(modelPath), FILES.preprocessor)) ?? {};
  const size = sizeOf(cfg.size);
  const doNormalize = cfg.do_normalize !== false;
  const doRescale = cfg.do_rescale !== false;
  const crop = cfg.do_center_crop ? sizeOf(cfg.crop_size).hw : undefined;
  const p: Preprocessing = {
    size: overrides.size ?? (cfg.do_resize === false ? undefined : size.hw),
    shortestEdge: overrides.size ? undefined : size.shortest,
    crop: overrides.size ? undefined : crop,
    resize: overrides.resize ?? RESAMPLE[Number(cfg.resample ?? 2)] ?? 'bilinear',
    rescale: doRescale ? Number(cfg.rescale_factor ?? 1 / 255) : 1,
    mean: overrides.mean ?? (doNormalize ? (cfg.image_mean as number[] | undefined) ?? [0.5, 0.5, 0.5] : [0, 0, 0]),
    std: overrides.std ?? (doNormalize ? (cfg.image_std as number[] | undefined) ?? [0.5, 0.5, 0.5] : [1, 1, 1]),
  };
  for (const [name, v] of [['mean', p.mean], ['std', p.std]] as const) {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new ConfigError(`preprocessing ${name} must be a list of numbers, got ${JSON.stringify(v)}`);
    }
  }
  if (p.std.some((x) => x === 0)) throw new ConfigError('preprocessing std must not contain 0');
  return p;
}

/** Class names: an explicit labels file, else config.json id2label, else labels.txt, else "class N". */
export function readLabels(modelPath: string, numClasses: number, labelsPath?: string): string[] {
  const names = new Array<string>(numClasses).fill('');
  const dir = path.dirname(modelPath);
  let source: Record<number, string> | string[] | undefined;
  if (labelsPath) {
    if (!fs.existsSync(labelsPath)) {
      throw new ConfigError(`labels file ${labelsPath} does not exist; fix the labels path setting or clear it to use the model folder's labels.`);
    }
    source = labelsPath.endsWith('.json') ? id2label(readJson(labelsPath)) : readLines(labelsPath);
    if (!source) throw new ConfigError(`${labelsPath} has no id2label map; give a config.json with id2label or a labels.txt.`);
  } else {
    source = id2label(readJson(path.join(dir, FILES.config)));
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
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((line, i, all) => line.trim() !== '' || i < all.length - 1);
}
