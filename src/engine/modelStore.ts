// Opens a user's model: builds its instrumented twin once, checks it computes what the original
// does, and caches it on disk by content hash so later opens skip straight to the session.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelOptions } from './api';
import { sha256File, sha256Of } from './hash';
import { forwardOnly } from './forwardGraph';
import { instrument, NAMES, neutralFeeds, type InstrumentedInfo } from './instrument';
import { refuseQuantized, upcastToFloat32, type StoredPrecision } from './onnx/precision';
import { resolvedScope } from './options';
import { probePixels } from './onnx/probe';
import { EngineError } from './errors';
import { readRegular, writeAtomic } from './files';
import { checkSize, removeIdentities } from './onnx/bounds';
import { decodeModel, encodeModel, inlineExternalData, ModelFormatError, type ModelProto } from './onnx/proto';
import type { ModelSessions } from './runner';
import { Session, type SessionSettings } from './runtime';

/** Bump when the instrumented graph changes, so stale cache entries are not used. */
const INSTRUMENT_VERSION = 15; // raised whenever the cached instrumented model or its entry changes shape

export interface OpenedModel {
  sessions: ModelSessions;
  info: InstrumentedInfo;
  layers: number;                   // the blocks the instrumented model found (info.blocks)
  sha256: string;
  cached: boolean;
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return process.env.NEURON_PATH_CACHE || path.join(base, 'neuron-path');
}

/** What a cache entry's JSON holds: each model file it names is only used if its bytes hash to the sha256 beside it. */
interface CacheEntry { info: InstrumentedInfo; source: string; model: string; sha256: string; forward: string; forwardSha256: string }

export async function openModel(options: ModelOptions, sizeHint: [number, number] | undefined, report: (msg: string) => void): Promise<OpenedModel> {
  const file = path.resolve(options.modelPath);
  const sha256 = options.sha256 ?? await sha256File(file, 'model');
  const settings: SessionSettings = { threads: options.threads, executionProvider: options.executionProvider };
  const key = createHash('sha256').update(JSON.stringify({
    v: INSTRUMENT_VERSION, sha256, data: externalDataStamp(file), scope: resolvedScope(options), sizeHint: sizeHint ?? null,
  })).digest('hex').slice(0, 32);
  const dir = options.cacheDir ?? defaultCacheDir();
  const cachedInfo = path.join(dir, `${key}.json`);
  // The layers are the blocks the instrumentation found: counted there, nowhere else.
  const opened = (sessions: ModelSessions, info: InstrumentedInfo, cached: boolean): OpenedModel => ({ sessions, info, layers: info.blocks.length, sha256, cached });

  const distrust = cacheDistrust(dir);
  if (distrust) report(`warning: the cache folder ${dir} ${distrust}`);
  const hit = distrust ? undefined : readCacheEntry(dir, cachedInfo, report);
  if (hit) {
    report('loading the cached instrumented model');
    return opened(await createSessions(hit.bytes, hit.forwardBytes, settings), hit.entry.info, true);
  }

  const { model, precision, inlined } = readModel(file, report);
  report('building the gradient graph');
  const { model: instrumented, info } = await instrument(model, { scope: options.scope, sizeHint, precision, settings: { threads: options.threads } });
  const layers = info.blocks.length;
  const bytes = encodeModel(instrumented);
  const forwardBytes = encodeModel(forwardOnly(instrumented, [NAMES.probs, ...Array.from({ length: layers }, (_, l) => NAMES.act(l))]));
  const sessions = await createSessions(bytes, forwardBytes, settings);
  try {
    for (const session of [sessions.gradient, sessions.forward]) await checkNeutral(inlined, session, info, layers);
  } catch (e) {
    await releaseSessions(sessions);
    throw e;
  }

  // The model file is named by its own hash and written before the JSON that names it: two
  // processes building at once each write a complete pair, and the JSON renamed last wins.
  if (distrust) return opened(sessions, info, false);
  const bytesSha = sha256Of(bytes), forwardSha = sha256Of(forwardBytes);
  const modelName = `${key}.${bytesSha.slice(0, 16)}.onnx`, forwardName = `${key}.${forwardSha.slice(0, 16)}.onnx`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeAtomic(path.join(dir, modelName), 'cache', [bytes]);
    writeAtomic(path.join(dir, forwardName), 'cache', [forwardBytes]);
    writeAtomic(cachedInfo, 'cache', [JSON.stringify({
      info, source: file, model: modelName, sha256: bytesSha, forward: forwardName, forwardSha256: forwardSha,
    } satisfies CacheEntry)]);
  } catch (e) {
    await releaseSessions(sessions);
    const err = e as NodeJS.ErrnoException & { facts?: { errno?: string } };
    throw new EngineError('cache', `cannot write the instrumented-model cache in ${dir} (${err.facts?.errno ?? err.code ?? err.message})`, { file: dir });
  }
  return opened(sessions, info, false);
}

async function createSessions(gradient: Uint8Array, forward: Uint8Array, settings: SessionSettings): Promise<ModelSessions> {
  const g = await Session.create(gradient, settings);
  try {
    return { gradient: g, forward: await Session.create(forward, settings) };
  } catch (e) {
    await g.release();
    throw e;
  }
}

export async function releaseSessions(sessions: ModelSessions): Promise<void> {
  await Promise.all([sessions.gradient.release(), sessions.forward.release()]);
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
 * Why a cache folder or file cannot be trusted, as ssh judges its keys: another user owns it, or
 * others may write it (the hash beside an entry proves nothing against whoever can write both).
 * Undefined when it can be, or does not exist yet (it is then made private).
 */
function untrusted(file: string): string | undefined {
  const uid = process.getuid?.();
  let st: fs.Stats;
  try { st = fs.statSync(file); } catch { return undefined; }
  if (uid === undefined) return undefined; // Windows: ACLs, not modes
  if (st.uid !== uid) return `owned by user ${st.uid}, not by you (${uid})`;
  if (st.mode & 0o022) return `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * The first folder above the cache folder through which another user could replace it, as ssh
 * checks the folders above ~/.ssh: one owned by another user than you or root, or writable by
 * others without the sticky bit (in a sticky folder such as /tmp only an entry's owner may rename
 * it, so it is safe as long as the folders above it are). Both the folders of the path as given (a
 * link's own folder could swap the link) and those of its real path; a cache folder not made yet is
 * judged by the folders it would be made in.
 */
function unsafeAncestor(dir: string): { folder: string; why: string } | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // Windows: ACLs, not modes
  const given = path.resolve(dir);
  let existing = given;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  const folders = new Set([...upFrom(path.dirname(given)), ...upFrom(existing === given ? path.dirname(real) : real)]);
  for (const folder of folders) {
    let st: fs.Stats;
    try { st = fs.statSync(folder); } catch { continue; } // not made yet: judged by the folders above it
    if (st.uid !== uid && st.uid !== 0) return { folder, why: `owned by user ${st.uid}, neither you (${uid}) nor root` };
    if (st.mode & 0o022 && !(st.mode & 0o1000)) {
      return { folder, why: `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} without the sticky bit (mode ${(st.mode & 0o777).toString(8)})` };
    }
  }
  return undefined;
}

/** A folder and every folder above it, up to the root. */
function upFrom(folder: string): string[] {
  const out = [folder];
  while (path.dirname(out[out.length - 1]) !== out[out.length - 1]) out.push(path.dirname(out[out.length - 1]));
  return out;
}

/** Why the cache folder is not used (the rest of the warning's sentence), or undefined. */
function cacheDistrust(dir: string): string | undefined {
  const own = untrusted(dir);
  if (own) {
    return `is ${own}: whoever can write it decides the results, so it is neither read nor written ` +
      '(make it yours and not writable by others, e.g. chmod go-w, or set NEURON_PATH_CACHE to a folder of your own)';
  }
  const above = unsafeAncestor(dir);
  if (!above) return undefined;
  return `is inside ${above.folder}, which is ${above.why}: whoever can write it can replace the cache folder and so decide the results, ` +
    `so the cache is neither read nor written (make ${above.folder} owned by you or root and not writable by others, e.g. chmod go-w, ` +
    'or give a shared folder the sticky bit as /tmp has, chmod +t; or set NEURON_PATH_CACHE to a folder of your own)';
}

/**
 * A cache entry whose two model files hash to what was recorded when it was built, or undefined
 * (and the damaged files removed) when it is missing, unreadable, truncated or edited.
 */
function readCacheEntry(dir: string, infoFile: string, report: (msg: string) => void): { entry: CacheEntry; bytes: Buffer; forwardBytes: Buffer } | undefined {
  if (!fs.existsSync(infoFile)) return undefined;
  let entry: CacheEntry | undefined;
  const isModelName = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{32}\.[0-9a-f]{16}\.onnx$/.test(v);
  try {
    const parsed = JSON.parse(readRegular(infoFile, 'cache').toString('utf8')) as Partial<CacheEntry>;
    if (isModelName(parsed.model) && typeof parsed.sha256 === 'string' && isModelName(parsed.forward) && typeof parsed.forwardSha256 === 'string'
      && Array.isArray(parsed.info?.blocks)) entry = parsed as CacheEntry;
  } catch { /* unreadable: rebuilt below */ }
  const files = entry ? [path.join(dir, entry.model), path.join(dir, entry.forward)] : [];
  const verified = (file: string, sha: string) => {
    if (untrusted(file)) return undefined; // another user could have put it there or changed it
    try { const bytes = readRegular(file, 'model'); return sha256Of(bytes) === sha ? bytes : undefined; } catch { return undefined; } // missing: rebuilt
  };
  const bytes = entry && verified(files[0], entry.sha256);
  const forwardBytes = entry && bytes && verified(files[1], entry.forwardSha256);
  if (entry && bytes && forwardBytes) return { entry, bytes, forwardBytes };
  report('the cached instrumented model is missing or damaged; rebuilding it');
  for (const f of [infoFile, ...files]) fs.rmSync(f, { force: true });
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


