// EXIF orientation: a camera held sideways stores its sensor's pixels as they are and tags the file
// with the turn (or mirror) that shows them upright. Every viewer applies it, the panel's <img> too,
// so the model must see the image turned the same way, or it explains another picture.
import sharp from 'sharp';
import { readRegular, type FsPath } from './files';

/**
 * The upright image of a decoded one whose EXIF orientation is not 1, as raw pixels in the colour
 * space the model reads. Turned in a pass of its own: sharp would otherwise resize the stored
 * pixels and turn the result, whose rounding differs from resizing the upright image.
 */
export async function uprightImage(image: sharp.Sharp, colourspace: 'b-w' | 'srgb'): Promise<sharp.Sharp> {
  const { data, info } = await image.rotate().toColourspace(colourspace).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
}

/**
 * The EXIF orientation a file declares (1 when none, or when it cannot be read: it is then not a
 * photo to turn, and its analysis says why). For records made before orientation was applied.
 */
export async function declaredOrientation(file: FsPath): Promise<number> {
  try { return (await sharp(readRegular(file, 'image')).metadata()).orientation ?? 1; } catch { return 1; }
}
