// The sha256 of a file, read as a stream: models of hundreds of MB are hashed without holding them
// in memory or blocking the thread. The one hash helper of the engine, the worker and the extension.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
