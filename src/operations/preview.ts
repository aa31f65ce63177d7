// A PNG rendering of an image the webview cannot decode itself (TIFF). Needs no model, so it is
// answered at once, beside the queue. The rendering is the worker process's (sharp, in worker.ts).
import { isIndex, isObject, isString } from '../protocol/guards';
import { imageSubject } from './imageParams';
import { operation } from './operation';

export interface PreviewParams { imagePath: string; maxSize: number }
export interface PreviewResult { dataUri: string; width: number; height: number }

export const preview = operation<PreviewParams, PreviewResult, 'none'>({
  timeoutMs: 60_000,
  progress: 'none',
  queued: false,
  isParams: (v) => isString(v.imagePath) && typeof v.maxSize === 'number' && Number.isFinite(v.maxSize),
  isResult: (v): v is PreviewResult => isObject(v) && isString(v.dataUri) && v.dataUri.startsWith('data:image/')
    && isIndex(v.width) && v.width > 0 && isIndex(v.height) && v.height > 0,
  resultShape: 'a rendering (an image data URI, its width and height)',
  subject: imageSubject,
  failure: { code: 'image-unreadable', message: (p, reason) => `Could not render a preview of ${p.imagePath}: ${reason}.` },
  run: (ctx, p) => ctx.render(p.imagePath, p.maxSize),
});
