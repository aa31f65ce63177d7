// Does a visualization excite its neuron more than real images do? For 10 random neurons (seeded) of
// each model: the PNG `visualize` writes, read back and preprocessed as any image, against every one
// of the first 1000 Fashion-MNIST test images (Debian's dataset-fashion-mnist). Prints a Markdown
// table (the README's). Development only:
//
//   npx esbuild scripts/visualize-check.ts --bundle --platform=node --external:onnxruntime-node \
//     --external:sharp --outfile=dist/visualize-check.js && node dist/visualize-check.js [--threads 2]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { defaultModelPath, Engine } from '../src/engine/index';
import { rng } from '../src/engine/random';

const DATA = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const IMAGES = 1000, NEURONS = 10;
const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]) || 2;
const models = [
  { name: 'bundled (Fashion-MNIST ViT, 28x28)', path: defaultModelPath() },
  { name: 'fixture timm_vit_op17 (random weights, 32x32)', path: path.resolve(__dirname, '..', 'test', 'fixtures', 'timm_vit_op17', 'model.onnx') },
];

/** The first `n` test images as grey PNG files. */
async function testImages(dir: string, n: number): Promise<string[]> {
  const raw = gunzipSync(fs.readFileSync(DATA));
  const [rows, cols] = [raw.readUInt32BE(8), raw.readUInt32BE(12)];
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `test-${i}.png`);
    await sharp(raw.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols), { raw: { width: cols, height: rows, channels: 1 } }).png().toFile(file);
    files.push(file);
  }
  return files;
}

async function main(): Promise<void> {
  if (!fs.existsSync(DATA)) throw new Error(`${DATA} is missing: apt-get install dataset-fashion-mnist`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-visualize-check-'));
  const images = await testImages(dir, IMAGES);
  const lines = ['| model | neuron | best of 1000 test images | visualization (PNG read back) | ratio to the best | seconds |', '| --- | --- | --- | --- | --- | --- |'];
  for (const m of models) {
    const engine = await Engine.open({ modelPath: m.path, threads, cacheDir: path.join(dir, 'cache') });
    try {
      const { layers, neuronsPerLayer } = engine.info;
      const acts: Float64Array[][] = [];
      for (const image of images) acts.push(await engine.readoutActivations(image));
      const random = rng(22);
      const drawn = new Set<string>();
      while (drawn.size < NEURONS) {
        const layer = Math.floor(random() * layers), neuron = Math.floor(random() * neuronsPerLayer);
        if (drawn.has(`${layer}:${neuron}`)) continue;
        drawn.add(`${layer}:${neuron}`);
        const best = Math.max(...acts.map((a) => a[layer][neuron]));
        const r = await engine.visualize({ layer, neuron, seed: 0 }, path.join(dir, `${path.basename(path.dirname(m.path))}-${layer}-${neuron}.png`));
        // A ratio says nothing where the best image's activation is not positive: the difference is given instead.
        const ratio = best > 0 ? `${(r.finalActivation / best).toFixed(2)}x` : `(best <= 0: +${(r.finalActivation - best).toFixed(3)})`;
        lines.push(`| ${m.name} | ${layer}:${neuron} | ${best.toFixed(3)} | ${r.finalActivation.toFixed(3)} | ${ratio} | ${r.timing.seconds.toFixed(1)} |`);
        process.stderr.write(`${lines[lines.length - 1]}\n`);
      }
    } finally {
      await engine.dispose();
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: Error) => { process.stderr.write(`${e.stack}\n`); process.exitCode = 1; });
