// The benchmark's real exports: timm's own ViT code (random weights) exported by torch.onnx, made
// at bench time with Debian's torch from an extracted timm source, so the gradient graph is timed on
// what users' exports look like (fused qkv, unbind, Gemm head) and not only on the generated layout.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PYTHON = '/usr/bin/python3';

/** Bench model name -> timm model name. */
export const TIMM_MODELS: Record<string, string> = {
  'vit-s-timm': 'vit_small_patch16_224',
  'vit-b-timm': 'vit_base_patch16_224',
};

export interface TimmSource {
  /** Folder holding the extracted `timm` package. */
  dir: string;
  /** What it was extracted from, for the printed table. */
  label: string;
}

function hasTorch(): boolean {
  if (!fs.existsSync(PYTHON)) return false;
  try { execFileSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/**
 * timm's source: an extracted folder (`--timm DIR`), else the HEAD of a git repository of
 * huggingface/pytorch-image-models (`--timm-repo`), extracted once per commit under `workDir`.
 * Returns a sentence saying why not when torch or timm is not there.
 */
export function timmSource(workDir: string, opts: { timm?: string; timmRepo: string }): TimmSource | string {
  if (!hasTorch()) return `skipped: no torch, torchvision and onnx at ${PYTHON} (apt-get install python3-torch python3-torchvision python3-onnx)`;
  if (opts.timm) {
    const dir = path.resolve(opts.timm);
    if (!fs.existsSync(path.join(dir, 'timm', '__init__.py'))) return `skipped: ${dir} has no timm/__init__.py`;
    return { dir, label: dir };
  }
  let commit: string;
  try {
    commit = execFileSync('git', ['--git-dir', opts.timmRepo, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return `skipped: no timm source (give --timm DIR, an extracted timm, or --timm-repo GIT_DIR; ${opts.timmRepo} is not a git repository)`;
  }
  const dir = path.join(workDir, `timm-${commit.slice(0, 12)}`);
  if (!fs.existsSync(path.join(dir, 'timm', '__init__.py'))) {
    fs.mkdirSync(dir, { recursive: true });
    const archive = spawnSync('git', ['--git-dir', opts.timmRepo, 'archive', commit, 'timm'], { maxBuffer: 1 << 30 });
    if (archive.status !== 0) return `skipped: git archive of ${opts.timmRepo} failed`;
    const tar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (tar.status !== 0) return `skipped: could not extract timm into ${dir}`;
  }
  return { dir, label: `${opts.timmRepo} @ ${commit.slice(0, 12)}` };
}

/** Exports a timm ViT once (opset 17, dynamic batch) into `workDir`; the file, or why not. */
export function timmExport(name: string, source: TimmSource, workDir: string, root: string): string | { error: string } {
  const model = TIMM_MODELS[name];
  const file = path.join(workDir, `${name}-${path.basename(source.dir)}.onnx`);
  if (fs.existsSync(file)) return file;
  const script = path.join(root, 'scripts', 'python', 'export_timm_vit.py');
  const tmp = `${file}.${process.pid}.tmp`;
  const r = spawnSync(PYTHON, [script, '--timm', source.dir, '--model', model, '--out', tmp, '--opset', '17'], { encoding: 'utf8' });
  if (r.status !== 0) return { error: `export of ${model} failed: ${r.stderr.trim().split('\n').pop()}` };
  fs.renameSync(tmp, file);
  return file;
}
