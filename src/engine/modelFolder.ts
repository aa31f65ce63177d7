// The configs of a model folder (see modelLocation.ts for which folders): preprocessing from
// Hugging Face's preprocessor_config.json, timm's config.json (pretrained_cfg) or open_clip's
// open_clip_config.json, as each library's eval transform reads them; class names from config.json
// (id2label, timm's label_names) or labels.txt. User settings win; what nothing gave is marked a default.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PreprocessOverrides } from './api';
import { EngineError, type ErrorFacts } from './errors';
import { readRegular } from './files';
import { placeholderName, type ClassNameSource } from './classNames';
import type { ModelLocation } from './modelLocation';
import type { CropSpec, Interpolation, Preprocessing, PrepSource, ResizeSpec, Sourced } from './preprocessing';

export const FILES = { preprocessor: 'preprocessor_config.json', config: 'config.json', openClip: 'open_clip_config.json', labels: 'labels.txt' };

/** Preprocessing settings or a labels file that cannot be used; facts name the file and field. */
export class ConfigError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}, code: 'preprocessing' | 'labels' = 'preprocessing') { super(code, message, facts); this.name = 'ConfigError'; }
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

/** PIL's resampling codes, as preprocessor_config.json writes them. */
const RESAMPLE: Interpolation[] = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];
const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'];

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

  /**
   * `size`/`crop_size`: a number (a square, or the shortest edge when `squareInt` is false, as the
   * processor's get_size_dict reads it), {height, width}, [height, width] or {shortest_edge}.
   */
  size(field: string, v: unknown, squareInt: boolean): ResizeSpec | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') {
      return squareInt ? { kind: 'exact', size: [this.side(field, v), this.side(field, v)] } : { kind: 'shortest', edge: this.side(field, v, PREPROCESS_BOUNDS.shortestEdge) };
    }
    if (typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (o.height !== undefined || o.width !== undefined) return { kind: 'exact', size: [this.side(`${field}.height`, o.height), this.side(`${field}.width`, o.width)] };
      if (o.shortest_edge !== undefined) return { kind: 'shortest', edge: this.side(`${field}.shortest_edge`, o.shortest_edge, PREPROCESS_BOUNDS.shortestEdge) };
    }
    if (Array.isArray(v) && v.length === 2) return { kind: 'exact', size: [this.side(`${field}[0]`, v[0]), this.side(`${field}[1]`, v[1])] };
    return this.fail(field, 'a number, {"height", "width"} or {"shortest_edge"}', v);
  }

  /** crop_pct: the share of the resized image the crop keeps (timm allows a little over 1). */
  fraction(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0.1 || v > 2) this.fail(field, 'a number above 0.1 and at most 2', v);
    return v;
  }

  rescale(field: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) this.fail(field, 'a number above 0 and at most 1', v);
    return v;
  }

  oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `one of ${allowed.join(', ')}`, v);
    return v as T;
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

/** The nearest of the model's folders holding `name` whose JSON passes `accept`. */
function findConfig(loc: ModelLocation, name: string, accept: (cfg: Record<string, unknown>) => boolean = () => true): { file: string; cfg: Record<string, unknown> } | undefined {
  for (const dir of loc.dirs) {
    const file = path.join(dir, name);
    const cfg = readJson(file, name === FILES.config ? 'labels' : 'preprocessor');
    if (cfg && accept(cfg)) return { file, cfg };
  }
  return undefined;
}

const STANDARD = [0.5, 0.5, 0.5];
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const OPENAI_CLIP = { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };

/** What an HF image processor does with fields its config leaves out (its __init__ defaults). */
interface HfProcessor {
  size: ResizeSpec;
  /** How a bare number `size` is read: a square, or the shortest edge (get_size_dict's default_to_square). */
  squareInt: boolean;
  resample: number;
  crop: [number, number] | null;
  mean: number[]; std: number[];
  /** ConvNeXt: below 384 the short side goes to int(size / crop_pct), then a size x size crop; else a warp to size x size. */
  cropPct?: number;
}
const DEIT: HfProcessor = { size: { kind: 'exact', size: [256, 256] }, squareInt: true, resample: 3, crop: [224, 224], mean: STANDARD, std: STANDARD };
const CLIP: HfProcessor = { size: { kind: 'shortest', edge: 224 }, squareInt: false, resample: 3, crop: [224, 224], ...OPENAI_CLIP };
const HF_PROCESSORS: Record<string, HfProcessor> = {
  ViTImageProcessor: { size: { kind: 'exact', size: [224, 224] }, squareInt: true, resample: 2, crop: null, mean: STANDARD, std: STANDARD },
  DeiTImageProcessor: DEIT,
  BeitImageProcessor: DEIT,
  CLIPImageProcessor: CLIP,
  BitImageProcessor: CLIP,          // DINOv2 and BiT
  ViTHybridImageProcessor: CLIP,
  SiglipImageProcessor: { size: { kind: 'exact', size: [224, 224] }, squareInt: true, resample: 3, crop: null, mean: STANDARD, std: STANDARD },
  ConvNextImageProcessor: { size: { kind: 'shortest', edge: 384 }, squareInt: false, resample: 3, crop: null, mean: STANDARD, std: STANDARD, cropPct: 224 / 256 },
};

/** The processor class a config names, as its slow (PIL) processor: feature extractors and fast processors read the same fields. */
function processorName(cfg: Record<string, unknown>): string | undefined {
  const raw = cfg.image_processor_type ?? cfg.feature_extractor_type;
  return typeof raw === 'string' ? raw.replace(/Fast$/, '').replace(/FeatureExtractor$/, 'ImageProcessor') : undefined;
}

/** Values of one config file, each with its source: the field, the processor's default, or a plain default. */
class Sourcing {
  constructor(readonly file: string, readonly processor: string | undefined) {}
  field<T>(value: T, field: string): Sourced<T> { return { value, source: { from: 'file', file: this.file, field } }; }
  absent<T>(value: T): Sourced<T> {
    return { value, source: this.processor ? { from: 'processor', file: this.file, processor: this.processor } : { from: 'default' } };
  }
}

function fromTransformers(file: string, cfg: Record<string, unknown>): Omit<Preprocessing, 'folders'> {
  const name = processorName(cfg);
  const known = name !== undefined ? HF_PROCESSORS[name] : undefined;
  const f = new Fields(file), s = new Sourcing(file, known ? name : undefined);
  const p = known ?? { size: { kind: 'none' } as ResizeSpec, squareInt: true, resample: 2, crop: null, mean: STANDARD, std: STANDARD };
  const has = (k: string) => cfg[k] !== undefined && cfg[k] !== null;
  const flag = (k: string, fallback: boolean): Sourced<boolean> => (has(k) ? s.field(f.bool(k, cfg[k], fallback), k) : s.absent(fallback));

  const sized = f.size('size', cfg.size, p.squareInt);
  let resize: Sourced<ResizeSpec> = sized ? s.field(sized, 'size') : s.absent(p.size);
  const doResize = flag('do_resize', true);
  if (!doResize.value) resize = { value: { kind: 'none' }, source: doResize.source };

  const doCrop = flag('do_center_crop', p.crop !== null);
  const cropSize = f.size('crop_size', cfg.crop_size, true);
  if (cropSize && cropSize.kind !== 'exact') f.fail('crop_size', 'a number or {"height", "width"}', cfg.crop_size);
  const cropOf = (size: [number, number]): CropSpec => ({ size, convention: 'transformers', fill: [0, 0, 0] });
  let crop: Sourced<CropSpec | null> = !doCrop.value ? { value: null, source: doCrop.source }
    : cropSize?.kind === 'exact' ? s.field(cropOf(cropSize.size), 'crop_size')
      : p.crop ? s.absent(cropOf(p.crop)) : { value: null, source: { from: 'default' } };

  if (p.cropPct !== undefined && doResize.value) {
    // ConvNextImageProcessor.resize: crop_pct replaces the center-crop settings.
    const r = resize.value;
    if (r.kind !== 'shortest') return f.fail('size', 'a {"shortest_edge"} size for ConvNextImageProcessor', cfg.size);
    const pct = has('crop_pct') ? s.field(f.fraction('crop_pct', cfg.crop_pct), 'crop_pct') : s.absent(p.cropPct);
    const source = resize.source;
    if (r.edge < 384) {
      resize = { value: { kind: 'shortest', edge: Math.trunc(r.edge / pct.value) }, source: pct.source.from === 'file' ? pct.source : source };
      crop = { value: cropOf([r.edge, r.edge]), source };
    } else {
      resize = { value: { kind: 'exact', size: [r.edge, r.edge] }, source };
      crop = { value: null, source };
    }
  }

  let interpolation: Sourced<Interpolation>;
  if (has('resample')) {
    const code = cfg.resample;
    if (typeof code !== 'number' || !Number.isInteger(code) || !RESAMPLE[code]) f.fail('resample', 'a PIL resampling code (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)', code);
    interpolation = s.field(RESAMPLE[code as number], 'resample');
  } else interpolation = s.absent(RESAMPLE[p.resample]);

  const doRescale = flag('do_rescale', true);
  const rescale: Sourced<number> = !doRescale.value ? { value: 1, source: doRescale.source }
    : has('rescale_factor') ? s.field(f.rescale('rescale_factor', cfg.rescale_factor), 'rescale_factor') : s.absent(1 / 255);
  const doNormalize = flag('do_normalize', true);
  const stat = (k: 'image_mean' | 'image_std', fallback: number[], identity: number[]): Sourced<number[]> => (!doNormalize.value ? { value: identity, source: doNormalize.source }
    : has(k) ? s.field(k === 'image_mean' ? f.mean(k, perChannel(cfg[k])) : f.std(k, perChannel(cfg[k])), k) : s.absent(fallback));
  return {
    config: { file, kind: 'transformers', processor: name ?? 'unnamed image processor' },
    resize, interpolation, crop, rescale, mean: stat('image_mean', p.mean, [0, 0, 0]), std: stat('image_std', p.std, [1, 1, 1]),
  };
}

/** transformers and open_clip accept one number for all channels. */
const perChannel = (v: unknown): unknown => (typeof v === 'number' ? [v, v, v] : v);

/**
 * timm's eval transform (transforms_factory.transforms_imagenet_eval) from a hub config.json's
 * pretrained_cfg, with resolve_data_config's defaults for what it leaves out.
 */
function fromTimm(file: string, cfg: Record<string, unknown>): Omit<Preprocessing, 'folders'> {
  const pc = cfg.pretrained_cfg as Record<string, unknown>;
  const f = new Fields(file), s = new Sourcing(file, 'timm');
  const at = (k: string) => `pretrained_cfg.${k}`;
  const has = (k: string) => pc[k] !== undefined && pc[k] !== null;
  let size: Sourced<[number, number]> = s.absent([224, 224]);
  if (has('input_size')) {
    const v = pc.input_size;
    if (!Array.isArray(v) || v.length !== 3) return f.fail(at('input_size'), '[channels, height, width]', v);
    size = s.field([f.side(`${at('input_size')}[1]`, v[1]), f.side(`${at('input_size')}[2]`, v[2])], at('input_size'));
  }
  let interpolation: Sourced<Interpolation> = s.absent('bicubic');
  if (has('interpolation')) interpolation = s.field(f.oneOf(at('interpolation'), pc.interpolation, INTERPOLATIONS), at('interpolation'));
  const pct = has('crop_pct') ? s.field(f.fraction(at('crop_pct'), pc.crop_pct), at('crop_pct')) : s.absent(0.875);
  const mode = has('crop_mode') ? s.field(f.oneOf(at('crop_mode'), pc.crop_mode, ['center', 'squash', 'border'] as const), at('crop_mode')) : s.absent('center' as const);
  const mean = has('mean') ? s.field(f.mean(at('mean'), pc.mean), at('mean')) : s.absent(IMAGENET.mean);
  const std = has('std') ? s.field(f.std(at('std'), pc.std), at('std')) : s.absent(IMAGENET.std);

  const [h, w] = size.value;
  const scale: [number, number] = [Math.floor(h / pct.value), Math.floor(w / pct.value)];
  // The resize is decided by the size, crop_pct and crop_mode together: the first of them from the file names it.
  const geometry = [size, pct, mode].find((v) => v.source.from === 'file')?.source ?? size.source;
  const crop = (fill: number[]): Sourced<CropSpec> => ({ value: { size: [h, w], convention: 'torchvision', fill }, source: geometry });
  let resize: ResizeSpec;
  let fill = [0, 0, 0];
  if (mode.value === 'squash') resize = { kind: 'exact', size: scale };
  else if (mode.value === 'border') { resize = { kind: 'fit', size: scale }; fill = mean.value.map((m) => Math.round(255 * m)); }
  else if (scale[0] === scale[1]) resize = { kind: 'shortest', edge: scale[0] };
  else {
    resize = { kind: 'cover', size: scale };
    // timm builds this ResizeKeepRatio without the configured interpolation: it resizes bilinearly.
    interpolation = { value: 'bilinear', source: geometry };
  }
  return {
    config: { file, kind: 'timm', processor: 'timm eval transform' },
    resize: { value: resize, source: geometry }, interpolation, crop: crop(fill),
    rescale: s.absent(1 / 255), mean, std,
  };
}

/** open_clip's eval image_transform from open_clip_config.json (preprocess_cfg, model_cfg.vision_cfg.image_size). */
function fromOpenClip(file: string, cfg: Record<string, unknown>): Omit<Preprocessing, 'folders'> {
  const pc = (cfg.preprocess_cfg ?? {}) as Record<string, unknown>;
  const vision = ((cfg.model_cfg as Record<string, unknown> | undefined)?.vision_cfg ?? {}) as Record<string, unknown>;
  const f = new Fields(file), s = new Sourcing(file, 'open_clip');
  const has = (k: string) => pc[k] !== undefined && pc[k] !== null;
  const sizeField = vision.image_size !== undefined ? 'model_cfg.vision_cfg.image_size' : has('size') ? 'preprocess_cfg.size' : undefined;
  const sized = sizeField ? f.size(sizeField, sizeField.startsWith('model') ? vision.image_size : pc.size, true) : undefined;
  if (sized && sized.kind !== 'exact') f.fail(sizeField!, 'a number or [height, width]', vision.image_size ?? pc.size);
  const size: Sourced<[number, number]> = sized?.kind === 'exact' ? s.field(sized.size, sizeField!) : s.absent([224, 224]);
  const interp = has('interpolation') ? f.oneOf('preprocess_cfg.interpolation', pc.interpolation, ['bicubic', 'bilinear', 'random'] as const) : 'bicubic';
  // open_clip resizes bilinearly only when told so ('random' means bicubic at inference).
  const interpolation: Sourced<Interpolation> = has('interpolation') ? s.field(interp === 'bilinear' ? 'bilinear' : 'bicubic', 'preprocess_cfg.interpolation') : s.absent('bicubic');
  const mode = has('resize_mode') ? s.field(f.oneOf('preprocess_cfg.resize_mode', pc.resize_mode, ['shortest', 'longest', 'squash'] as const), 'preprocess_cfg.resize_mode') : s.absent('shortest' as const);
  const fillValue = has('fill_color') ? f.side('preprocess_cfg.fill_color', Number(pc.fill_color) + 1, 256) - 1 : 0;
  const mean = has('mean') ? s.field(f.mean('preprocess_cfg.mean', perChannel(pc.mean)), 'preprocess_cfg.mean') : s.absent(OPENAI_CLIP.mean);
  const std = has('std') ? s.field(f.std('preprocess_cfg.std', perChannel(pc.std)), 'preprocess_cfg.std') : s.absent(OPENAI_CLIP.std);
  const [h, w] = size.value;
  const geometry = [size, mode].find((v) => v.source.from === 'file')?.source ?? size.source;
  let resize: ResizeSpec, crop: CropSpec | null = { size: [h, w], convention: 'torchvision', fill: [0, 0, 0] };
  if (mode.value === 'squash') { resize = { kind: 'exact', size: [h, w] }; crop = null; }
  else if (mode.value === 'longest') { resize = { kind: 'fit', size: [h, w] }; crop = { ...crop, fill: [fillValue, fillValue, fillValue] }; }
  else resize = h === w ? { kind: 'shortest', edge: h } : { kind: 'cover', size: [h, w] };
  return {
    config: { file, kind: 'open_clip', processor: 'open_clip eval transform' },
    resize: { value: resize, source: geometry }, interpolation, crop: { value: crop, source: geometry },
    rescale: s.absent(1 / 255), mean, std,
  };
}

/** Nothing describes the preprocessing: the model's input size, and guesses the warnings name. */
function unconfigured(): Omit<Preprocessing, 'folders'> {
  const guess = <T>(value: T): Sourced<T> => ({ value, source: { from: 'default' } });
  return {
    config: null, resize: { value: { kind: 'none' }, source: { from: 'default' } }, interpolation: guess('bilinear'), crop: guess(null),
    rescale: guess(1 / 255), mean: guess(STANDARD), std: guess(STANDARD),
  };
}

/**
 * The preprocessing of the model at `loc`: the nearest preprocessor_config.json, else a timm
 * config.json with pretrained_cfg, else open_clip_config.json; then the caller's overrides.
 */
export function readPreprocessing(loc: ModelLocation, overrides: PreprocessOverrides = {}): Preprocessing {
  const hf = findConfig(loc, FILES.preprocessor);
  const timm = hf ? undefined : findConfig(loc, FILES.config, (c) => !!c.pretrained_cfg && typeof c.pretrained_cfg === 'object' && !Array.isArray(c.pretrained_cfg));
  const clip = hf || timm ? undefined : findConfig(loc, FILES.openClip);
  const prep: Preprocessing = { folders: loc.dirs, ...(hf ? fromTransformers(hf.file, hf.cfg) : timm ? fromTimm(timm.file, timm.cfg) : clip ? fromOpenClip(clip.file, clip.cfg) : unconfigured()) };
  const o = new Fields(OVERRIDES);
  const by = (field: string): PrepSource => ({ from: 'override', field });
  if (overrides.size) {
    const sized = o.size('size', overrides.size, true);
    if (sized?.kind === 'exact') { prep.resize = { value: sized, source: by('size') }; prep.crop = { value: null, source: by('size') }; }
  }
  if (overrides.resize) prep.interpolation = { value: overrides.resize, source: by('resize') };
  if (overrides.mean) prep.mean = { value: o.mean('mean', overrides.mean), source: by('mean') };
  if (overrides.std) prep.std = { value: o.std('std', overrides.std), source: by('std') };
  return prep;
}

/** With no size from any config, images are resized to the model's input size (its ONNX input shape). */
export function fitToModel(prep: Preprocessing, input: { name: string; height: number; width: number }): Preprocessing {
  if (prep.resize.value.kind !== 'none' || prep.resize.source.from !== 'default') return prep;
  return { ...prep, resize: { value: { kind: 'exact', size: [input.height, input.width] }, source: { from: 'model', field: `${input.name} shape` } } };
}

/**
 * Class names: an explicit labels file, else the nearest config.json with id2label (transformers)
 * or label_names (timm), else labels.txt, else "class N" (counted in `source`, for the warnings).
 */
export function readLabels(loc: ModelLocation, numClasses: number, labelsPath?: string): { names: string[]; source: ClassNameSource } {
  const names = new Array<string>(numClasses).fill('');
  let source: Record<number, string> | string[] | undefined;
  let file: string | undefined;
  if (labelsPath) {
    if (!fs.existsSync(labelsPath)) throw new ConfigError(`labels file ${labelsPath} does not exist`, { file: labelsPath, role: 'labels' }, 'labels');
    source = labelsPath.endsWith('.json') ? classNames(readJson(labelsPath, 'labels')) : readLines(labelsPath);
    if (!source) throw new ConfigError(`${labelsPath} has no id2label map or label_names list (a config.json with either, or a labels.txt, is read)`, { file: labelsPath, role: 'labels' }, 'labels');
    file = labelsPath;
  } else {
    const config = findConfig(loc, FILES.config, (c) => classNames(c) !== undefined);
    source = classNames(config?.cfg);
    file = config?.file;
    const txt = loc.dirs.map((d) => path.join(d, FILES.labels)).find((f) => fs.existsSync(f));
    if (!source && txt) [source, file] = [readLines(txt), txt];
  }
  let defaulted = 0;
  for (let i = 0; i < numClasses; i++) {
    const v = Array.isArray(source) ? source[i] : source?.[i];
    if (v && String(v).trim()) names[i] = String(v).trim();
    else [names[i], defaulted] = [placeholderName(i), defaulted + 1];
  }
  return { names, source: { ...(file ? { file } : {}), defaulted, folders: loc.dirs } };
}

/** transformers' id2label, or timm's label_names (a list, or a map like id2label). */
function classNames(cfg: Record<string, unknown> | undefined): Record<number, string> | string[] | undefined {
  const names = cfg?.label_names;
  if (Array.isArray(names)) return names.map(String);
  const map = (cfg?.id2label ?? (names && typeof names === 'object' ? names : undefined)) as Record<string, string> | undefined;
  if (!map || typeof map !== 'object') return undefined;
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [Number(k), v]));
}

function readLines(file: string): string[] {
  return readRegular(file, 'labels').toString('utf8').split(/\r?\n/).filter((line, i, all) => line.trim() !== '' || i < all.length - 1);
}
