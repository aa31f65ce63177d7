// Decodes an image with sharp and turns it into the model's pixel tensor [C, H, W] as the model
// folder's preprocessor_config.json describes (resize, center crop, rescale, normalize).
import sharp from 'sharp';
import { EngineError, type ErrorFacts } from './errors';
import { pathText, readRegular, type FsPath } from './files';
import type { Preprocessing } from './modelFolder';
import { uprightImage } from './orientation';

export class ImageError extends EngineError {
  constructor(message: string, facts: ErrorFacts = {}) { super('image', message, facts); this.name = 'ImageError'; }
}

export interface Pixels {
  data: Float32Array;       // [channels, height, width]
  width: number;            // of the original image, upright (after its EXIF orientation)
  height: number;
  orientation: number;      // the EXIF orientation applied (1..8; 1: none or upright)
}

/** Refuse images whose decoded size would be unreasonable (sharp's own default limit). */
const MAX_PIXELS = 268_402_689;
/** The most pixels an image is resized to before the crop (4096 x 4096): the resize costs memory and time in proportion. */
const MAX_RESIZED_PIXELS = 4096 * 4096;

export async function loadPixels(fsPath: FsPath, prep: Preprocessing, target: { channels: number; height: number; width: number }): Promise<Pixels> {
  // Read here, not by sharp: only a regular file is opened (a FIFO would block sharp's open forever).
  const bytes = readRegular(fsPath, 'image');
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

  const [outH, outW] = prep.crop ?? prep.size ?? [target.height, target.width];
  if (outH !== target.height || outW !== target.width) {
    throw new EngineError('preprocessing', `preprocessing makes ${outH}x${outW} images but the model takes ${target.height}x${target.width}`,
      { field: prep.crop ? 'crop_size' : 'size' });
  }
  const kernel = prep.resize === 'nearest' ? 'nearest' : prep.resize === 'bicubic' ? 'cubic' : 'linear';
  let [resizedH, resizedW] = prep.size ?? [target.height, target.width];
  if (prep.shortestEdge) {
    const scale = prep.shortestEdge / Math.min(width, height);
    [resizedH, resizedW] = [Math.round(height * scale), Math.round(width * scale)];
  }
  // Center crop without rescaling, as Hugging Face processors do.
  if (resizedH < outH || resizedW < outW) throw new ImageError(`the resized image ${resizedH}x${resizedW} is smaller than the crop ${outH}x${outW}`, { file });
  if (resizedH * resizedW > MAX_RESIZED_PIXELS) {
    throw new ImageError(`${file} (${width}x${height}) would be resized to ${resizedW}x${resizedH}, more than the ${MAX_RESIZED_PIXELS} pixels ` +
      'an image is resized to; its aspect ratio is too extreme for a shortest-edge resize', { file, field: 'size.shortest_edge' });
  }
  const top = Math.floor((resizedH - outH) / 2), left = Math.floor((resizedW - outW) / 2);

  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await image.resize(resizedW, resizedH, { kernel, fit: 'fill' }).removeAlpha()
      .toColourspace(colourspace).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw decodeError(file, e);
  }
  const { data, info } = raw;
  const C = target.channels, plane = outH * outW;
  const out = new Float32Array(C * plane);
  for (let c = 0; c < C; c++) {
    const src = Math.min(c, info.channels - 1);
    const mean = prep.mean[c % prep.mean.length], std = prep.std[c % prep.std.length];
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        const v = data[((y + top) * info.width + x + left) * info.channels + src];
        out[c * plane + y * outW + x] = (v * prep.rescale - mean) / std;
      }
    }
  }
  // Finite settings can still overflow float32 (a huge mean over a tiny std): never pass that on.
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new EngineError('preprocessing', `preprocessing turns pixel values of ${file} into ${out[bad]} (rescale ${prep.rescale}, ` +
      `mean ${JSON.stringify(prep.mean)}, std ${JSON.stringify(prep.std)}): the values leave float32's range`, { file, field: 'image_mean/image_std' });
  }
  return { data: out, width, height, orientation };
}

const decodeError = (file: string, e: unknown) =>
  new ImageError(`cannot decode ${file} (${(e as Error).message}); the file may be truncated or corrupt.`, { file });
