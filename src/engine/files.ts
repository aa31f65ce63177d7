// Opening the files a user names (models, external data, images, config, result files): only
// regular files, opened without blocking, and never more bytes than a bound. A FIFO or a device
// would block `open` or `read` forever, and a process stuck in a blocking open cannot be cancelled.
import * as fs from 'node:fs';
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
};

const ROLE_WORDS: Record<FileRole, string> = {
  model: 'model file', 'external-data': 'external data file', image: 'image', preprocessor: 'preprocessing config',
  labels: 'labels file', 'result-file': 'result file', folder: 'folder', cache: 'cache entry',
};

/** A file name Node could not decode: readdir and argv give U+FFFD where the bytes were not UTF-8. */
export const undecodable = (file: string) => file.includes('\uFFFD');

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens a regular file for reading and returns its descriptor and size. O_NONBLOCK makes opening
 * a FIFO return at once (it is then refused by fstat); on a regular file it changes nothing.
 */
export function openRegular(file: string, role: FileRole): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw ioError(e as NodeJS.ErrnoException, file, role);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new EngineError('not-a-file', `${ROLE_WORDS[role]} ${file} is ${kindOf(st)}, not a regular file`, { file, role });
    }
    if (st.size > MAX_BYTES[role]) {
      throw new EngineError('too-large', `${ROLE_WORDS[role]} ${file} is ${(st.size / MIB).toFixed(0)} MiB, more than the ${(MAX_BYTES[role] / MIB).toFixed(0)} MiB read for one`, { file, role, bytes: st.size });
    }
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file, within its role's bound. */
export function readRegular(file: string, role: FileRole): Buffer {
  const { fd, size } = openRegular(file, role);
  try {
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = fs.readSync(fd, buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === size ? buf : buf.subarray(0, at);
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

/** A Node I/O error as an engine error that names the file and what it is to the user. */
export function ioError(e: NodeJS.ErrnoException, file: string, role: FileRole): EngineError {
  if (e instanceof EngineError) return e;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
    const why = undecodable(file) ? ' (its name is not valid UTF-8, which Node cannot open: rename it)' : '';
    return new EngineError('not-found', `${ROLE_WORDS[role]} ${file} does not exist${why}`, { file, role });
  }
  if (e.code === 'EISDIR') return new EngineError('not-a-file', `${ROLE_WORDS[role]} ${file} is a folder, not a regular file`, { file, role });
  return new EngineError('io', `cannot read ${ROLE_WORDS[role]} ${file} (${e.code ?? e.message})`, { file, role, errno: e.code });
}
