// A PNG rendering of an image the webview cannot decode itself (TIFF). Needs no model, so it is
// answered at once, beside the queue. The rendering is the worker process's (sharp, in worker.ts).
import { isString } from '../protocol/guards';
import { imageSubject } from './imageParams';
import { operation } from './operation';

export interface PreviewParams { imagePath: string; maxSize: number }
export interface PreviewResult { dataUri: string; width: number; height: number }

export const preview = operation<PreviewParams, PreviewResult, 'none'>({
  timeoutMs: 60_000,
  progress: 'none',
  queued: false,
  isParams: (v) => isString(v.imagePath) && typeof v.maxSize === 'number' && Number.isFinite(v.maxSize),
  subject: imageSubject,
  failure: { code: 'image-unreadable', message: (p, reason) => `Could not render a preview of ${p.imagePath}: ${reason}.` },
  run: (ctx, p) => ctx.render(p.imagePath, p.maxSize),
});
