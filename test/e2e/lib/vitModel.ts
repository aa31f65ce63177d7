// A ViT-S/16-sized model folder for the end-to-end test, written at test time (an 88 MB model cannot
// be committed, and CI has no Python): scripts/bench's generated ViT with seeded random weights, in
// the layout a hub gives (model.onnx beside preprocessor_config.json and config.json with id2label).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel } from '../../../src/engine/onnx/proto';
import { syntheticVit, VIT_S16, type VitShape } from '../../../scripts/bench/syntheticVit';

/** Writes the folder `dir` (created) and returns it; `shape` defaults to ViT-S/16 (224 px, 12 blocks of 1536). */
export function writeVitFolder(dir: string, shape: VitShape = VIT_S16): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), encodeModel(syntheticVit(shape, 20)));
  const side = Array.isArray(shape.image) ? shape.image : [shape.image, shape.image];
  fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({
    do_resize: true, size: { height: side[0], width: side[1] }, resample: 2,
    do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    image_processor_type: 'ViTImageProcessor',
  }, null, 2));
  const id2label = Object.fromEntries(Array.from({ length: shape.classes }, (_, i) => [String(i), `random class ${i}`]));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ id2label }, null, 2));
  return dir;
}
