// Where the e2e test finds the project, its tools and its output. Compiled to out/test/e2e/lib/.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const OUTPUT_DIR = path.join(ROOT, 'test-output', 'e2e');
export const SAMPLES_DIR = path.join(ROOT, 'media', 'samples');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** The folder install-code-server.sh installs into. */
export const E2E_HOME = process.env.NEURON_PATH_E2E_HOME ?? path.join(os.homedir(), '.cache', 'neuron-path-e2e');

/** How to run code-server: a command and the arguments before code-server's own. */
export interface CodeServerCommand { command: string; args: string[]; where: string }

export function findCodeServer(): CodeServerCommand | undefined {
  const explicit = process.env.NEURON_PATH_CODE_SERVER;
  if (explicit) return commandFor(explicit);
  const installed = path.join(E2E_HOME, 'code-server');
  const entry = path.join(installed, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (fs.existsSync(path.join(installed, '.installed')) && fs.existsSync(entry)) return commandFor(entry);
  const onPath = which('code-server');
  return onPath ? commandFor(onPath) : undefined;
}

function commandFor(file: string): CodeServerCommand {
  // code-server's npm entry is a script for the Node that installed it; run it with ours.
  return file.endsWith('.js')
    ? { command: process.execPath, args: [file], where: file }
    : { command: file, args: [], where: file };
}

export function findChromium(): string | undefined {
  const explicit = process.env.NEURON_PATH_CHROMIUM;
  if (explicit) return explicit;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const found = which(name);
    if (found) return found;
  }
  return undefined;
}

function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A fresh temporary folder, removed by the caller. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `neuron-path-${prefix}-`));
}

/** The sample images, sorted by name (media/samples, e.g. coat-1.png). */
export function sampleImages(): string[] {
  if (!fs.existsSync(SAMPLES_DIR)) return [];
  return fs.readdirSync(SAMPLES_DIR).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
}
