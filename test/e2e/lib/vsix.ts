// The packaged extension the e2e test installs: the one `npm run package` made, made again here when
// it is missing or holds other bundles than dist/ (scripts/package.mjs notes what it packed).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './paths';

/** What scripts/package.mjs notes in .cache/vsix/<name>.vsix.json. */
interface PackageNote { vsix: string; size: number; mtimeMs: number; target: string; bundles: Record<string, string> }

export function vsixTarget(): string {
  return `${process.platform}-${process.arch}`;
}

export function ensureVsix(log: (line: string) => void = () => {}): string {
  const explicit = process.env.NEURON_PATH_VSIX;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`NEURON_PATH_VSIX=${explicit} does not exist`);
    return explicit;
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const target = vsixTarget();
  const vsix = path.join(ROOT, `${manifest.name}-${manifest.version}-${target}.vsix`);
  const stale = staleness(vsix);
  if (stale) {
    log(`packaging the extension (${stale})`);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--target', target, '--out', vsix], {
      cwd: ROOT, encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`scripts/package.mjs failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    log(r.stdout.trim().split('\n').pop() ?? '');
  }
  return vsix;
}

function staleness(vsix: string): string | undefined {
  if (!fs.existsSync(vsix)) return `${path.basename(vsix)} does not exist`;
  let note: PackageNote;
  try {
    note = JSON.parse(fs.readFileSync(path.join(ROOT, '.cache', 'vsix', `${path.basename(vsix)}.json`), 'utf8')) as PackageNote;
  } catch {
    return 'there is no note of what it holds';
  }
  const stat = fs.statSync(vsix);
  if (note.vsix !== vsix || note.size !== stat.size || note.mtimeMs !== stat.mtimeMs) return 'it is not the one last packaged here';
  for (const [file, sha] of Object.entries(note.bundles)) {
    const abs = path.join(ROOT, file);
    if (!fs.existsSync(abs)) return `${file} is missing`;
    if (createHash('sha256').update(fs.readFileSync(abs)).digest('hex') !== sha) return `${file} changed since it was packaged`;
  }
  return undefined;
}
