// The same end-to-end flow in desktop VS Code (Electron): @vscode/test-electron downloads VS Code,
// its CLI installs the packaged .vsix, and playwright drives the window. Opt-in, because it needs the
// VS Code download (not reachable in our CI) and a display:
//   NEURON_PATH_E2E_ELECTRON=1 xvfb-run -a node --test out/test/e2e/electron/
// NEURON_PATH_VSCODE_VERSION picks the version (default: stable).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import { downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath } from '@vscode/test-electron';
import { _electron as electron, type ElectronApplication } from 'playwright-core';
import { defineFlow, type E2ESession } from '../lib/flow';
import { ROOT, SAMPLES_DIR, tempDir } from '../lib/paths';
import { ensureVsix } from '../lib/vsix';
import { BASE_SETTINGS, Workbench } from '../lib/workbench';

const enabled = process.env.NEURON_PATH_E2E_ELECTRON === '1';
const skip = enabled ? false : 'desktop VS Code suite is opt-in: NEURON_PATH_E2E_ELECTRON=1 (downloads VS Code, needs a display)';

describe('Neuron Path in desktop VS Code (Electron), driven by playwright', { skip }, () => {
  let dir = '';
  let app: ElectronApplication | undefined;
  let session: E2ESession | undefined;
  const log = (line: string): void => { if (line) console.log(`# e2e-electron: ${line}`); };

  before(async () => {
    const vsix = ensureVsix(log);
    const version = process.env.NEURON_PATH_VSCODE_VERSION ?? 'stable';
    const executable = await downloadAndUnzipVSCode({ version, cachePath: path.join(ROOT, '.vscode-test') });
    dir = tempDir('e2e-electron');
    const userDataDir = path.join(dir, 'user-data');
    const extensionsDir = path.join(dir, 'extensions');
    const workspace = path.join(dir, 'samples');
    fs.cpSync(SAMPLES_DIR, workspace, { recursive: true });
    const settingsFile = path.join(userDataDir, 'User', 'settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, `${JSON.stringify(BASE_SETTINGS, null, 2)}\n`);

    // test-electron's CLI arguments name its own profile folders; use ours instead.
    const [cli, ...cliArgs] = resolveCliArgsFromVSCodeExecutablePath(executable);
    const own = cliArgs.filter((a) => !/^--(extensions-dir|user-data-dir)(=|$)/.test(a));
    const profile = ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir];
    const r = spawnSync(cli, [...own, ...profile, '--install-extension', vsix, '--force'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`installing ${vsix} failed:\n${r.stdout}\n${r.stderr}`);

    app = await electron.launch({
      executablePath: executable,
      args: [
        workspace, ...profile, '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes',
        '--disable-telemetry', '--disable-updates', '--disable-gpu', '--no-sandbox', '--new-window',
      ],
    });
    const page = await app.firstWindow();
    await page.setViewportSize({ width: 1600, height: 1100 }).catch(() => undefined);
    const workbench = new Workbench(page, workspace);
    await workbench.waitReady();
    session = { label: 'electron', workbench, workspace, diagnostics: () => '' };
  }, { timeout: 10 * 60_000 });

  after(async () => {
    await app?.close().catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  defineFlow(() => {
    if (!session) throw new Error('VS Code did not start (see the before hook)');
    return session;
  });
});
