// Where a model is: the user names an ONNX file or a folder laid out as the model hubs lay them out
// (`model.onnx` at the root, or `onnx/model.onnx` beside variants such as model_quantized.onnx).
// Configs are read from the ONNX file's folder and its parents up to the model's root, never above.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from './errors';

export interface ModelLocation {
  /** The ONNX file, absolute. */
  file: string;
  /** The folder configs may come from, at most: the folder the user named, or the ONNX file's hub folder. */
  root: string;
  /** The folders configs are looked for in, nearest the ONNX file first, ending at `root`. */
  dirs: string[];
}

/** The folder hubs keep ONNX exports in (transformers.js, onnx-community, Optimum). */
const ONNX_SUBFOLDER = 'onnx';
const CANONICAL = 'model.onnx';
/** Variants of the canonical export that are not the float32 model: quantized or half precision. */
const VARIANT = /_(quantized|quant|int8|uint8|q4|q4f16|q8|bnb4|fp16|float16|bf16|bfloat16)\.onnx$/i;

const isFile = (f: string) => { try { return fs.statSync(f).isFile(); } catch { return false; } };
const isDir = (f: string) => { try { return fs.statSync(f).isDirectory(); } catch { return false; } };

function onnxFiles(dir: string): string[] {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names.filter((n) => n.toLowerCase().endsWith('.onnx') && isFile(path.join(dir, n))).sort().map((n) => path.join(dir, n));
}

/** The folders from `dir` up to `root` (dir inside root). */
function chain(dir: string, root: string): string[] {
  const dirs = [dir];
  while (dirs[dirs.length - 1] !== root) {
    const up = path.dirname(dirs[dirs.length - 1]);
    if (up === dirs[dirs.length - 1]) break;
    dirs.push(up);
  }
  return dirs;
}

/**
 * The ONNX file a path names and the folders its configs may come from. A file is taken as it is
 * (one inside an `onnx/` folder belongs to the hub folder above it); in a folder, `model.onnx` at
 * its root or in `onnx/`, else the only float32 export there; several candidates are an error that
 * lists them.
 */
export function locateModel(userPath: string): ModelLocation {
  const named = path.resolve(userPath);
  if (!isDir(named)) {
    // A missing or unreadable file is reported by the code that opens it, with its role.
    const dir = path.dirname(named);
    const root = path.basename(dir) === ONNX_SUBFOLDER ? path.dirname(dir) : dir;
    return { file: named, root, dirs: chain(dir, root) };
  }
  const sub = path.join(named, ONNX_SUBFOLDER);
  const candidates = [...onnxFiles(named), ...(isDir(sub) ? onnxFiles(sub) : [])];
  const canonical = candidates.filter((f) => path.basename(f) === CANONICAL);
  const plain = candidates.filter((f) => !VARIANT.test(path.basename(f)));
  const chosen = canonical.length === 1 ? canonical[0] : canonical.length === 0 && plain.length === 1 ? plain[0]
    : candidates.length === 1 ? candidates[0] : undefined;
  if (!chosen) {
    const shown = candidates.map((f) => path.relative(named, f)).join(', ');
    if (!candidates.length) {
      throw new EngineError('not-found', `the model folder ${named} has no ONNX file (looked for ${CANONICAL} and ${ONNX_SUBFOLDER}/${CANONICAL})`, { file: named, role: 'model' });
    }
    throw new EngineError('model-choice', `the model folder ${named} has several ONNX files and none is the float32 ${CANONICAL}: ${shown}`,
      { file: named, role: 'model', candidates: candidates.map((f) => path.relative(named, f)) });
  }
  return { file: chosen, root: named, dirs: chain(path.dirname(chosen), named) };
}
