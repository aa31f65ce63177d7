// Entry of dist/worker.js: the child process the extension host forks. It owns one Engine and talks
// to the host over the Node IPC channel (see src/protocol/worker.ts). All model work happens here, so the
// extension host never blocks on onnxruntime.
import { readRegular } from '../engine/files';
import { defaultModelPath, Engine } from '../engine/index';
import type { PreviewResult } from '../operations/preview';
import type { WorkerToHost } from '../protocol/worker';
import { WorkerServer, type WorkerPort } from './server';

/** A preview's rendering: sharp, already the engine's image decoder. */
async function renderPreview(imagePath: string, maxSize: number): Promise<PreviewResult> {
  const sharp = (await import('sharp')).default;
  const size = Math.max(16, Math.min(4096, Math.round(maxSize)));
  // Read by the engine's reader, not sharp: only a regular file is opened (a FIFO would block forever).
  const { data, info } = await sharp(readRegular(imagePath, 'image'), { pages: 1 })
    .rotate()
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { dataUri: `data:image/png;base64,${data.toString('base64')}`, width: info.width, height: info.height };
}

function main(): void {
  const send = process.send?.bind(process);
  if (!send) {
    console.error('dist/worker.js is the Neuron Path engine worker; the extension starts it with child_process.fork.');
    process.exitCode = 2;
    return;
  }
  const port: WorkerPort = {
    send: (message: WorkerToHost) => { send(message); },
    onMessage: (listener) => { process.on('message', listener); },
    exit: (code) => {
      // Let queued IPC messages go out before leaving.
      if (process.connected) process.disconnect();
      setTimeout(() => process.exit(code), 50).unref();
    },
  };
  const server = new WorkerServer(port, {
    openEngine: (options, hooks) => Engine.open(options, hooks),
    defaultModelPath,
    render: renderPreview,
  });
  // Ctrl-C in a terminal reaches the CLI's workers too (`batch --jobs N`): the parent decides, and
  // cancels over IPC.
  process.on('SIGINT', () => { /* ignored */ });
  // The host went away (window closed, extension host crashed): nothing left to do.
  process.on('disconnect', () => { void server.shutdown().finally(() => process.exit(0)); });
  const fatal = (err: unknown): void => {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    try {
      send({ type: 'fatal', error: { code: 'internal', message: `The Neuron Path worker failed: ${detail.split('\n', 1)[0]}`, detail } });
    } catch { /* channel closed */ }
    setTimeout(() => process.exit(1), 50);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  server.start(process.pid);
}

main();
