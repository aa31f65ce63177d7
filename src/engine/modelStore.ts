// Opens a user's model: builds its instrumented twin once, checks it computes what the original
// does, and caches it on disk by content hash so later opens skip straight to the session.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelOptions } from './api';
import { instrument, NAMES, neutralFeeds, type InstrumentedInfo } from './instrument';
import { refuseQuantized, upcastToFloat32 } from './onnx/precision';
import { probePixels } from './onnx/probe';
import { decodeModel, encodeModel, inlineExternalData, ModelFormatError } from './onnx/proto';
import { Session, type SessionSettings } from './runtime';

/** Bump when the instrumented graph changes, so stale cache entries are not used. */
const INSTRUMENT_VERSION = 8;

export interface OpenedModel {
  session: Session;
  info: InstrumentedInfo;
  layers: number;
  sha256: string;
  cached: boolean;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return process.env.NEURON_PATH_CACHE || path.join(base, 'neuron-path');
}

export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally { fs.closeSync(fd); }
  return hash.digest('hex');
}

export async function openModel(options: ModelOptions, sizeHint: [number, number] | undefined, report: (msg: string) => void): Promise<OpenedModel> {
  const file = path.resolve(options.modelPath);
  if (!fs.existsSync(file)) throw new ModelFormatError(`model file ${file} does not exist; check the model path setting.`);
  if (fs.statSync(file).isDirectory()) throw new ModelFormatError(`${file} is a folder; point the model path at its .onnx file.`);
  const sha256 = sha256File(file);
  const settings: SessionSettings = { threads: options.threads, executionProvider: options.executionProvider };
  const key = createHash('sha256').update(JSON.stringify({
    v: INSTRUMENT_VERSION, sha256, data: externalDataStamp(file), scope: options.scope ?? 'auto', sizeHint: sizeHint ?? null,
  })).digest('hex').slice(0, 32);
  const dir = options.cacheDir ?? defaultCacheDir();
  const cachedModel = path.join(dir, `${key}.onnx`), cachedInfo = path.join(dir, `${key}.json`);

  if (fs.existsSync(cachedModel) && fs.existsSync(cachedInfo)) {
    const { info, layers } = JSON.parse(fs.readFileSync(cachedInfo, 'utf8')) as { info: InstrumentedInfo; layers: number };
    report('loading the cached instrumented model');
    return { session: await Session.create(cachedModel, settings), info, layers, sha256, cached: true };
  }

  report('reading the model');
  const original = fs.readFileSync(file);
  const model = decodeModel(original, file);
  inlineExternalData(model, path.dirname(file));
  refuseQuantized(model.graph!);
  const precision = upcastToFloat32(model);
  if (precision !== 'float32') report(`the model is stored in ${precision}: analysing it in float32`);
  const inlined = encodeModel(model);
  report('building the gradient graph');
  const { model: instrumented, info } = await instrument(model, { scope: options.scope, sizeHint, precision, settings: { threads: options.threads } });
  const layers = instrumented.graph!.input!.filter((i) => i.name?.startsWith('np_replace_')).length;
  const bytes = encodeModel(instrumented);
  const session = await Session.create(bytes, settings);
  await checkNeutral(inlined, session, info, layers);

  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(cachedModel, bytes);
  writeAtomic(cachedInfo, Buffer.from(JSON.stringify({ info, layers, source: file })));
  return { session, info, layers, sha256, cached: false };
}

/**
 * External data files are part of the model: the sizes and times of the files that can hold it
 * (named after the model, or data/weight files) go into the cache key without decoding the model.
 */
function externalDataStamp(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const stem = base.replace(/\.onnx$/, '');
  const isData = (f: string) => f !== base && (f.startsWith(stem) || /data|\.bin$|\.weight/i.test(f));
  return fs.readdirSync(dir).filter(isData).sort()
    .map((f) => { const st = fs.statSync(path.join(dir, f)); return `${f}:${st.size}:${st.mtimeMs}`; });
}

/** With every switch off the instrumented model must give the original's probabilities. */
async function checkNeutral(original: Uint8Array, instrumented: Session, info: InstrumentedInfo, layers: number): Promise<void> {
  const plain = await Session.create(original, { threads: 1 });
  try {
    const pixels = probePixels(info.input, 1);
    const out = (await plain.run({ [info.input.name]: pixels }, [info.output]))[info.output].data as Float32Array;
    const probs = (await instrumented.run(neutralFeeds(info, layers, pixels), [NAMES.probs]))[NAMES.probs].data as Float32Array;
    const expected = info.outputIsSoftmax ? Array.from(out) : softmax(out);
    const worst = Math.max(...expected.map((p, i) => Math.abs(p - probs[i])));
    if (!(worst < 1e-4)) {
      throw new ModelFormatError(`the instrumented model disagrees with the original (probability difference ${worst}); ` +
        'this export is not supported yet — please report it with the model.');
    }
  } finally {
    await plain.release();
  }
}

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const total = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / total);
}

function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

