// One code-server for the test: its own user data and extensions folders, loopback only, no auth.
// It is started in its own process group (it leaves helper processes behind), and stop() ends that
// group; an exit handler does the same if the test process dies first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { CodeServerCommand } from './paths';

export interface CodeServerOptions {
  command: CodeServerCommand;
  dir: string;                     // everything of this instance lives here
  settings: Record<string, unknown>;
  log?: (line: string) => void;
}

export class CodeServer {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly logFile: string;
  private readonly configFile: string;
  private child: ChildProcess | undefined;
  private port = 0;
  private readonly onExit = (): void => this.killGroup('SIGKILL');

  constructor(private readonly options: CodeServerOptions) {
    this.userDataDir = path.join(options.dir, 'user-data');
    this.extensionsDir = path.join(options.dir, 'extensions');
    this.logFile = path.join(options.dir, 'code-server.log');
    this.configFile = path.join(options.dir, 'config.yaml');
    fs.mkdirSync(path.join(this.userDataDir, 'User'), { recursive: true });
    fs.mkdirSync(this.extensionsDir, { recursive: true });
    // Our own config file, so code-server does not write one into the user's home.
    fs.writeFileSync(this.configFile, 'auth: none\ncert: false\n');
    this.writeSettings(options.settings);
  }

  get url(): string { return `http://127.0.0.1:${this.port}`; }

  /** The URL that opens `folder` as the workspace. */
  folderUrl(folder: string): string { return `${this.url}/?folder=${encodeURIComponent(folder)}`; }

  get settingsFile(): string { return path.join(this.userDataDir, 'User', 'settings.json'); }

  /** Replaces the user settings.json: read at start (code-server does not watch it afterwards). */
  writeSettings(settings: Record<string, unknown>): void {
    fs.writeFileSync(this.settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
  }

  installExtension(vsix: string): string {
    const { command, args } = this.options.command;
    const r = spawnSync(command, [...args, ...this.commonArgs(), '--install-extension', vsix, '--force'], {
      encoding: 'utf8', env: this.env(), timeout: 120_000,
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !/successfully installed/i.test(out)) {
      throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status ?? r.signal}):\n${out}`);
    }
    return out;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    this.port = await freePort();
    const { command, args } = this.options.command;
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn(command, [
      ...args, ...this.commonArgs(),
      '--bind-addr', `127.0.0.1:${this.port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override',
    ], { detached: true, stdio: ['ignore', log, log], env: this.env() });
    fs.closeSync(log);
    process.once('exit', this.onExit);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`code-server exited (${this.child.exitCode}); see ${this.logFile}:\n${this.tail()}`);
      if (await healthy(`${this.url}/healthz`)) {
        this.options.log?.(`code-server listening on ${this.url} (log: ${this.logFile})`);
        return;
      }
      await sleep(250);
    }
    throw new Error(`code-server did not answer on ${this.url} within ${timeoutMs / 1000} s; see ${this.logFile}:\n${this.tail()}`);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.killGroup('SIGTERM');
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && groupAlive(this.child.pid)) await sleep(100);
    this.killGroup('SIGKILL');
    process.removeListener('exit', this.onExit);
    this.child = undefined;
  }

  /** The last lines of code-server's log, for failure messages. */
  tail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private commonArgs(): string[] {
    return ['--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir, '--config', this.configFile];
  }

  private env(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    // Started from a VS Code terminal, these would point code-server at that VS Code.
    for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
    return env;
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try { process.kill(-pid, signal); } catch { /* already gone */ }
  }
}

function groupAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try { process.kill(-pid, 0); return true; } catch { return false; }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
