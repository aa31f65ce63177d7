// The sha256 of a file, read as a stream: models of hundreds of MB are hashed without holding them
// in memory or blocking the thread. The one hash helper of the engine, the worker and the extension.
// The file is opened as files.ts opens every file a user names: regular files only, never blocking.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileRole } from './errors';
import { ioError, openRegular, type FsPath } from './files';

export function sha256File(file: FsPath, role: FileRole): Promise<string> {
  return new Promise((resolve, reject) => {
    const { fd } = openRegular(file, role); // what it throws rejects the promise
    const hash = createHash('sha256');
    createReadStream('', { fd, autoClose: true })
      .on('error', (e) => reject(ioError(e as NodeJS.ErrnoException, file, role)))
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
