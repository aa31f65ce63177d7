// The CLI as someone installs it: `npm pack` of this project, `npm install -g` of that tarball into a
// fresh prefix, and the installed `neuron-path` command on a bundled sample. The packages come from the
// npm cache `npm ci` filled (--prefer-offline), so it needs the registry only for what is not cached.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import type { AnalysisResult } from '../../src/engine/result';
import { REPO, tempDir } from '../helpers/fixtures';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env, timeout: 300_000 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

test('npm pack, npm install -g of the tarball: `neuron-path analyze` works and matches the repository CLI', { timeout: 600_000 }, () => {
  const work = tempDir('cli-install');
  // A user's `npm pack` runs `prepare` (the build) first. Here dist/ is already built (npm test
  // builds first) and other test files run the bundles meanwhile, so the build is not run again.
  assert.ok(fs.existsSync(path.join(REPO, 'dist', 'cli.js')), 'dist/cli.js is missing: run npm run build');
  const packed = run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO);
  const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info[0].files.map((f) => f.path);
  for (const needed of ['bin/neuron-path.js', 'dist/cli.js', 'dist/supervisor.js', 'media/model/model.onnx', 'media/model/config.json', 'LICENSE']) {
    assert.ok(files.includes(needed), `the tarball lacks ${needed}: ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests stay out of the tarball');

  const prefix = path.join(work, 'prefix');
  // onnxruntime-node's install script would download CUDA libraries; the CPU binaries are in the package.
  run(npm, ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--onnxruntime-node-install=skip',
    path.join(work, info[0].filename)], work);
  const bin = process.platform === 'win32' ? path.join(prefix, 'neuron-path.cmd') : path.join(prefix, 'bin', 'neuron-path');
  assert.ok(fs.existsSync(bin), `npm install -g made no ${bin}`);

  const sample = path.join(REPO, 'media', 'samples', 'coat-1.png');
  const env = { ...process.env, NEURON_PATH_CACHE: path.join(work, 'cache') };
  const args = ['analyze', sample, '--baselines', 'none', '--threads', '1', '--json', '-', '--quiet'];
  const installed = JSON.parse(run(bin, args, work, env).stdout) as AnalysisResult;
  const local = JSON.parse(run(process.execPath, [path.join(REPO, 'bin', 'neuron-path.js'), ...args], work, env).stdout) as AnalysisResult;
  assert.equal(installed.model.layers, 6, 'the bundled model, found inside the installed package');
  assert.ok(installed.model.path.startsWith(prefix), `model read from ${installed.model.path}, not from the installed package`);
  assert.deepEqual(installed.path.map((p) => p.neuron), local.path.map((p) => p.neuron));
  fs.rmSync(work, { recursive: true, force: true });
});
