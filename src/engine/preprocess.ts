// Decodes an image with sharp and turns it into the model's pixel tensor [C, H, W] as the model's
// preprocessing describes (resize as Pillow does, center crop or pad, rescale, normalize).
import sharp from 'sharp';
import { EngineError, type ErrorFacts } from './errors';
import { pathText, readRegular, type FsPath } from './files';
import { uprightImage } from './orientation';
import { cropStart, resizedSize, type Preprocessing } from './preprocessing';
import { resize, type Raster } from './resample';
import type { InputWindow } from './result';

export class ImageError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}) { super('image', message, facts); this.name = 'ImageError'; }
}

export interface Pixels {
  data: Float32Array;       // [channels, height, width]
  width: number;            // of the original image, upright (after its EXIF orientation)
  height: number;
  shown: Raster;            // what the model is shown: the image after resize and crop, before rescaling (8-bit, interleaved)
  window: InputWindow;      // where `shown` lies in the resized image
  orientation: number;      // the EXIF orientation applied (1..8; 1: none or upright)
}

/** Refuse images whose decoded size would be unreasonable (sharp's own default limit). */
const MAX_PIXELS = 268_402_689;
/** The most pixels an image is resized to before the crop (4096 x 4096): the resize costs memory and time in proportion. */
const MAX_RESIZED_PIXELS = 4096 * 4096;

/** The model's input an image is made into. */
type ImageTarget = { channels: number; height: number; width: number };

export async function loadPixels(fsPath: FsPath, prep: Preprocessing, target: ImageTarget): Promise<Pixels> {
  // Read here, not by sharp: only a regular file is opened (a FIFO would block sharp's open forever).
  return await decodePixels(readRegular(fsPath, 'image'), fsPath, prep, target);
}

/** The pixel tensor of an image file's bytes, read from `fsPath` (named in errors). */
export async function decodePixels(bytes: Buffer, fsPath: FsPath, prep: Preprocessing, target: ImageTarget): Promise<Pixels> {
  const file = pathText(fsPath);
  if (!bytes.length) throw new ImageError(`${file} is empty (0 bytes): not an image`, { file });
  // The size is checked against the limit below, from the header, with a message that says so.
  let image = sharp(bytes, { limitInputPixels: false, failOn: 'error', animated: false });
  let meta: sharp.Metadata;
  try {
    meta = await image.metadata();
  } catch (e) {
    throw new ImageError(`cannot read ${file} as an image (${(e as Error).message}). ` +
      'Supported: PNG, JPEG, WebP, GIF (first frame), TIFF, AVIF.', { file });
  }
  // The size upright: after the EXIF orientation (width and height swapped for 5..8).
  const orientation = meta.orientation ?? 1;
  const { width, height } = meta.autoOrient;
  if (!width || !height) throw new ImageError(`${file} has no pixels`, { file });
  if (width * height > MAX_PIXELS) {
    throw new ImageError(`${file} is ${width}x${height} pixels, more than the limit of ${MAX_PIXELS} that is decoded; downscale it first.`, { file });
  }
  const colourspace = target.channels === 1 ? 'b-w' : 'srgb';
  if (orientation !== 1) {
    try { image = await uprightImage(image, colourspace); } catch (e) { throw decodeError(file, e); }
  }

  const plan = geometry(prep, width, height, target, file);
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await image.removeAlpha().toColourspace(colourspace).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(file, e);
  }
  const { data, info } = decoded;
  const resized = resize({ data, width: info.width, height: info.height, channels: info.channels }, plan.resized[1], plan.resized[0], prep.interpolation.value);
  const shown = cropRaster(resized, plan);
  const C = target.channels, [outH, outW] = plan.out, plane = outH * outW;
  const rescale = prep.rescale.value, meanOf = prep.mean.value, stdOf = prep.std.value;
  // PREPROCESS_BOUNDS keep every value finite in float32: |x| <= (255 + 1e3) / 1e-6.
  const out = new Float32Array(C * plane);
  for (let c = 0; c < C; c++) {
    const src = Math.min(c, shown.channels - 1);
    const mean = meanOf[c % meanOf.length], std = stdOf[c % stdOf.length];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (shown.data[i * shown.channels + src] * rescale - mean) / std;
  }
  return { data: out, width, height, orientation, shown, window: { resized: plan.resized, top: plan.top, left: plan.left, size: plan.out } };
}

interface Plan { resized: [number, number]; out: [number, number]; top: number; left: number; fill: number[] }

/** The resize and the crop window for an image of width x height, checked against the model's input. */
function geometry(prep: Preprocessing, width: number, height: number, target: { height: number; width: number }, file: string): Plan {
  const crop = prep.crop.value;
  const resized = resizedSize(prep.resize.value, height, width);
  const out = crop?.size ?? resized;
  if (out[0] !== target.height || out[1] !== target.width) {
    throw new EngineError('preprocessing', `preprocessing makes ${out[0]}x${out[1]} images but the model takes ${target.height}x${target.width}`,
      { field: crop ? 'crop_size' : 'size' });
  }
  if (resized[0] < 1 || resized[1] < 1 || resized[0] * resized[1] > MAX_RESIZED_PIXELS) {
    throw new ImageError(`${file} (${width}x${height}) would be resized to ${resized[1]}x${resized[0]}, outside the 1 to ${MAX_RESIZED_PIXELS} pixels ` +
      'an image is resized to; its aspect ratio is too extreme for this resize', { file, field: 'size' });
  }
  if (!crop) return { resized, out, top: 0, left: 0, fill: [] };
  return { resized, out, top: cropStart(resized[0], out[0], crop.convention), left: cropStart(resized[1], out[1], crop.convention), fill: crop.fill };
}

/** The crop window of the resized image; rows and columns outside it (a crop larger than the image) get the fill. */
function cropRaster(src: Raster, plan: Plan): Raster {
  const [h, w] = plan.out, C = src.channels;
  if (plan.top === 0 && plan.left === 0 && h === src.height && w === src.width) return src;
  const out = new Uint8Array(h * w * C);
  for (let y = 0; y < h; y++) {
    const sy = y + plan.top;
    for (let x = 0; x < w; x++) {
      const sx = x + plan.left, inside = sy >= 0 && sy < src.height && sx >= 0 && sx < src.width;
      for (let c = 0; c < C; c++) out[(y * w + x) * C + c] = inside ? src.data[(sy * src.width + sx) * C + c] : plan.fill[c] ?? 0;
    }
  }
  return { data: out, width: w, height: h, channels: C };
}

const decodeError = (file: string, e: unknown) =>
  new ImageError(`cannot decode ${file} (${(e as Error).message}); the file may be truncated or corrupt.`, { file });
