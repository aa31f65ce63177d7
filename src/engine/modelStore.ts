// Opens a user's model: builds its instrumented twin once, checks it computes what the original
// does, and caches it on disk by content hash so later opens skip straight to the session.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelOptions } from './api';
import { sha256File } from './hash';
import { instrument, NAMES, neutralFeeds, type InstrumentedInfo } from './instrument';
import { refuseQuantized, upcastToFloat32, type StoredPrecision } from './onnx/precision';
import { resolvedScope } from './options';
import { probePixels } from './onnx/probe';
import { EngineError } from './errors';
import { readRegular } from './files';
import { checkSize, removeIdentities } from './onnx/bounds';
import { decodeModel, encodeModel, inlineExternalData, ModelFormatError, type ModelProto } from './onnx/proto';
import { Session, type SessionSettings } from './runtime';

/** Bump when the instrumented graph changes, so stale cache entries are not used. */
const INSTRUMENT_VERSION = 11; // 9: entries record their model file and its sha256 (8: main's graph); 10: the live-gradient outputs (influence pattern); 11: leftOut

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

const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What a cache entry's JSON holds: the model file it names is only used if its bytes hash to `sha256`. */
interface CacheEntry { info: InstrumentedInfo; layers: number; source: string; model: string; sha256: string }

export async function openModel(options: ModelOptions, sizeHint: [number, number] | undefined, report: (msg: string) => void): Promise<OpenedModel> {
  const file = path.resolve(options.modelPath);
  const sha256 = await sha256File(file, 'model');
  const settings: SessionSettings = { threads: options.threads, executionProvider: options.executionProvider };
  const key = createHash('sha256').update(JSON.stringify({
    v: INSTRUMENT_VERSION, sha256, data: externalDataStamp(file), scope: resolvedScope(options), sizeHint: sizeHint ?? null,
  })).digest('hex').slice(0, 32);
  const dir = options.cacheDir ?? defaultCacheDir();
  const cachedInfo = path.join(dir, `${key}.json`);

  const hit = readCacheEntry(dir, cachedInfo, report);
  if (hit) {
    report('loading the cached instrumented model');
    return { session: await Session.create(hit.bytes, settings), info: hit.entry.info, layers: hit.entry.layers, sha256, cached: true };
  }

  const { model, precision, inlined } = readModel(file, report);
  report('building the gradient graph');
  const { model: instrumented, info } = await instrument(model, { scope: options.scope, sizeHint, precision, settings: { threads: options.threads } });
  const layers = instrumented.graph!.input!.filter((i) => i.name?.startsWith('np_replace_')).length;
  const bytes = encodeModel(instrumented);
  const session = await Session.create(bytes, settings);
  await checkNeutral(inlined, session, info, layers);

  // The model file is named by its own hash and written before the JSON that names it: two
  // processes building at once each write a complete pair, and the JSON renamed last wins.
  const bytesSha = sha256Of(bytes);
  const modelName = `${key}.${bytesSha.slice(0, 16)}.onnx`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeAtomic(path.join(dir, modelName), bytes);
    writeAtomic(cachedInfo, Buffer.from(JSON.stringify({ info, layers, source: file, model: modelName, sha256: bytesSha } satisfies CacheEntry)));
  } catch (e) {
    await session.release();
    const err = e as NodeJS.ErrnoException;
    throw new EngineError('cache', `cannot write the instrumented-model cache in ${dir} (${err.code ?? err.message})`, { file: dir });
  }
  return { session, info, layers, sha256, cached: false };
}

/**
 * The model file as every graph is built from it: external data inlined, float16/bfloat16 upcast to
 * float32 (`inlined`: those bytes, what the instrumented model is checked against), Identity nodes
 * removed, its size checked.
 */
export function readModel(file: string, report: (msg: string) => void): { model: ModelProto; precision: StoredPrecision; inlined: Uint8Array } {
  report('reading the model');
  const model = decodeModel(readRegular(file, 'model'), file);
  inlineExternalData(model, path.dirname(file));
  refuseQuantized(model.graph!);
  const precision = upcastToFloat32(model);
  if (precision !== 'float32') report(`the model is stored in ${precision}: analysing it in float32`);
  const inlined = encodeModel(model);
  removeIdentities(model);
  checkSize(model, file);
  return { model, precision, inlined };
}

/**
 * A cache entry whose model bytes hash to what was recorded when it was built, or undefined (and
 * the damaged files removed) when it is missing, unreadable, truncated or edited.
 */
function readCacheEntry(dir: string, infoFile: string, report: (msg: string) => void): { entry: CacheEntry; bytes: Buffer } | undefined {
  if (!fs.existsSync(infoFile)) return undefined;
  let entry: CacheEntry | undefined;
  try {
    const parsed = JSON.parse(readRegular(infoFile, 'cache').toString('utf8')) as Partial<CacheEntry>;
    if (typeof parsed.model === 'string' && /^[0-9a-f]{32}\.[0-9a-f]{16}\.onnx$/.test(parsed.model) && typeof parsed.sha256 === 'string'
      && parsed.info && typeof parsed.layers === 'number') entry = parsed as CacheEntry;
  } catch { /* unreadable: rebuilt below */ }
  const modelFile = entry && path.join(dir, entry.model);
  let bytes: Buffer | undefined;
  try { if (modelFile) bytes = readRegular(modelFile, 'model'); } catch { /* missing: rebuilt */ }
  if (entry && bytes && sha256Of(bytes) === entry.sha256) return { entry, bytes };
  report('the cached instrumented model is missing or damaged; rebuilding it');
  for (const f of [infoFile, modelFile]) if (f) fs.rmSync(f, { force: true });
  return undefined;
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
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk leaves no partial file behind
    throw e;
  }
}

