// End-to-end: the packaged .vsix in a real VS Code (code-server 4.100, the extension host for real)
// driven by chromium. See test/e2e/README.md. Skipped when code-server or chromium is missing, unless
// CI is set: then that is a failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser } from 'playwright-core';
import { CodeServer } from './lib/codeServer';
import { defineFlow, type E2ESession } from './lib/flow';
import { defineInterveneFlow } from './lib/interveneFlow';
import { defineLargeModelFlow } from './lib/largeModelFlow';
import { findChromium, findCodeServer, IN_CI, OUTPUT_DIR, SAMPLES_DIR, tempDir } from './lib/paths';
import { ensureVsix } from './lib/vsix';
import { BASE_SETTINGS, launchChromium, Workbench } from './lib/workbench';

const codeServerCommand = findCodeServer();
const chromiumPath = findChromium();
const missing = [
  codeServerCommand ? '' : 'code-server (bash test/e2e/install-code-server.sh)',
  chromiumPath ? '' : 'chromium (apt-get install chromium)',
].filter(Boolean);
const skip = missing.length && !IN_CI ? `not installed: ${missing.join(', ')}` : false;

describe('Neuron Path in code-server, driven by chromium', { skip }, () => {
  let dir = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let session: E2ESession | undefined;
  const log = (line: string): void => { if (line) console.log(`# e2e: ${line}`); };

  before(async () => {
    if (!codeServerCommand || !chromiumPath) throw new Error(`CI is set and the e2e tools are missing: ${missing.join(', ')}`);
    const vsix = ensureVsix(log);
    log(`installing ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1024 / 1024).toFixed(1)} MiB) into ${codeServerCommand.where}`);
    dir = tempDir('e2e-code-server');
    const workspace = path.join(dir, 'samples');
    fs.cpSync(SAMPLES_DIR, workspace, { recursive: true });
    server = new CodeServer({ command: codeServerCommand, dir, settings: BASE_SETTINGS, log });
    server.installExtension(vsix);
    await server.start();
    browser = await launchChromium(chromiumPath);
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    await page.goto(server.folderUrl(workspace));
    const workbench = new Workbench(page, workspace);
    await workbench.waitReady();
    const s = server;
    session = { label: 'code-server', workbench, workspace, diagnostics: () => `code-server log (end):\n${s.tail(20)}` };
  }, { timeout: 5 * 60_000 });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (server) keepLogs(server);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, { timeout: 60_000 });

  const started = (): E2ESession => {
    if (!session) throw new Error('the code-server session did not start (see the before hook)');
    return session;
  };
  defineFlow(started);
  defineInterveneFlow(started);
  // Outside the workspace: the model is no file of the user's.
  defineLargeModelFlow(started, () => path.join(dir, 'models', 'vit-s16'));
});

/** code-server's log and the window/extension host logs, into test-output/e2e/logs-code-server. */
function keepLogs(server: CodeServer): void {
  const dest = path.join(OUTPUT_DIR, 'logs-code-server');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  try { fs.copyFileSync(server.logFile, path.join(dest, 'code-server.log')); } catch { /* none */ }
  const logs = path.join(server.userDataDir, 'logs');
  if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dest, 'vscode'), { recursive: true });
}
