// The sha256 of a file, read as a stream: models of hundreds of MB are hashed without holding them
// in memory or blocking the thread. The one hash helper of the engine, the worker and the extension.
// The file is opened as files.ts opens every file a user names: regular files only, never blocking.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileRole } from './errors';
import { ioError, openRegular, sameStamp, type FileStamp, type FsPath } from './files';

/**
 * A file's sha256 and the stamp the file had before it was read: the hash is the file's while the
 * file keeps that stamp. What a caller that hashed a file hands on, so the file is not hashed again.
 */
export interface FileHash extends FileStamp { sha256: string }

export function hashFile(file: FsPath, role: FileRole): Promise<FileHash> {
  return new Promise((resolve, reject) => {
    const { fd, stamp } = openRegular(file, role); // what it throws rejects the promise
    const hash = createHash('sha256');
    createReadStream('', { fd, autoClose: true })
      .on('error', (e) => reject(ioError(e as NodeJS.ErrnoException, file, role)))
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve({ ...stamp, sha256: hash.digest('hex') }));
  });
}

export async function sha256File(file: FsPath, role: FileRole): Promise<string> {
  return (await hashFile(file, role)).sha256;
}

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The sha256 of `bytes`, read from a file that then had `stamp`: `known`'s where it was made of that same version. */
export function sha256OfRead(bytes: Uint8Array, stamp: FileStamp, known: FileHash | undefined): string {
  return known && sameStamp(known, stamp) ? known.sha256 : sha256Of(bytes);
}
