// The README's grid: for each class of the bundled model, the path of its first sample image
// (media/samples), the visualizations of the path neurons of three blocks, and the Fashion-MNIST test
// images (of the first 1000) that excite the last block's path neuron most. Development only:
//
//   npx esbuild scripts/visualize-grid.ts --bundle --platform=node --external:onnxruntime-node \
//     --external:sharp --outfile=dist/visualize-grid.js && node dist/visualize-grid.js docs/images/visualizations.png
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { defaultModelPath, Engine } from '../src/engine/index';

const DATA = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
const IMAGES = 1000, LAYERS = [1, 3, 5], TOP = 3, TILE = 84, GAP = 6, LABEL = 110, HEADER = 40;

async function main(): Promise<void> {
  const target = process.argv[2] ?? 'docs/images/visualizations.png';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-visualize-grid-'));
  const raw = gunzipSync(fs.readFileSync(DATA));
  const side = raw.readUInt32BE(8);
  const testImage = (i: number) => sharp(raw.subarray(16 + i * side * side, 16 + (i + 1) * side * side), { raw: { width: side, height: side, channels: 1 } });
  const files: string[] = [];
  for (let i = 0; i < IMAGES; i++) { const f = path.join(dir, `t${i}.png`); await testImage(i).png().toFile(f); files.push(f); }

  const engine = await Engine.open({ modelPath: defaultModelPath(), threads: 2, cacheDir: path.join(dir, 'cache') });
  const tiles: { input: Buffer; top: number; left: number }[] = [];
  const texts: string[] = [];
  const tile = async (file: string) => sharp(file).resize(TILE, TILE, { kernel: 'nearest' }).png().toBuffer();
  try {
    const acts = [];
    for (const f of files) acts.push(await engine.readoutActivations(f));
    const samples = JSON.parse(fs.readFileSync(path.join(path.dirname(defaultModelPath()), '..', 'samples', 'labels.json'), 'utf8')) as Record<string, number>;
    const { labels } = engine.info;
    const seconds: number[] = [];
    for (let c = 0; c < labels.length; c++) {
      const sample = Object.keys(samples).sort().find((f) => samples[f] === c)!;
      const samplePath = path.join(path.dirname(defaultModelPath()), '..', 'samples', sample);
      const result = await engine.analyze(samplePath, { baselines: [] });
      const top = HEADER + c * (TILE + GAP);
      texts.push(`<text x="4" y="${top + TILE / 2 + 5}" font-size="15">${labels[c]}</text>`);
      const row = [samplePath];
      for (const l of LAYERS) {
        const png = path.join(dir, `c${c}-l${l}.png`);
        const r = await engine.visualize({ layer: l, neuron: result.path[l].neuron, seed: 0 }, png);
        seconds.push(r.timing.seconds);
        row.push(png);
        texts.push(`<text x="${LABEL + (1 + LAYERS.indexOf(l)) * (TILE + GAP) + 2}" y="${top + TILE + GAP - 1}" font-size="9">${l}:${result.path[l].neuron}</text>`);
      }
      const last = LAYERS[LAYERS.length - 1], j = result.path[last].neuron;
      const best = acts.map((a, i) => [a[last][j], i]).sort((a, b) => b[0] - a[0]).slice(0, TOP);
      row.push(...best.map(([, i]) => files[i]));
      for (const [k, f] of row.entries()) tiles.push({ input: await tile(f), top, left: LABEL + k * (TILE + GAP) + (k > LAYERS.length ? GAP * 2 : 0) });
    }
    const width = LABEL + (1 + LAYERS.length + TOP) * (TILE + GAP) + 2 * GAP, height = HEADER + labels.length * (TILE + GAP);
    const heads = ['sample', ...LAYERS.map((l) => `block ${l}`), `top images, block ${LAYERS[LAYERS.length - 1]}`];
    const headX = [0, 1, 2, 3, 4].map((k) => LABEL + k * (TILE + GAP) + (k > LAYERS.length ? GAP * 2 : 0));
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" fill="#222">` +
      heads.map((h, k) => `<text x="${headX[k] + 2}" y="${HEADER - 12}" font-size="14">${h}</text>`).join('') + texts.join('') + '</svg>';
    await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }, ...tiles]).png().toFile(target);
    seconds.sort((a, b) => a - b);
    process.stdout.write(`${target}: ${seconds.length} visualizations, median ${seconds[Math.floor(seconds.length / 2)].toFixed(2)} s each (256 steps, 2 threads)\n`);
  } finally {
    await engine.dispose();
  }
}

main().catch((e: Error) => { process.stderr.write(`${e.stack}\n`); process.exitCode = 1; });
