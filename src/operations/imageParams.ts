// How an operation on one image names it: the path's text, plus its bytes for a folder scan's name
// that is not UTF-8 (the text form alone would not reopen it).
import { pathRecord, recordedPath, type FsPath } from '../engine/files';
import { isOptional, isString } from '../protocol/guards';

/** `imageBase64`: the path's bytes, for a name that is not UTF-8 (`imagePath` is then its text form). */
export interface ImageParams { imagePath: string; imageBase64?: string }

export function imageParams(image: FsPath): ImageParams {
  const { path: imagePath, pathBase64: imageBase64 } = pathRecord(image);
  return { imagePath, ...(imageBase64 !== undefined ? { imageBase64 } : {}) };
}

export const isImageParams = (v: Record<string, unknown>): boolean =>
  isString(v.imagePath) && v.imagePath.length > 0 && isOptional(v.imageBase64, isString);

/** The image to open: its bytes where the name is not UTF-8. */
export const imageOf = (p: ImageParams): FsPath => recordedPath({ path: p.imagePath, pathBase64: p.imageBase64 });

export const imageSubject = (p: ImageParams): string => `the image ${p.imagePath}`;
