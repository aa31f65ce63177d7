// What is done to an image before the model sees it, each value with where it came from (a config
// file's field, the processor's own default, a flag or setting, the model's input shape, or a plain
// default), and the geometry it implies for an image of a given size.

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

export type ResizeSpec =
  | { kind: 'exact'; size: [number, number] }           // to [height, width]
  | { kind: 'shortest'; edge: number }                  // short side to `edge`, long side int(edge * long / short)
  | { kind: 'cover' | 'fit'; size: [number, number] }   // keep the ratio, cover [h, w] or fit inside it (timm's ResizeKeepRatio)
  | { kind: 'none' };

/**
 * Center crop to `size`, padding with `fill` (0..255 per channel) where the image is smaller. The
 * libraries round the offset differently: transformers floors it, torchvision rounds it (half to even).
 */
export interface CropSpec { size: [number, number]; convention: 'transformers' | 'torchvision'; fill: number[] }

export type PrepSource =
  | { from: 'file'; file: string; field: string }          // a field of a config file
  | { from: 'processor'; file: string; processor: string } // the field is absent; the processor fills it with its own default
  | { from: 'override'; field: string }                    // the caller's flag or setting
  | { from: 'model'; field: string }                       // the ONNX input's shape
  | { from: 'default' };                                   // nothing said it: the engine's guess

export interface Sourced<T> { value: T; source: PrepSource }

export interface Preprocessing {
  /** The folders configs were looked for in, nearest the ONNX file first (the last is the model's root). */
  folders: string[];
  /** The config file the values came from, and its kind; null when none was found. */
  config: { file: string; kind: 'transformers' | 'timm' | 'open_clip'; processor: string } | null;
  resize: Sourced<ResizeSpec>;
  interpolation: Sourced<Interpolation>;
  crop: Sourced<CropSpec | null>;
  rescale: Sourced<number>;           // multiply 0..255 values by this
  mean: Sourced<number[]>;
  std: Sourced<number[]>;
}

export const PREP_FIELDS = ['resize', 'interpolation', 'crop', 'rescale', 'mean', 'std'] as const;

/** The fields no config, processor, setting or model gave: what a warning names. */
export function defaultedFields(p: Preprocessing): (typeof PREP_FIELDS)[number][] {
  return PREP_FIELDS.filter((f) => p[f].source.from === 'default');
}

/** How a value is shown in messages. */
function shown(field: (typeof PREP_FIELDS)[number], p: Preprocessing): string {
  switch (field) {
    case 'crop': return p.crop.value ? p.crop.value.size.join('x') : 'none';
    case 'resize': { const r = p.resize.value; return r.kind === 'none' ? 'none' : r.kind === 'shortest' ? `shortest edge ${r.edge}` : `${r.kind} ${r.size.join('x')}`; }
    case 'interpolation': return p.interpolation.value;
    case 'rescale': return p.rescale.value === 1 / 255 ? '1/255' : String(p.rescale.value);
    case 'mean': case 'std': return `[${p[field].value.join(', ')}]`;
  }
}

/**
 * The sentence a warning starts with when some values are defaults, naming them and the file that
 * would give them; front ends add their own flags or settings. Undefined when nothing is a default.
 */
export function describeDefaults(p: Preprocessing): string | undefined {
  const fields = defaultedFields(p);
  if (!fields.length) return undefined;
  const root = p.folders[p.folders.length - 1];
  const where = p.config ? `${p.config.file} does not give them` : `no preprocessor_config.json, timm config.json (pretrained_cfg) or open_clip_config.json in ${p.folders.join(' or ')}`;
  return `preprocessing guesses ${fields.map((f) => `${f} ${shown(f, p)}`).join(', ')} (${where}); the prediction explained may not be the model's. ` +
    `Add the model's preprocessor_config.json (transformers) or config.json with pretrained_cfg (timm) to ${root}`;
}

/** The values alone (not where they came from), as a key: two preprocessings with the same key give the same tensor. */
export function preprocessingKey(p: Preprocessing): string {
  return JSON.stringify(PREP_FIELDS.map((f) => p[f].value));
}

/** The [height, width] of the tensor the preprocessing makes, if it fixes one. */
export function outputSize(p: Preprocessing): [number, number] | undefined {
  const r = p.resize.value;
  return p.crop.value?.size ?? (r.kind === 'exact' || r.kind === 'cover' || r.kind === 'fit' ? r.size : undefined);
}

/** Python's round(): half to even. */
export const pyRound = (x: number): number => {
  const f = Math.floor(x), d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
};

/** The [height, width] an image of `height` x `width` is resized to. */
export function resizedSize(r: ResizeSpec, height: number, width: number): [number, number] {
  switch (r.kind) {
    case 'none': return [height, width];
    case 'exact': return r.size;
    case 'shortest': {
      // transformers' get_resize_output_image_size and torchvision's Resize(int): the long side truncated.
      const long = Math.trunc(r.edge * Math.max(height, width) / Math.min(height, width));
      return height <= width ? [r.edge, long] : [long, r.edge];
    }
    case 'cover':
    case 'fit': {
      const rh = height / r.size[0], rw = width / r.size[1];
      const ratio = r.kind === 'cover' ? Math.min(rh, rw) : Math.max(rh, rw);
      return [pyRound(height / ratio), pyRound(width / ratio)];
    }
  }
}

/**
 * Where the crop window starts in the resized image along one axis (negative: padding before it),
 * as the crop's library computes it.
 */
export function cropStart(size: number, crop: number, convention: CropSpec['convention']): number {
  if (size >= crop) return convention === 'transformers' ? Math.floor((size - crop) / 2) : pyRound((size - crop) / 2);
  // Padding: transformers puts ceil(pad / 2) before the image, torchvision floor(pad / 2).
  return convention === 'transformers' ? -Math.ceil((crop - size) / 2) : -Math.floor((crop - size) / 2);
}
