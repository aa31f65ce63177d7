// Finds the images of a folder and their classes. ImageFolder layout: each sub-folder is a class,
// matched to the model's labels by name (case, spaces and punctuation ignored) or, for a folder
// named by a number, by class index; images inside are found at any depth. Images at the top of
// the folder take their class from the folder's `labels.json` (file name -> class index or name),
// where it has one; without it they have no folder class (grouped by predicted class later).
// Datasets are often made of links: symbolic links to images and to class folders are followed,
// wherever they point, and every real file and folder (device and inode) is taken once, where the
// scan first meets it; a link back into a folder being scanned is a loop and is not followed again.
// A link to nothing is an item with its problem, so the run writes an error line for it. Names are
// read as bytes: a name that is not UTF-8 is still opened (by its bytes) and recorded losslessly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../errors';
import { ioError, pathRecord, pathText, recordedPath, type FsPath } from '../files';
import { IMAGE_EXTENSIONS, isImageFileName } from '../options';
import type { FolderClass } from './schema';

export interface BatchItem extends FolderClass {
  image: string;                    // absolute path; bytes of a name that are not UTF-8 shown as \xHH
  imageBase64?: string;             // only for such a name: the path's bytes, base64 (itemFile opens them)
  problem?: string;                 // why it cannot be analysed (a link to nothing): written as its error line
}

/** An entry reached a second time through a symbolic link: not taken again. */
export interface ReachedAgain {
  path: string;                     // where it was reached again
  first: string;                    // where it was taken
  loop: boolean;                    // a folder that contains the link: following it would never end
}

export interface FolderScan {
  root: string;
  layout: 'imagefolder' | 'flat';
  labelsFile?: string;              // the labels.json that gave the classes of the images at the top
  items: BatchItem[];               // classes interleaved, so a --limit or a stopped run covers every class
  classes: { folder: string; trueClass: number | null; count: number }[];
  unmatched: string[];              // sub-folders (and labels.json classes) that match no label (kept, trueClass null)
  again: ReachedAgain[];            // files and folders met again through links (each real one is analysed once)
  dangling: string[];               // links to nothing (each an item with its problem)
}


/** The file an item names: its path's bytes where they are not UTF-8. */
export const itemFile = (item: BatchItem): FsPath => recordedPath({ path: item.image, pathBase64: item.imageBase64 });

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

const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
const SEP = Buffer.from(path.sep);
const DOT = 0x2e;

interface Entry { name: string; file: Buffer }
type Found = { file: Buffer; problem?: string };

/** Visible entries by name (as text), each with its full path as bytes. */
function entries(dir: Buffer): Entry[] {
  return fs.readdirSync(dir, { encoding: 'buffer' }).filter((n) => n[0] !== DOT)
    .map((n) => ({ name: pathText(n), file: Buffer.concat([dir, SEP, n]) }))
    .sort((a, b) => byName(a.name, b.name));
}

/** What the scan walks: every real file and folder taken (device:inode -> where), and the folders being walked. */
class Walk {
  readonly taken = new Map<string, string>();
  readonly open = new Set<string>();
  readonly again: ReachedAgain[] = [];
  readonly dangling: string[] = [];

  /** What an entry is, links followed; a link to nothing (or to itself) gives its problem. */
  kind(e: Entry): { dir: boolean; id: string } | { problem: string } | undefined {
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(e.file, { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ELOOP') throw ioError(err as NodeJS.ErrnoException, e.file, 'folder');
      // A link to nothing named like an image or a folder (no extension) is part of the dataset; other names are not.
      if (!isImageFileName(e.name) && path.extname(e.name)) return undefined;
      this.dangling.push(pathText(e.file));
      return { problem: ioError(err as NodeJS.ErrnoException, e.file, isImageFileName(e.name) ? 'image' : 'folder').message };
    }
    const id = `${st.dev}:${st.ino}`;
    if (st.isDirectory()) return { dir: true, id };
    return st.isFile() && isImageFileName(e.name) ? { dir: false, id } : undefined;
  }

  /** Takes a real file or folder the first time it is met; false (and noted) when it was met before. */
  take(id: string, file: Buffer): boolean {
    const first = this.taken.get(id);
    if (first === undefined) { this.taken.set(id, pathText(file)); return true; }
    this.again.push({ path: pathText(file), first, loop: this.open.has(id) });
    return false;
  }

  /** The images under a folder, at any depth, each real file once. */
  images(dir: Buffer, id: string, out: Found[] = []): Found[] {
    this.open.add(id);
    for (const e of entries(dir)) {
      const k = this.kind(e);
      if (!k) continue;
      if ('problem' in k) out.push({ file: e.file, problem: k.problem });
      else if (!this.take(k.id, e.file)) continue;
      else if (k.dir) this.images(e.file, k.id, out);
      else out.push({ file: e.file });
    }
    this.open.delete(id);
    return out;
  }
}

/** A flat folder's classes: this file at its top maps each image's file name to a class index or name. */
export const FOLDER_LABELS_FILE = 'labels.json';

const labelsFileError = (file: string, what: string) =>
  new EngineError('labels', `${file} ${what}: it must map image file names to class indices or names, e.g. {"coat-1.png": 4}`, { file, role: 'folder' });

/** The classes `labels.json` gives the images at a folder's top: a class index, or a name matched as a folder name is (null: none matches). */
function folderLabels(root: string, labels: string[]): Map<string, { trueClass: number | null; given: string }> | undefined {
  const file = path.join(root, FOLDER_LABELS_FILE);
  if (!fs.existsSync(file)) return undefined;
  let parsed: unknown;
  try { parsed = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { throw labelsFileError(file, `is not valid JSON (${(e as Error).message})`); }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw labelsFileError(file, 'is not a JSON object');
  const out = new Map<string, { trueClass: number | null; given: string }>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) out.set(name, { trueClass: value < labels.length ? value : null, given: String(value) });
    else if (typeof value === 'string') out.set(name, { trueClass: matchClass(value, labels), given: value });
    else throw labelsFileError(file, `gives ${JSON.stringify(value)} for ${JSON.stringify(name)}`);
  }
  return out;
}

export function scanFolder(dir: string, labels: string[]): FolderScan {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new EngineError('not-found', `folder ${root} does not exist`, { file: root, role: 'folder' });
  const rootStat = fs.statSync(root, { bigint: true });
  if (!rootStat.isDirectory()) throw new EngineError('not-a-file', `${root} is not a folder`, { file: root, role: 'folder' });
  const walk = new Walk();
  const rootId = `${rootStat.dev}:${rootStat.ino}`;
  walk.taken.set(rootId, root);
  walk.open.add(rootId);
  const top = entries(Buffer.from(root)).map((e) => ({ e, k: walk.kind(e) }));
  const item = (f: Found, trueClass: number | null, folderLabel: string | null): BatchItem => {
    const { path: image, pathBase64 } = pathRecord(f.file);
    return { image, ...(pathBase64 !== undefined ? { imageBase64: pathBase64 } : {}), ...(f.problem ? { problem: f.problem } : {}), trueClass, folderLabel };
  };
  const groups: BatchItem[][] = [];
  const classes: FolderScan['classes'] = [];
  const unmatched: string[] = [];
  for (const { e, k } of top) {
    if (!k || 'problem' in k || !k.dir || !walk.take(k.id, e.file)) continue;
    const images = walk.images(e.file, k.id);
    if (!images.length) continue;
    const trueClass = matchClass(e.name, labels);
    if (trueClass === null) unmatched.push(e.name);
    classes.push({ folder: e.name, trueClass, count: images.length });
    groups.push(images.map((f) => item(f, trueClass, e.name)));
  }
  // Images at the top (their class from labels.json), and links to nothing there (a class folder or an image, whichever it was).
  const given = folderLabels(root, labels);
  const classOf = (name: string): number | null => {
    const g = given?.get(name);
    if (g && g.trueClass === null && !unmatched.includes(g.given)) unmatched.push(g.given);
    return g?.trueClass ?? null;
  };
  const flat = top.flatMap(({ e, k }) => (!k ? [] : 'problem' in k ? [item({ file: e.file, problem: k.problem }, classOf(e.name), null)]
    : !k.dir && walk.take(k.id, e.file) ? [item({ file: e.file }, classOf(e.name), null)] : []));
  if (flat.length) groups.push(flat);
  if (!groups.length) throw new EngineError('image', `no images (${IMAGE_EXTENSIONS.join(', ')}) in ${root}`, { file: root, role: 'folder' });
  return { root, layout: classes.length ? 'imagefolder' : 'flat', ...(given ? { labelsFile: path.join(root, FOLDER_LABELS_FILE) } : {}), items: interleave(groups), classes, unmatched, again: walk.again, dangling: walk.dangling };
}

/** What a scan met besides images, one line each, for the log of a folder run (paths relative to the folder). */
export function scanNotes(scan: FolderScan): string[] {
  const rel = (p: string) => path.relative(scan.root, p) || '.';
  const some = (list: string[]) => `${list.slice(0, 3).join(', ')}${list.length > 3 ? `, ... (${list.length - 3} more)` : ''}`;
  const notes: string[] = [];
  const loops = scan.again.filter((a) => a.loop), twice = scan.again.filter((a) => !a.loop);
  if (twice.length) {
    const s = twice.length === 1 ? '' : 's';
    notes.push(`${twice.length} file${s} or folder${s} reached again through symbolic links, each taken once: ` +
      some(twice.map((a) => `${rel(a.path)} (as ${rel(a.first)})`)));
  }
  if (loops.length) notes.push(`${loops.length} symbolic link loop${loops.length === 1 ? '' : 's'} not followed again: ${some(loops.map((a) => `${rel(a.path)} -> ${rel(a.first)}`))}`);
  if (scan.dangling.length) notes.push(`${scan.dangling.length} symbolic link${scan.dangling.length === 1 ? '' : 's'} to nothing, written as error lines: ${some(scan.dangling.map(rel))}`);
  return notes;
}

/** Round robin over the groups: a, b, c, a, b, c, ... then the rest of the longer ones. */
export function interleave<T>(groups: T[][]): T[] {
  const out: T[] = [];
  const longest = Math.max(0, ...groups.map((g) => g.length));
  for (let i = 0; i < longest; i++) for (const g of groups) if (i < g.length) out.push(g[i]);
  return out;
}
