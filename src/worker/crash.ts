// Why a worker process ended, in words, for the messages of the extension and of `batch --jobs`: the
// signal or exit code, whether it was most likely out of memory (the kernel's out-of-memory killer
// sends SIGKILL; onnxruntime's std::bad_alloc and V8's heap limit abort with SIGABRT), and the memory
// it had: the model file's size, the machine's memory and a container's (cgroup) limit. The worker's
// own last words (the library's message) stay in the log.
import * as fs from 'node:fs';
import * as os from 'node:os';

const MEMORY_SIGNALS = new Set(['SIGKILL', 'SIGABRT']);

/** Whether an exit looks like running out of memory (a shell's 128 + signal exit codes included). */
export function likelyOutOfMemory(code: number | null, signal: string | null): boolean {
  return MEMORY_SIGNALS.has(signal ?? '') || code === 128 + os.constants.signals.SIGKILL || code === 128 + os.constants.signals.SIGABRT;
}

/** "it was killed (SIGKILL)", "it aborted (SIGABRT)", "it crashed (SIGSEGV)", "it exited with code 7". */
export function howItEnded(code: number | null, signal: string | null): string {
  if (signal === 'SIGKILL') return 'it was killed (SIGKILL)';
  if (signal === 'SIGABRT') return 'it aborted (SIGABRT)';
  if (signal) return `it crashed (${signal})`;
  return `it exited with code ${code}`;
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MB`;

/** The memory a container may use (cgroup v2, else v1), when it is limited below the machine's. */
function containerLimit(): number | undefined {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const limit = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isFinite(limit) && limit > 0 && limit < os.totalmem()) return limit;
    } catch { /* not there: no limit of that kind */ }
  }
  return undefined;
}

/** "the model file is 330 MB; this machine has 1.2 GB of 7.8 GB free (a container limit of 4.0 GB)". */
export function memoryFacts(modelPath?: string): string {
  let model = '';
  try { if (modelPath) model = `the model file is ${mb(fs.statSync(modelPath).size)} (an analysis needs a few times that); `; } catch { /* gone: not said */ }
  const limit = containerLimit();
  return `${model}this machine has ${gb(os.freemem())} of ${gb(os.totalmem())} free${limit ? `, and a container limit (cgroup) of ${gb(limit)}` : ''}`;
}

/**
 * What happened, in one sentence without advice (each front end adds its own: settings or flags):
 * "it was killed (SIGKILL), most likely for lack of memory (...): the model file is ..., this machine has ...".
 */
export function crashWords(code: number | null, signal: string | null, modelPath?: string): string {
  const how = howItEnded(code, signal);
  if (!likelyOutOfMemory(code, signal)) return how;
  const why = signal === 'SIGABRT' || code === 128 + os.constants.signals.SIGABRT
    ? 'most likely out of memory (onnxruntime and Node abort when an allocation fails)'
    : 'most likely out of memory (the system\'s out-of-memory killer sends SIGKILL; so does kill -9)';
  return `${how}, ${why}: ${memoryFacts(modelPath)}`;
}
