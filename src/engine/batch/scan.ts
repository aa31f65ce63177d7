// Finds the images of a folder and their classes. ImageFolder layout: each sub-folder is a class,
// matched to the model's labels by name (case, spaces and punctuation ignored) or, for a folder
// named by a number, by class index; images inside are found at any depth. Images at the top of
// the folder have no folder class (a flat folder is grouped by predicted class later).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors';
import { undecodable } from '../files';
import type { FolderClass } from './records';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'];

export interface BatchItem extends FolderClass {
  image: string;                    // absolute path
}

export interface FolderScan {
  root: string;
  layout: 'imagefolder' | 'flat';
  items: BatchItem[];               // classes interleaved, so a --limit or a stopped run covers every class
  classes: { folder: string; trueClass: number | null; count: number }[];
  unmatched: string[];              // sub-folders whose name matches no label (kept, trueClass null)
  undecodable: string[];            // entries whose names are not valid UTF-8: Node cannot open them by name
}

export const isImageFile = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).slice(1).toLowerCase());

/** Lowercase letters and digits only: "T-shirt/top" and "tshirt_top" are the same class. */
export const normalizeLabel = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

export function matchClass(folder: string, labels: string[]): number | null {
  const byName = labels.findIndex((l) => normalizeLabel(l) === normalizeLabel(folder) && normalizeLabel(l) !== '');
  if (byName >= 0) return byName;
  if (/^\d+$/.test(folder)) {
    const i = Number(folder);
    return i < labels.length ? i : null;
  }
  return null;
}

const visible = (name: string) => !name.startsWith('.');
const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

function imagesUnder(dir: string, undecodableNames: string[]): string[] {
  const out: string[] = [];
  for (const e of entries(dir, undecodableNames)) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...imagesUnder(full, undecodableNames));
    else if (e.isFile() && isImageFile(e.name)) out.push(full);
  }
  return out;
}

/** Visible entries by name; names that are not valid UTF-8 are set aside (readdir gives them with U+FFFD). */
function entries(dir: string, undecodableNames: string[]): fs.Dirent[] {
  const all = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => visible(d.name));
  for (const d of all) if (undecodable(d.name)) undecodableNames.push(path.join(dir, d.name));
  return all.filter((d) => !undecodable(d.name)).sort((a, b) => byName(a.name, b.name));
}

export function scanFolder(dir: string, labels: string[]): FolderScan {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new EngineError('not-found', `folder ${root} does not exist`, { file: root, role: 'folder' });
  if (!fs.statSync(root).isDirectory()) throw new EngineError('not-a-file', `${root} is not a folder`, { file: root, role: 'folder' });
  const undecodableNames: string[] = [];
  const top = entries(root, undecodableNames);
  const groups: BatchItem[][] = [];
  const classes: FolderScan['classes'] = [];
  const unmatched: string[] = [];
  for (const e of top.filter((d) => d.isDirectory())) {
    const images = imagesUnder(path.join(root, e.name), undecodableNames);
    if (!images.length) continue;
    const trueClass = matchClass(e.name, labels);
    if (trueClass === null) unmatched.push(e.name);
    classes.push({ folder: e.name, trueClass, count: images.length });
    groups.push(images.map((image) => ({ image, trueClass, folderLabel: e.name })));
  }
  const flat = top.filter((d) => d.isFile() && isImageFile(d.name)).map((d) => ({ image: path.join(root, d.name), trueClass: null, folderLabel: null }));
  if (flat.length) groups.push(flat);
  if (!groups.length) throw new EngineError('image', `no images (${IMAGE_EXTENSIONS.join(', ')}) in ${root}`, { file: root, role: 'folder' });
  return { root, layout: classes.length ? 'imagefolder' : 'flat', items: interleave(groups), classes, unmatched, undecodable: undecodableNames };
}

/** Round robin over the groups: a, b, c, a, b, c, ... then the rest of the longer ones. */
export function interleave<T>(groups: T[][]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...groups.map((g) => g.length));
  for (let i = 0; i < longest; i++) for (const g of groups) if (i < g.length) out.push(g[i]);
  return out;
}
