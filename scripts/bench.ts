// `npm run bench`: seconds per image, passes, peak memory and where the time goes, for the bundled
// model, ViT-S/16- and ViT-B/16-shaped models (random weights, generated here) and the same two
// exported by torch.onnx from timm's model code (made here when Debian's torch is there), next to the
// PyTorch reference implementation on the same machine and thread count when Debian's torch is there.
//   npm run bench -- [--models bundled,vit-s,vit-s-timm,vit-b,vit-b-timm] [--threads N] [--baselines activation]
//                    [--steps 20] [--folder DIR --limit N] [--no-torch] [--timm DIR | --timm-repo GIT_DIR]
//   --folder/--limit: the images-per-minute of a folder run on the bundled model (default: media/samples, 20)
//   --scan-images N: images per model for the neuron scan's images-per-minute (default 64; generated)
//   --timm: an extracted timm source; --timm-repo: a git repository of huggingface/pytorch-image-models
//           whose HEAD is extracted (default $NEURON_PATH_TIMM_REPO, else the workspace's mirror)
//   --no-array: skip the array-task rates (1 and 2 `batch --shard` processes over 40 images)
//   --classes 1000,6000: only the table of the class similarity of a report on that many classes
//           (generated records, ViT-B-shaped): the full matrix (before) against each class's top N (now)
//   --forward-only: only the table of the forward-only session against the gradient session (what
//           every pass ran before it): neuron scan, pruning check and analysis, alternating in one
//           process per model (--rounds R, default 2; --scan-images N images, 0: the analysis only;
//           --no-analysis; --baselines of the analysis, default activation; activation,ig,ip,random is
//           the CLI's and the panel's default)
//   --supervisor: only the table of what the supervising process costs (start-up, an analysis, its
//           memory), against dist/cli.js run directly (--rounds R runs of `help`, default 2; R/4 analyses)
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { analyzeFolder } from '../src/engine/batch/index';
import { PRUNE_VARIANTS } from '../src/engine/batch/prune';
import { analyzePixels } from '../src/engine/analyze';
import { openModel, releaseSessions } from '../src/engine/modelStore';
import { scanImages } from '../src/engine/neurons/scan';
import { Runner } from '../src/engine/runner';
import { Session } from '../src/engine/runtime';
import { defaultModelPath, Engine, type BaselineName } from '../src/engine/index';
import { scanFolderNeurons } from '../src/engine/neurons/index';
import type { NeuronUnit } from '../src/engine/batch/schema';
import { encodeModel } from '../src/engine/onnx/proto';
import { arrayFolder, arrayRun, duration, recordBytes, RUN_IMAGES } from './bench/cluster';
import { classesChild, VIT_B_CLASSES, type ClassesResult } from './bench/classes';
import { supervisorTable } from './bench/supervisor';
import { parameterCount, syntheticVit, VIT_B16, VIT_S16, type VitShape } from './bench/syntheticVit';
import { PYTHON, TIMM_MODELS, timmExport, timmSource, type TimmSource } from './bench/timmExport';

const ROOT = path.resolve(__dirname, '..');
const SHAPES: Record<string, VitShape> = { 'vit-s': VIT_S16, 'vit-b': VIT_B16 };
const WORK_DIR = path.join(os.tmpdir(), 'neuron-path-bench');
/** A real export and the generated model of the same shape it is compared with. */
const SYNTHETIC_TWIN: Record<string, string> = { 'vit-s-timm': 'vit-s', 'vit-b-timm': 'vit-b' };

interface ChildResult {
  model: string; layers: number; neurons: number;
  openSeconds: number; seconds: number; forwardPasses: number; backwardPasses: number;
  maxRssMb: number; phases: Record<string, number>;
  recordBytes: { full: number; compact: number };
}

interface TorchResult { seconds: number; maxRssMb: number; forwardPasses?: number; backwardPasses?: number }

const { values: opts } = parseArgs({
  options: {
    models: { type: 'string', default: 'bundled,vit-s,vit-s-timm,vit-b,vit-b-timm' }, threads: { type: 'string', default: String(os.cpus().length) },
    baselines: { type: 'string' }, steps: { type: 'string', default: '20' }, child: { type: 'string' },
    'no-torch': { type: 'boolean', default: false }, 'no-array': { type: 'boolean', default: false },
    folder: { type: 'string' }, limit: { type: 'string', default: '20' }, 'scan-images': { type: 'string', default: '64' },
    timm: { type: 'string' }, 'forward-only': { type: 'boolean', default: false }, rounds: { type: 'string', default: '2' },
    'no-analysis': { type: 'boolean', default: false }, classes: { type: 'string' }, supervisor: { type: 'boolean', default: false },
    'timm-repo': { type: 'string', default: process.env.NEURON_PATH_TIMM_REPO ?? '/work/.mirror/huggingface+pytorch-image-models/repo' },
  },
});

/** The model's ONNX file, made on first use; for a real export, a sentence saying why it is skipped. */
function modelFile(name: string, timm: () => TimmSource | string): string | { skipped: string } {
  if (name === 'bundled') return defaultModelPath();
  fs.mkdirSync(WORK_DIR, { recursive: true });
  if (TIMM_MODELS[name]) {
    const source = timm();
    if (typeof source === 'string') return { skipped: source };
    const file = timmExport(name, source, WORK_DIR, ROOT);
    return typeof file === 'string' ? file : { skipped: file.error };
  }
  const shape = SHAPES[name];
  if (!shape) throw new Error(`unknown model '${name}' (bundled, ${[...Object.keys(SHAPES), ...Object.keys(TIMM_MODELS)].join(', ')})`);
  const file = path.join(WORK_DIR, `${name}.onnx`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, encodeModel(syntheticVit(shape)));
  return file;
}

async function sampleImage(): Promise<string> {
  const samples = path.join(ROOT, 'media', 'samples');
  const png = fs.existsSync(samples) ? fs.readdirSync(samples).filter((f) => f.endsWith('.png')).sort()[0] : undefined;
  if (png) return path.join(samples, png);
  const file = path.join(os.tmpdir(), 'neuron-path-bench', 'noise.png');
  const noise = Buffer.from(Array.from({ length: 96 * 96 * 3 }, (_, i) => (i * 2654435761) % 251));
  await sharp(noise, { raw: { width: 96, height: 96, channels: 3 } }).png().toFile(file);
  return file;
}

/** The folder for the images-per-minute figure: --folder, else the bundled samples, else generated images. */
async function benchFolder(): Promise<string> {
  if (opts.folder) return path.resolve(opts.folder);
  const samples = path.join(ROOT, 'media', 'samples');
  if (fs.existsSync(samples) && fs.readdirSync(samples).some((f) => f.endsWith('.png'))) return samples;
  const dir = path.join(os.tmpdir(), 'neuron-path-bench', 'folder');
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 10; i++) {
    const noise = Buffer.from(Array.from({ length: 28 * 28 }, (_, k) => ((k + 97 * i) * 2654435761) % 251));
    await sharp(noise, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(path.join(dir, `noise-${i}.png`));
  }
  return dir;
}

/** `count` generated images of the model's input size, for the neuron scan's rate. */
async function scanFolder(size: [number, number], count: number): Promise<string> {
  const dir = path.join(os.tmpdir(), 'neuron-path-bench', `scan-${size[0]}x${size[1]}-${count}`);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length === count) return dir;
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const noise = Buffer.from(Array.from({ length: size[0] * size[1] * 3 }, (_, k) => ((k + 97 * i) * 2654435761) % 251));
    await sharp(noise, { raw: { width: size[1], height: size[0], channels: 3 } }).png().toFile(path.join(dir, `noise-${i}.png`));
  }
  return dir;
}

/** The neuron scan of a generated folder: a path's worth of single neurons (one per block, ablated), or one whole block (activations only). */
async function scanChild(engine: Engine, file: string, cacheDir: string, kind: 'path' | 'layer', count: number): Promise<{ images: number; seconds: number; maxRssMb: number }> {
  const { layers, neuronsPerLayer, inputSize } = engine.info;
  const units: NeuronUnit[] = kind === 'path'
    ? Array.from({ length: layers }, (_, l) => ({ layer: l, neuron: (l * 37) % neuronsPerLayer }))
    : [{ layer: layers - 1, neuron: null }];
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-scan-')), 'scan.jsonl');
  const summary = await scanFolderNeurons(engine, { folder: await scanFolder(inputSize, count), out, units, modelOptions: { modelPath: file, cacheDir } });
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return { images: summary.analysed, seconds: summary.seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** Fractions of `report --prune`'s default: each held-out image is one run of 5 x 4 scaled rows. */
const PRUNE_FRACTIONS = [0.1, 0.3, 0.5, 0.7, 0.9];

/**
 * Runs in a fresh process so peak RSS belongs to one model: `prepare` builds the instrumented model
 * into the cache (the first open), `measure` is what a user's later CLI run does (warm cache).
 */
async function child(spec: { name: string; file: string; threads: number; steps: number; baselines: BaselineName[]; mode: 'prepare' | 'measure' | 'folder' | 'scan-path' | 'scan-layer'; cacheDir: string; folder?: string; limit?: number; images?: number }): Promise<void> {
  const { file, cacheDir } = spec;
  const t = performance.now();
  const engine = await Engine.open({ modelPath: file, threads: spec.threads, cacheDir });
  const openSeconds = (performance.now() - t) / 1000;
  if (spec.mode === 'scan-path' || spec.mode === 'scan-layer') {
    const r = await scanChild(engine, file, cacheDir, spec.mode === 'scan-path' ? 'path' : 'layer', spec.images!);
    await engine.dispose();
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  if (spec.mode === 'folder') {
    // A batch run as `neuron-path batch` does it: one Engine, one image after another, a line each.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-folder-')), 'run.jsonl');
    const summary = await analyzeFolder(engine, {
      folder: spec.folder!, out, limit: spec.limit, modelOptions: { modelPath: file, cacheDir },
      analyzeOptions: { steps: spec.steps, baselines: spec.baselines },
    });
    await engine.dispose();
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    process.stdout.write(`${JSON.stringify({ images: summary.analysed, failed: summary.failed, seconds: summary.seconds })}\n`);
    return;
  }
  if (spec.mode === 'prepare') {
    await engine.dispose();
    process.stdout.write(`${JSON.stringify({ openSeconds })}\n`);
    return;
  }
  const result = await engine.analyze(await sampleImage(), { steps: spec.steps, baselines: spec.baselines });
  await engine.dispose();
  const out: ChildResult = {
    model: spec.name, layers: result.model.layers, neurons: result.model.neuronsPerLayer, openSeconds,
    seconds: result.timing.seconds, forwardPasses: result.timing.forwardPasses, backwardPasses: result.timing.backwardPasses,
    maxRssMb: process.resourceUsage().maxRSS / 1024, phases: result.timing.phases ?? {}, recordBytes: recordBytes(result),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runChild(spec: object): Record<string, unknown> {
  const r = spawnSync(process.execPath, [__filename, '--child', JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench child ${JSON.stringify(spec)} failed`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

/** The bundled model's shape from its config.json, for a same-shaped PyTorch model. */
function bundledShape(): VitShape {
  const c = JSON.parse(fs.readFileSync(path.join(path.dirname(defaultModelPath()), 'config.json'), 'utf8')) as {
    image_size: number; patch_size: number; hidden_size: number; num_hidden_layers: number;
    num_attention_heads: number; intermediate_size: number; id2label: Record<string, string>;
  };
  return {
    image: c.image_size, patch: c.patch_size, width: c.hidden_size, layers: c.num_hidden_layers,
    heads: c.num_attention_heads, ffn: c.intermediate_size, classes: Object.keys(c.id2label).length,
  };
}

function torchReference(name: string, threads: number, steps: number, baselines: string, timm?: TimmSource): TorchResult | string {
  if (opts['no-torch']) return 'skipped (--no-torch)';
  const python = PYTHON;
  const script = path.join(ROOT, 'scripts', 'python', 'bench_reference.py');
  if (!fs.existsSync(python) || !fs.existsSync(script)) return 'n/a (no /usr/bin/python3 or script)';
  try { execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' }); } catch { return 'n/a (no torch: apt-get install python3-torch python3-onnx)'; }
  const args = TIMM_MODELS[name] ? ['--timm', timm!.dir, '--timm-model', TIMM_MODELS[name]]
    : Object.entries(name === 'bundled' ? bundledShape() : SHAPES[name]).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const r = spawnSync(python, [script, ...args, '--threads', String(threads), '--steps', String(steps), '--baselines', baselines], { encoding: 'utf8' });
  if (r.status !== 0) return `failed: ${r.stderr.trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

/** Debian's torch calls the selected libblas.so.3; with the reference BLAS (libblas3) it runs tens of times slower. */
function referenceBlasNote(): string | undefined {
  const lib = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libblas.so.3`;
  if (opts['no-torch'] || !fs.existsSync(lib)) return undefined;
  const target = fs.realpathSync(lib);
  return /openblas|blis|mkl/i.test(target) ? undefined
    : `torch: ${lib} is ${target}, the reference BLAS, so the PyTorch times are far too slow; apt-get install libopenblas0-pthread`;
}

async function main(): Promise<void> {
  if (opts.child) {
    const spec = JSON.parse(opts.child) as Parameters<typeof child>[0] | (Parameters<typeof forwardOnlyChild>[0] & { mode: 'forward-only' }) | (Parameters<typeof classesChild>[0] & { mode: 'classes' });
    if (spec.mode === 'classes') process.stdout.write(`${JSON.stringify(classesChild(spec))}\n`);
    else await (spec.mode === 'forward-only' ? forwardOnlyChild(spec) : child(spec));
    return;
  }
  if (opts['forward-only']) { forwardOnlyTable(); return; }
  if (opts.classes) { classesTable(opts.classes.split(',').map(Number)); return; }
  if (opts.supervisor) { await supervisorTable(ROOT, path.join(WORK_DIR, 'cache'), Number(opts.rounds)); return; }
  const threads = Number(opts.threads), steps = Number(opts.steps);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-cache-')); // cold first open
  let source: TimmSource | string | undefined;
  const timm = () => (source ??= timmSource(WORK_DIR, { timm: opts.timm, timmRepo: opts['timm-repo'] }));
  const rows: string[][] = [];
  const phaseRows: string[] = [];
  const scanRows: string[][] = [];
  const scanImages = Number(opts['scan-images']);
  const notes: string[] = [referenceBlasNote()].filter((n): n is string => !!n);
  const measured = new Map<string, ChildResult>();
  for (const name of opts.models.split(',')) {
    const baselines = (opts.baselines ?? (name === 'bundled' ? 'activation,ig,random' : 'activation')).split(',') as BaselineName[];
    const file = modelFile(name, timm);
    if (typeof file !== 'string') { notes.push(`${name}: ${file.skipped}`); continue; }
    process.stderr.write(`bench: ${name} (threads ${threads}, steps ${steps}, baselines ${baselines.join(',')})\n`);
    const first = runChild({ name, file, threads, steps, baselines, mode: 'prepare', cacheDir }) as { openSeconds: number };
    const res = runChild({ name, file, threads, steps, baselines, mode: 'measure', cacheDir }) as unknown as ChildResult;
    measured.set(name, res);
    const shape = SHAPES[SYNTHETIC_TWIN[name] ?? name];
    const params = shape ? `${(parameterCount(shape) / 1e6).toFixed(1)}M` : '-';
    const torch = torchReference(name, threads, steps, baselines.join(','), TIMM_MODELS[name] ? timm() as TimmSource : undefined);
    const t = typeof torch === 'string' ? undefined : torch;
    rows.push([name, params, `${res.layers}x${res.neurons}`, first.openSeconds.toFixed(2), res.openSeconds.toFixed(2), res.seconds.toFixed(3),
      (res.phases.layers ?? 0).toFixed(3), `${res.forwardPasses}/${res.backwardPasses}`, res.maxRssMb.toFixed(0),
      typeof torch === 'string' ? torch : torch.seconds.toFixed(3), t ? t.maxRssMb.toFixed(0) : '-', t ? (t.seconds / res.seconds).toFixed(2) : '-']);
    phaseRows.push(`${name}: ${Object.entries(res.phases).map(([k, v]) => `${k} ${v.toFixed(3)} s`).join(', ')}`);
    process.stderr.write(`bench: ${name} neuron scan of ${scanImages} generated images\n`);
    const perMinute = (r: { images: number; seconds: number }) => (r.images / r.seconds) * 60;
    const analysisRate = 60 / res.seconds;
    const scans = (['scan-path', 'scan-layer'] as const).map((mode) => runChild({ name, file, threads, steps, baselines, mode, cacheDir, images: scanImages }) as { images: number; seconds: number; maxRssMb: number });
    scanRows.push([name, analysisRate.toFixed(1), perMinute(scans[0]).toFixed(0), (perMinute(scans[0]) / analysisRate).toFixed(0),
      perMinute(scans[1]).toFixed(0), (perMinute(scans[1]) / analysisRate).toFixed(0), scans[0].maxRssMb.toFixed(0)]);
  }
  const header = ['model', 'params', 'LxD', 'first open s', 'warm open s', 'analyze s', 'layer steps s', 'fwd/bwd passes', 'peak RSS MB', 'torch s', 'torch RSS MB', 'torch/ours'];
  console.log(`\nNeuron Path benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model}), threads ${threads}, m = ${steps}`);
  printTable(header, rows);
  console.log('\nWhere the time goes (analysis phases):');
  for (const p of phaseRows) console.log(`  ${p}`);
  console.log(`\nNeuron scan (neuron-path neuron, ${scanImages} images, 16 per run), images per minute beside the path analysis's (the row above):`);
  console.log('  path neurons: one neuron per block with its ablation (L + 1 passes per image); whole block: every neuron of the last block, activations only');
  printTable(['model', 'analysis img/min', 'scan: path neurons', 'x analysis', 'scan: whole block', 'x analysis', 'peak RSS MB'], scanRows);
  const pairs = Object.entries(SYNTHETIC_TWIN).filter(([real, synthetic]) => measured.has(real) && measured.has(synthetic));
  if (pairs.length) console.log('\nReal exports (timm code, torch.onnx) against the generated model of the same shape:');
  for (const [real, synthetic] of pairs) {
    const r = measured.get(real)!, s = measured.get(synthetic)!;
    console.log(`  ${real} / ${synthetic}: analyze ${(r.seconds / s.seconds).toFixed(2)}, layer steps ${((r.phases.layers ?? 0) / (s.phases.layers ?? 1)).toFixed(2)}`);
  }
  if (opts.models.split(',').some((n) => TIMM_MODELS[n]) && typeof source !== 'string' && source) console.log(`  timm source: ${source.label}`);
  for (const n of notes) console.log(`\n${n}`);
  if (opts.models.split(',').includes('bundled')) {
    const folder = await benchFolder();
    const limit = Number(opts.limit);
    process.stderr.write(`bench: folder run on the bundled model (${folder}, up to ${limit} images)\n`);
    const f = runChild({ name: 'bundled', threads, steps, baselines: ['activation', 'ig', 'random'], mode: 'folder', cacheDir, folder, limit }) as { images: number; failed: number; seconds: number };
    console.log(`\nFolder run (neuron-path batch, bundled model, all baselines, threads ${threads}): ${f.images} images of ${folder} in ${f.seconds.toFixed(1)} s = ` +
      `${(f.images / f.seconds * 60).toFixed(0)} images per minute${f.failed ? ` (${f.failed} failed)` : ''}`);
  }
  await clusterFigures([...measured.values()], threads, cacheDir);
  fs.rmSync(cacheDir, { recursive: true, force: true });
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** Record sizes, array-task rates, and a 50,000-image run on N machines like this one. */
async function clusterFigures(measured: ChildResult[], threads: number, cacheDir: string): Promise<void> {
  console.log(`\nBatch record size (one JSON line; the records above; ${RUN_IMAGES.toLocaleString('en')} images in GB):`);
  printTable(['model', 'all scores (--scores all)', 'compact (default)', 'ratio', `${RUN_IMAGES / 1000}k all`, `${RUN_IMAGES / 1000}k compact`],
    measured.map((m) => [m.model, `${m.recordBytes.full} B`, `${m.recordBytes.compact} B`, (m.recordBytes.full / m.recordBytes.compact).toFixed(1),
      (m.recordBytes.full * RUN_IMAGES / 1e9).toFixed(2), (m.recordBytes.compact * RUN_IMAGES / 1e9).toFixed(2)]));
  // Per machine: the array rate of the bundled model (measured below), the analysis time of the others.
  const perMachine: { model: string; perMinute: number; how: string }[] = measured.filter((m) => m.model !== 'bundled')
    .map((m) => ({ model: m.model, perMinute: 60 / m.seconds, how: `1 task x ${threads} threads, ${m.seconds.toFixed(1)} s per image` }));
  if (!opts['no-array'] && measured.some((m) => m.model === 'bundled')) {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-images-'));
    const n = await arrayFolder(path.join(ROOT, 'media', 'samples'), folder);
    const cli = path.join(__dirname, 'cli.js');
    const env = { ...process.env, NEURON_PATH_CACHE: cacheDir };  // warm: the bundled model was opened into it above
    const rates = [];
    for (const tasks of [1, 2]) {
      process.stderr.write(`bench: ${tasks} array task(s) over ${n} images\n`);
      const r = await arrayRun(cli, folder, tasks, env);
      rates.push([String(tasks), String(r.images), r.seconds.toFixed(1), (r.images / r.seconds * 60).toFixed(0)]);
      if (tasks === Math.min(2, os.cpus().length)) perMachine.unshift({ model: 'bundled', perMinute: r.images / r.seconds * 60, how: `${tasks} tasks x 1 thread (measured here)` });
    }
    fs.rmSync(folder, { recursive: true, force: true });
    console.log(`\nArray tasks on this machine (each \`batch --shard K/N --threads 1\`, model open included; bundled model, all baselines, m = 20):`);
    printTable(['tasks', 'images', 'seconds', 'images/min'], rates);
  }
  if (perMachine.length) {
    const nodes = [1, 8, 32, 128];
    console.log(`\nA ${RUN_IMAGES.toLocaleString('en')}-image run on N machines like this one (${os.cpus().length} cores), from the rates above:`);
    printTable(['model', 'per machine', 'images/min', ...nodes.map((k) => `${k} node${k > 1 ? 's' : ''}`)],
      perMachine.map((p) => [p.model, p.how, p.perMinute.toFixed(p.perMinute < 10 ? 2 : 0), ...nodes.map((k) => duration(RUN_IMAGES / (p.perMinute * k)))]));
  }
}

/** The forward-only session against the gradient session (what every pass ran before it), alternating in one process. */
async function forwardOnlyChild(spec: { file: string; threads: number; steps: number; baselines: BaselineName[]; cacheDir: string; images: number; rounds: number; analysis: boolean }): Promise<void> {
  await openModel({ modelPath: spec.file, threads: spec.threads, cacheDir: spec.cacheDir }, undefined, () => {}).then((o) => releaseSessions(o.sessions)); // built, cached
  const rss = () => process.memoryUsage().rss / 2 ** 20;
  const opened = await openModel({ modelPath: spec.file, threads: spec.threads, cacheDir: spec.cacheDir }, undefined, () => {});
  const { info, layers, sessions } = opened;
  // The memory one forward-only session adds: one more, opened from the cached file.
  const entry = fs.readdirSync(spec.cacheDir).find((f) => f.endsWith('.json'))!;
  const forwardFile = path.join(spec.cacheDir, (JSON.parse(fs.readFileSync(path.join(spec.cacheDir, entry), 'utf8')) as { forward: string }).forward);
  const before = rss();
  const extra = await Session.create(fs.readFileSync(forwardFile), { threads: spec.threads });
  const extraMb = rss() - before;
  await extra.release();
  const { channels, height, width } = info.input;
  const image = (i: number) => Float32Array.from({ length: channels * height * width }, (_v, k) => Math.sin(k * 0.37 + i));
  const images = Array.from({ length: spec.images }, (_, i) => image(i));
  const analysisImage = image(0);
  const units: NeuronUnit[] = Array.from({ length: layers }, (_, l) => ({ layer: l, neuron: (l * 37) % info.neurons }));
  const rows = PRUNE_FRACTIONS.length * PRUNE_VARIANTS.length;
  const scales = Array.from({ length: layers }, (_, l) => Float32Array.from({ length: rows * info.neurons }, (_v, k) => ((k * 7 + l) % 10) < 5 ? 0 : 1));
  const variants = { gradient: { gradient: sessions.gradient, forward: sessions.gradient }, forward: sessions };
  const times: Record<string, number[]> = {};
  const time = async (key: string, f: () => Promise<unknown>) => { const t = performance.now(); await f(); (times[key] ??= []).push((performance.now() - t) / 1000); };
  for (let r = 0; r < spec.rounds; r++) {
    for (const v of r % 2 ? ['forward', 'gradient'] as const : ['gradient', 'forward'] as const) {
      const runner = new Runner(variants[v], info, layers);
      if (images.length) {
        await time(`${v} scan`, () => scanImages(runner, info, images, images.map(() => null), units));
        await time(`${v} prune`, async () => { for (const px of images) await runner.scaled(px, scales, rows); });
      }
      if (spec.analysis) {
        let phases: Record<string, number> = {};
        await time(`${v} analysis`, async () => {
          phases = (await analyzePixels({ sessions: variants[v], info, layers, labels: [], pixels: analysisImage }, { steps: spec.steps, baselines: spec.baselines })).timing.phases ?? {};
        });
        // The analysis's passes without gradient (the clean pass, remove/enhance): all it can gain.
        (times[`${v} analysis forward`] ??= []).push((phases.clean ?? 0) + (phases.manipulation ?? 0));
      }
    }
  }
  await releaseSessions(sessions);
  process.stdout.write(`${JSON.stringify({ times, extraMb, files: [forwardFile].map((f) => fs.statSync(f).size) })}\n`);
}

/** Per model: the neuron scan, the pruning check's passes and the analysis, gradient session (before) and forward-only (now). */
function forwardOnlyTable(): void {
  const threads = Number(opts.threads), steps = Number(opts.steps), rounds = Number(opts.rounds), images = Number(opts['scan-images']);
  const baselines = (opts.baselines ?? 'activation').split(',') as BaselineName[];
  let source: TimmSource | string | undefined;
  const timm = () => (source ??= timmSource(WORK_DIR, { timm: opts.timm, timmRepo: opts['timm-repo'] }));
  const median = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
  const rowsOut: string[][] = [];
  for (const name of opts.models.split(',')) {
    const file = modelFile(name, timm);
    if (typeof file !== 'string') { console.log(`${name}: ${file.skipped}`); continue; }
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-bench-fwd-'));
    process.stderr.write(`bench: ${name}, forward-only against gradient session, ${rounds} rounds of ${images} images\n`);
    const r = runChild({ mode: 'forward-only', file, threads, steps, baselines, cacheDir, images, rounds, analysis: !opts['no-analysis'] }) as { times: Record<string, number[]>; extraMb: number };
    fs.rmSync(cacheDir, { recursive: true, force: true });
    const cell = (kind: string) => {
      if (!r.times[`gradient ${kind}`]) return '-';
      const [g, f] = [median(r.times[`gradient ${kind}`]), median(r.times[`forward ${kind}`])];
      return `${g.toFixed(2)} s / ${f.toFixed(2)} s (${(g / f).toFixed(2)}x)`;
    };
    rowsOut.push([name, cell('scan'), cell('prune'), cell('analysis'), cell('analysis forward'), `${r.extraMb < 0 ? '' : '+'}${r.extraMb.toFixed(0)} MB`]);
  }
  console.log(`\nForward-only session: ${os.cpus().length} cores (${os.cpus()[0]?.model}), threads ${threads}, m = ${steps}, ${rounds} alternating rounds (medians), ${images} generated images`);
  console.log('gradient session (before) / forward-only session (now) (speed-up); scan: one neuron per block with its ablation (L + 1 passes per image);');
  console.log(`pruning check: ${PRUNE_FRACTIONS.length} fractions x ${PRUNE_VARIANTS.length} variants = 20 scaled rows per image; analysis: one image, baselines ${baselines.join(',')};`);
  console.log('its passes without gradient: the clean pass and remove/enhance (the analysis\'s clean and manipulation phases)');
  printTable(['model', `neuron scan (${images} images)`, `pruning check (${images} images)`, 'analysis', 'its passes without gradient', 'forward session memory'], rowsOut);
}

/** The report's class similarity on many classes: the full matrix (before) and the top N per class (now), each in its own process. */
function classesTable(counts: number[]): void {
  const rowsOut: string[][] = [];
  for (const classes of counts) {
    for (const dense of [true, false]) {
      process.stderr.write(`bench: ${classes} classes, ${dense ? 'full matrix (before)' : 'top N per class (now)'}\n`);
      const r = runChild({ mode: 'classes', classes, dense }) as unknown as ClassesResult;
      rowsOut.push([String(r.classes), String(r.images), dense ? 'full matrix (before)' : 'top 20 per class (now)', r.seconds.toFixed(2), r.maxRssMb.toFixed(0), r.jsonMb.toFixed(1)]);
    }
  }
  const s = VIT_B_CLASSES;
  console.log(`\nClass similarity of a report: ${os.cpus().length} cores (${os.cpus()[0]?.model}); generated records, ${s.perClass} images per class, ` +
    `${s.layers} blocks x ${s.neurons} neurons; seconds: the category patterns with the similarity; JSON: the similarity in report --json`);
  printTable(['classes', 'images', 'similarity', 'seconds', 'peak RSS MB', 'JSON MB'], rowsOut);
}

main().catch((e) => { console.error(e); process.exit(1); });
