// Decodes an image with sharp and turns it into the model's pixel tensor [C, H, W] as the model
// folder's preprocessor_config.json describes (resize, center crop, rescale, normalize).
import * as fs from 'node:fs';
import sharp from 'sharp';
import type { Preprocessing } from './modelFolder';

export class ImageError extends Error {
  constructor(message: string) { super(message); this.name = 'ImageError'; }
}

export interface Pixels {
  data: Float32Array;       // [channels, height, width]
  width: number;            // of the original image
  height: number;
}

/** Refuse images whose decoded size would be unreasonable (sharp's own default limit). */
const MAX_PIXELS = 268_402_689;

export async function loadPixels(file: string, prep: Preprocessing, target: { channels: number; height: number; width: number }): Promise<Pixels> {
  if (!fs.existsSync(file)) throw new ImageError(`image ${file} does not exist`);
  // The size is checked against the limit below, from the header, with a message that says so.
  const image = sharp(file, { limitInputPixels: false, failOn: 'error', animated: false });
  let meta: sharp.Metadata;
  try {
    meta = await image.metadata();
  } catch (e) {
    throw new ImageError(`cannot read ${file} as an image (${(e as Error).message}). ` +
      'Supported: PNG, JPEG, WebP, GIF (first frame), TIFF, AVIF.');
  }
  const width = meta.width ?? 0, height = meta.height ?? 0;
  if (!width || !height) throw new ImageError(`${file} has no pixels`);
  if (width * height > MAX_PIXELS) {
    throw new ImageError(`${file} is ${width}x${height} pixels, more than the limit of ${MAX_PIXELS} that is decoded; downscale it first.`);
  }

  const [outH, outW] = prep.crop ?? prep.size ?? [target.height, target.width];
  if (outH !== target.height || outW !== target.width) {
    throw new ImageError(`preprocessing makes ${outH}x${outW} images but the model takes ${target.height}x${target.width}; ` +
      'fix preprocessor_config.json or the size setting.');
  }
  const kernel = prep.resize === 'nearest' ? 'nearest' : prep.resize === 'bicubic' ? 'cubic' : 'linear';
  let [resizedH, resizedW] = prep.size ?? [target.height, target.width];
  if (prep.shortestEdge) {
    const scale = prep.shortestEdge / Math.min(width, height);
    [resizedH, resizedW] = [Math.round(height * scale), Math.round(width * scale)];
  }
  // Center crop without rescaling, as Hugging Face processors do.
  if (resizedH < outH || resizedW < outW) throw new ImageError(`the resized image ${resizedH}x${resizedW} is smaller than the crop ${outH}x${outW}`);
  const top = Math.floor((resizedH - outH) / 2), left = Math.floor((resizedW - outW) / 2);

  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await image.resize(resizedW, resizedH, { kernel, fit: 'fill' }).removeAlpha()
      .toColourspace(target.channels === 1 ? 'b-w' : 'srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError(`cannot decode ${file} (${(e as Error).message}); the file may be truncated or corrupt.`);
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
  return { data: out, width, height };
}
