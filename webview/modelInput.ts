// What the model was shown: the warning when preprocessing values or class names are guesses, the model's input
// (the image resized and cropped as the engine did it, before normalisation) and where the token
// map lies on the original image.
import { describeDefaultNames } from '../src/engine/classNames';
import { describeDefaults } from '../src/engine/preprocessing';
import type { AnalysisResult, InputWindow } from '../src/engine/result';

/**
 * The banner text for what a record's model folder left to guesses (preprocessing values, class
 * names shown as "class N"), or '' when everything has a source.
 */
export function defaultsBanner(model: AnalysisResult['model'] | undefined): string {
  const prep = model?.preprocessing && describeDefaults(model.preprocessing);
  const names = model && describeDefaultNames(model.classNames, model.numClasses);
  return [
    prep && `${prep}, or set "neuronPath.preprocess.*" in the settings.`,
    names && `${names}, or set "neuronPath.labelsPath" in the settings.`,
  ].filter(Boolean).join(' ');
}

/**
 * Draws the model's input on `canvas` from the loaded image: its geometry is the engine's (the
 * resize, then the crop window, padding filled as the engine fills it); the resampling is the browser's.
 */
export function drawModelInput(canvas: HTMLCanvasElement, image: HTMLImageElement, w: InputWindow, fill: number[] = [0, 0, 0]): boolean {
  const ctx = canvas.getContext('2d');
  if (!ctx || !image.naturalWidth) return false;
  [canvas.height, canvas.width] = w.size;
  ctx.fillStyle = `rgb(${fill[0] ?? 0}, ${fill[1] ?? 0}, ${fill[2] ?? 0})`;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(image, -w.left, -w.top, w.resized[1], w.resized[0]);
  return true;
}

/** The map's box on the original image, in percent of it: the crop window (beyond the image where the input was padded). */
export function mapBox(w: InputWindow | undefined): { left: string; top: string; width: string; height: string } {
  if (!w) return { left: '0%', top: '0%', width: '100%', height: '100%' };
  const pc = (v: number, of: number) => `${(v / of) * 100}%`;
  return { left: pc(w.left, w.resized[1]), top: pc(w.top, w.resized[0]), width: pc(w.size[1], w.resized[1]), height: pc(w.size[0], w.resized[0]) };
}
