// Opening the files a user names (models, external data, images, config, result files): only
// regular files, opened without blocking, and never more bytes than a bound. A FIFO or a device
// would block `open` or `read` forever, and a process stuck in a blocking open cannot be cancelled.
// Writing them: whole or not at all (a temporary file in the same folder, renamed into place), so a
// full disk or a kill mid-write leaves the old file as it was.
import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError, type FileRole } from './errors';

const MIB = 1024 * 1024;

/** The most bytes read into memory at once, per kind of file. */
export const MAX_BYTES: Record<FileRole, number> = {
  model: 2048 * MIB - 1,          // protobuf's own limit; larger models keep weights in external data
  'external-data': 2048 * MIB - 1,
  image: 1024 * MIB,
  preprocessor: 16 * MIB,
  labels: 64 * MIB,
  'result-file': Number.MAX_SAFE_INTEGER, // streamed, never read whole
  folder: 0,
  cache: 16 * MIB,
  lock: 64 * 1024,
  output: 256 * MIB,                // an earlier output read back to decide whether it may be replaced
  record: 256 * MIB,                // one analysis (analyze --json); a ViT-L record with maps is about 5 MiB
};

const ROLE_WORDS: Record<FileRole, string> = {
  model: 'model file', 'external-data': 'external data file', image: 'image', preprocessor: 'preprocessing config',
  labels: 'labels file', 'result-file': 'result file', folder: 'folder', cache: 'cache entry', lock: 'lock file', output: 'output file', record: 'record',
};

/** A file name Node could not decode: argv gives U+FFFD where the bytes were not UTF-8. */
export const undecodable = (file: string) => file.includes('\uFFFD');

/**
 * A path as the file system has it: a string, or its bytes where they are not UTF-8 (Linux names
 * are bytes; Node opens such a file only by a Buffer path). Folder scans read names as bytes.
 */
export type FsPath = string | Buffer;

/** The bytes of a path as text: UTF-8 where they are, each other byte as `\xHH` (for messages and display). */
export function pathText(file: FsPath): string {
  if (typeof file === 'string') return file;
  if (isUtf8(file)) return file.toString('utf8');
  let out = '', start = 0;
  for (let i = 0; i < file.length;) {
    const n = utf8Length(file, i);
    if (n) { i += n; continue; }
    out += `${file.toString('utf8', start, i)}\\x${file[i].toString(16).toUpperCase().padStart(2, '0')}`;
    start = ++i;
  }
  return out + file.toString('utf8', start);
}

/** The length of the valid UTF-8 sequence at `i`, or 0 if none starts there. */
function utf8Length(b: Buffer, i: number): number {
  const lead = b[i];
  const n = lead < 0x80 ? 1 : lead >> 5 === 0b110 ? 2 : lead >> 4 === 0b1110 ? 3 : lead >> 3 === 0b11110 ? 4 : 0;
  return n && i + n <= b.length && isUtf8(b.subarray(i, i + n)) ? n : 0;
}

/**
 * A path as a string and, only where its bytes are not UTF-8, the bytes in base64: what records
 * and messages carry (JSON has no bytes), losslessly. `pathText` is what is shown.
 */
export function pathRecord(file: FsPath): RecordedPath {
  return typeof file === 'string' || isUtf8(file) ? { path: pathText(file) } : { path: pathText(file), pathBase64: file.toString('base64') };
}

export interface RecordedPath { path: string; pathBase64?: string }

/** The path a `pathRecord` names. */
export const recordedPath = (p: RecordedPath): FsPath => (p.pathBase64 !== undefined ? Buffer.from(p.pathBase64, 'base64') : p.path);

/** What tells two recorded paths apart: the bytes where the name is not UTF-8 (its text form could be another name's). */
export const pathKey = (p: RecordedPath): string => (p.pathBase64 !== undefined ? `base64:${p.pathBase64}` : p.path);

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Which version of a file was read, without reading it again: its size and times. ctime changes with
 * every write, even one that sets mtime back (cp -p, tar); a rewrite of the same size within one tick
 * of the file system's clock is the case this cannot tell apart.
 */
export interface FileStamp { size: number; mtimeMs: number; ctimeMs: number }

export const stampOf = (st: fs.Stats): FileStamp => ({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });

export const sameStamp = (a: FileStamp, b: FileStamp): boolean => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

/**
 * Opens a regular file for reading and returns its descriptor, size and stamp. O_NONBLOCK makes
 * opening a FIFO return at once (it is then refused by fstat); on a regular file it changes nothing.
 */
export function openRegular(file: FsPath, role: FileRole): { fd: number; size: number; stamp: FileStamp } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw ioError(e as NodeJS.ErrnoException, file, role);
  }
  try {
    const st = fs.fstatSync(fd);
    const name = pathText(file);
    if (!st.isFile()) {
      throw new EngineError('not-a-file', `${ROLE_WORDS[role]} ${name} is ${kindOf(st)}, not a regular file`, { file: name, role });
    }
    if (st.size > MAX_BYTES[role]) {
      throw new EngineError('too-large', `${ROLE_WORDS[role]} ${name} is ${(st.size / MIB).toFixed(0)} MiB, more than the ${(MAX_BYTES[role] / MIB).toFixed(0)} MiB read for one`, { file: name, role, bytes: st.size });
    }
    return { fd, size: st.size, stamp: stampOf(st) };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file, within its role's bound. */
export function readRegular(file: FsPath, role: FileRole): Buffer {
  return readStamped(file, role).bytes;
}

/**
 * The whole of a regular file, within its role's bound, and its stamp once read: a write during the
 * read gives a stamp that no earlier look at the file had.
 */
export function readStamped(file: FsPath, role: FileRole): { bytes: Buffer; stamp: FileStamp } {
  const { fd, size } = openRegular(file, role);
  try {
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = fs.readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return { bytes: at === size ? buf : buf.subarray(0, at), stamp: stampOf(fs.fstatSync(fd)) };
  } catch (e) {
    throw e instanceof EngineError ? e : ioError(e as NodeJS.ErrnoException, file, role);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a path names a regular file (for optional files such as labels.txt beside a model). */
export function isRegularFile(file: string): boolean {
  try { return fs.statSync(file).isFile(); } catch { return false; }
}

/** Where a symbolic link points (as written in the link), or undefined when the path is not one. */
export function linkTarget(file: FsPath): string | undefined {
  try { return pathText(fs.readlinkSync(file, { encoding: 'buffer' })); } catch { return undefined; }
}

/** A Node I/O error as an engine error that names the file and what it is to the user. */
export function ioError(e: NodeJS.ErrnoException, fsPath: FsPath, role: FileRole): EngineError {
  if (e instanceof EngineError) return e;
  const file = pathText(fsPath);
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
    const link = linkTarget(fsPath);
    if (link !== undefined) return new EngineError('not-found', `${ROLE_WORDS[role]} ${file} is a symbolic link to ${link}, which does not exist`, { file, role });
    const why = undecodable(file) ? ' (its name is not valid UTF-8, and a name given as text cannot carry its bytes: analyse its folder, whose names are read as bytes, or rename it)' : '';
    return new EngineError('not-found', `${ROLE_WORDS[role]} ${file} does not exist${why}`, { file, role });
  }
  if (e.code === 'ELOOP') return new EngineError('not-found', `${ROLE_WORDS[role]} ${file} is a symbolic link that leads back to itself`, { file, role });
  if (e.code === 'EISDIR') return new EngineError('not-a-file', `${ROLE_WORDS[role]} ${file} is a folder, not a regular file`, { file, role });
  return new EngineError('io', `cannot read ${ROLE_WORDS[role]} ${file} (${e.code ?? e.message})`, { file, role, errno: e.code });
}

/** A Node error while writing, as an engine error that names the file. */
function writeError(e: NodeJS.ErrnoException, file: string, role: FileRole): EngineError {
  if (e instanceof EngineError) return e;
  const why = e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EFBIG' ? 'larger than the file size limit (ulimit -f)' : e.code === 'EROFS' ? 'a read-only file system' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied'
    : e.code === 'ENOENT' ? 'its folder does not exist' : e.code === 'ENOTDIR' ? 'a part of its folder is not a folder' : (e.code ?? e.message);
  return new EngineError('io', `cannot write ${ROLE_WORDS[role]} ${file} (${why})`, { file, role, errno: e.code });
}

/** The file a write to `file` changes: a link's target (its links stay links), else `file`. */
export function writeTarget(file: string): string {
  const abs = path.resolve(file);
  try { return fs.realpathSync(abs); } catch { /* missing, or a dangling link */ }
  try { return path.resolve(path.dirname(abs), fs.readlinkSync(abs)); } catch { return abs; }
}

/** Whether two paths name the same file (device and inode, links followed); false when either is missing. */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a), sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch { return false; }
}

const tempName = (target: string, what: string) => path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.${what}`);

/**
 * Checks, before any work, that `file` can be written: it is not a folder or a device, and its
 * folder takes a new file (a file is created and removed there: permissions, a read-only or full
 * file system and a missing folder all show now, not after the analysis).
 */
export function checkWritable(file: string, role: FileRole): void {
  const target = writeTarget(file);
  try {
    const st = fs.statSync(target);
    if (!st.isFile()) throw new EngineError('not-a-file', `${ROLE_WORDS[role]} ${file} is ${kindOf(st)}, not a regular file`, { file, role });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(e as NodeJS.ErrnoException, file, role);
  }
  const probe = tempName(target, 'probe');
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.rmSync(probe, { force: true });
  } catch (e) {
    throw writeError(e as NodeJS.ErrnoException, file, role);
  }
}

/**
 * Writes `file` whole or not at all: the parts go into a temporary file beside it, which is synced
 * and renamed over it (a link is followed, so its target is replaced and the link stays). On any
 * failure the temporary file is removed and `file` is as it was.
 */
export function writeAtomic(file: string, role: FileRole, parts: Iterable<string | Uint8Array>): void {
  const target = writeTarget(file);
  const tmp = tempName(target, 'tmp');
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    for (const part of parts) {
      const buf = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
      for (let at = 0; at < buf.length;) at += fs.writeSync(fd, buf, at, buf.length - at);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw writeError(e as NodeJS.ErrnoException, file, role);
  }
}
