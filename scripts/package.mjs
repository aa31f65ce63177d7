// Makes the platform .vsix: `node scripts/package.mjs [--target linux-x64|...|all] [--out FILE]` (after
// `npm run build`; `npm run package -- --target T` does both).
//
// vsce's own dependency handling would pack every production dependency for every platform, and with
// --no-dependencies it packs none. So we stage: the project's files as .vscodeignore selects them
// (the esbuild bundles, the model, the README), a package.json that names only the native
// dependencies, and a node_modules holding just those and what they need at run time, pruned to the
// target platform. vsce then packs the staging folder.
//
// onnxruntime-node ships every platform's binaries in its one package; sharp has a package per
// platform (@img/sharp-<os>-<cpu>, and @img/sharp-libvips-<os>-<cpu> outside Windows), and npm
// installs only the host's. For another target those are fetched from the npm registry into
// .cache/vsix/npm-<target>/ (`npm install --os --cpu`, the versions sharp pins), and staged from there.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

// The dependencies esbuild leaves external (scripts/build.mjs); everything else must be bundled.
const NATIVE = ['onnxruntime-node', 'sharp'];
// Dependencies that only their install scripts use: onnxruntime-node's downloader of CUDA files.
const INSTALL_ONLY = { 'onnxruntime-node': ['adm-zip', 'global-agent'] };
// The bundles the extension loads; packaging fails if one is missing.
const ENTRY_BUNDLES = ['dist/extension.js', 'dist/worker.js', 'dist/image.js', 'dist/folder.js', 'dist/neuron.js', 'dist/compare.js'];

// vsce's targets that onnxruntime-node ships binaries for (the tests read the same file).
const TARGETS = readJson(path.join(ROOT, 'scripts', 'vsix-targets.json'));

const { values: args } = parseArgs({
  options: { target: { type: 'string', default: 'linux-x64' }, out: { type: 'string' } },
});
if (args.target === 'all') {
  // one process per target, each as if called alone
  if (args.out) fail('--out names one file; with --target all each .vsix gets its default name');
  for (const t of Object.keys(TARGETS)) {
    const r = spawnSync(process.execPath, [import.meta.filename, '--target', t], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}
const target = TARGETS[args.target];
if (!target) fail(`unknown --target '${args.target}'; one of ${Object.keys(TARGETS).join(', ')}, or all`);

const manifest = readJson(path.join(ROOT, 'package.json'));
const vsixPath = path.resolve(args.out ?? path.join(ROOT, `${manifest.name}-${manifest.version}-${args.target}.vsix`));
const stage = path.join(ROOT, '.cache', 'vsix', args.target);
const started = Date.now();

for (const f of ENTRY_BUNDLES) {
  if (!fs.existsSync(path.join(ROOT, f))) fail(`${f} is missing: run \`npm run build\` first (or \`npm run package\`)`);
}
checkBundlesAreSelfContained();

fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });

// 1. The project's own files, as vsce selects them with .vscodeignore.
const vsce = require('@vscode/vsce');
const projectFiles = (await vsce.listFiles({ cwd: ROOT, packageManager: vsce.PackageManager.None }))
  .filter((f) => f !== 'package.json')
  .sort();
for (const f of projectFiles) copyFile(path.join(ROOT, f), path.join(stage, f));

// 2. The manifest: no scripts or dev tooling, and only the native dependencies.
const staged = { ...manifest };
delete staged.scripts;
delete staged.devDependencies;
delete staged.bin; // the CLI is not part of the extension
delete staged.files; // what npm packs for the CLI; the .vsix takes what .vscodeignore selects
staged.dependencies = Object.fromEntries(NATIVE.map((n) => [n, manifest.dependencies?.[n] ?? fail(`package.json does not depend on ${n}`)]));
writeJson(path.join(stage, 'package.json'), staged);

// 3. The native packages and their run-time dependencies, for the target only.
const platformRoot = fetchPlatformPackages();
const packages = runtimeClosure();
const missing = requiredPlatformPackages().filter((n) => !packages.some((p) => p.name === n));
if (missing.length) fail(`${missing.join(', ')} for ${args.target} could not be found, neither here nor from npm`);
for (const p of packages) copyPackage(p);
// Everything staged is meant to ship; an ignore file here only tells vsce that it was chosen.
fs.writeFileSync(path.join(stage, '.vscodeignore'), '# staged by scripts/package.mjs: the project\'s rules are in its own .vscodeignore\n');

// 4. Pack. vsce lists the staged node_modules with `npm ls --omit=dev`, which must be clean.
const vsceArgs = [
  'package', '--target', args.target, '--out', vsixPath,
  '--allow-missing-repository', '--no-rewrite-relative-links', '--no-update-package-json', '--no-git-tag-version',
];
if (!projectFiles.some((f) => /^licen[cs]e(\.md|\.txt)?$/i.test(f))) {
  console.warn('warning: no LICENSE file in the project; packaging with --skip-license');
  vsceArgs.push('--skip-license');
}
const vsceBin = path.join(path.dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
const r = spawnSync(process.execPath, [vsceBin, ...vsceArgs], { cwd: stage, stdio: 'inherit' });
if (r.status !== 0) fail(`vsce package failed (exit ${r.status ?? r.signal})`);

// A note of which bundles the .vsix holds, so the e2e test can tell a stale one (in .cache/, ignored).
const { size: vsixSize, mtimeMs } = fs.statSync(vsixPath);
writeJson(path.join(ROOT, '.cache', 'vsix', `${path.basename(vsixPath)}.json`), {
  vsix: vsixPath, size: vsixSize, mtimeMs, target: args.target,
  bundles: bundleHashes(projectFiles.filter((f) => f.startsWith('dist/'))),
});

report();

// ---------------------------------------------------------------------------------------------------

/**
 * The target's sharp packages that this install lacks (another platform's), installed from npm into
 * their own folder; returns that folder, or undefined when the project's node_modules has them all.
 */
function fetchPlatformPackages() {
  const sharpDir = findPackage('sharp', ROOT) ?? fail('sharp is not installed: run `npm ci`');
  const pinned = readJson(path.join(sharpDir, 'package.json')).optionalDependencies ?? {};
  const wanted = requiredPlatformPackages().filter((n) => !findPackage(n, sharpDir));
  if (!wanted.length) return undefined;
  const dir = path.join(ROOT, '.cache', 'vsix', `npm-${args.target}`);
  const sharpVersion = readJson(path.join(sharpDir, 'package.json')).version;
  const have = wanted.every((n) => {
    const file = path.join(dir, 'node_modules', n, 'package.json');
    return fs.existsSync(file) && readJson(file).version === (pinned[n] ?? fail(`sharp ${sharpVersion} has no ${n}`));
  });
  if (!have) {
    // npm refuses a platform package for another platform when it is named, but installs sharp's
    // optional ones for the --os/--cpu it is given: so install sharp itself there.
    const specs = [`sharp@${sharpVersion}`];
    console.log(`fetching ${wanted.join(', ')} from npm for ${args.target} (through ${specs[0]})`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    writeJson(path.join(dir, 'package.json'), { name: `neuron-path-platform-${args.target}`, private: true });
    const npmArgs = ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline',
      `--os=${target.os}`, `--cpu=${target.cpu}`, ...(target.libc ? [`--libc=${target.libc}`] : []), ...specs];
    const npm = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', npmArgs, { cwd: dir, stdio: 'inherit' });
    if (npm.status !== 0) fail(`\`npm ${npmArgs.join(' ')}\` failed (exit ${npm.status ?? npm.signal}); the npm registry must be reachable`);
  }
  return dir;
}

function runtimeClosure() {
  const seen = new Map(); // package dir -> { name, dir, root, deps }
  const queue = NATIVE.map((name) => ({ name, from: ROOT, optional: false, parent: manifest.name }));
  while (queue.length) {
    const { name, from, optional, parent } = queue.shift();
    const dir = findPackage(name, from) ?? (platformRoot && findPackage(name, platformRoot, platformRoot));
    if (!dir) {
      if (optional) continue; // another platform's package, not installed here
      fail(`${name} (needed by ${parent}) is not installed: run \`npm ci\``);
    }
    if (seen.has(dir)) continue;
    const pkg = readJson(path.join(dir, 'package.json'));
    if (!matchesTarget(pkg)) continue;
    const skip = INSTALL_ONLY[name] ?? [];
    const deps = Object.keys(pkg.dependencies ?? {}).filter((d) => !skip.includes(d));
    const optionalDeps = Object.keys(pkg.optionalDependencies ?? {});
    seen.set(dir, { name, dir, deps: [...deps, ...optionalDeps], root: dir.startsWith(ROOT + path.sep + 'node_modules') ? ROOT : platformRoot });
    for (const d of deps) queue.push({ name: d, from: dir, optional: false, parent: name });
    for (const d of optionalDeps) queue.push({ name: d, from: dir, optional: true, parent: name });
  }
  return [...seen.values()];
}

/** Node's lookup: node_modules/NAME in `from` and each folder above it, up to `top`. */
function findPackage(name, from, top = ROOT) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === top || dir === path.dirname(dir)) return undefined;
  }
}

/** npm's os/cpu/libc fields (`!x` excludes x) against the target. */
function matchesTarget(pkg) {
  const ok = (list, value) => {
    if (!list || value === undefined) return true;
    const arr = [].concat(list);
    if (arr.includes(`!${value}`)) return false;
    const positive = arr.filter((v) => !v.startsWith('!'));
    return positive.length === 0 || positive.includes(value);
  };
  return ok(pkg.os, target.os) && ok(pkg.cpu, target.cpu) && ok(pkg.libc, target.libc);
}

function requiredPlatformPackages() {
  const { os, cpu } = target;
  return os === 'win32' ? [`@img/sharp-${os}-${cpu}`] : [`@img/sharp-${os}-${cpu}`, `@img/sharp-libvips-${os}-${cpu}`];
}

function copyPackage({ name, dir, root, deps }) {
  const dest = path.join(stage, path.relative(root, dir));
  const keep = packageFilter(name);
  for (const rel of walk(dir)) {
    if (keep(rel)) copyFile(path.join(dir, rel), path.join(dest, rel));
  }
  // Staged manifests keep only the dependencies that are staged, and no install scripts.
  const pkg = readJson(path.join(dir, 'package.json'));
  delete pkg.scripts;
  delete pkg.devDependencies;
  if (pkg.dependencies) pkg.dependencies = Object.fromEntries(Object.entries(pkg.dependencies).filter(([d]) => deps.includes(d)));
  writeJson(path.join(dest, 'package.json'), pkg);
}

/** Which files of a package to stage (paths relative to the package, with '/'). */
function packageFilter(name) {
  const generic = (rel) => {
    const base = rel.split('/').pop();
    if (/\.(ts|mts|cts|tsx|map|cc|cpp|h|gyp)$/i.test(base)) return false; // types, sources, headers
    if (/^(readme|changelog|history)(\..*)?$/i.test(base)) return false;
    return true;
  };
  if (name === 'onnxruntime-node') {
    const binDir = `bin/napi-v6/${target.os}/${target.cpu}/`;
    return (rel) => {
      if (rel.startsWith('script/') || rel.startsWith('lib/')) return false; // installer, TS sources
      if (rel.startsWith('bin/')) {
        // other platforms, and the CUDA/TensorRT providers: the packaged extension runs on the CPU
        return rel.startsWith(binDir) && !/onnxruntime_providers_(cuda|tensorrt|shared)\./.test(rel);
      }
      return generic(rel);
    };
  }
  if (name === 'sharp') return (rel) => !rel.startsWith('src/') && !rel.startsWith('install/') && generic(rel); // build from source
  return generic;
}

/** The node/vscode bundles may require only built-ins, vscode and the staged native packages. */
function checkBundlesAreSelfContained() {
  const allowed = new Set([...builtinModules, 'vscode', ...NATIVE]);
  for (const f of ['dist/extension.js', 'dist/worker.js']) {
    const code = fs.readFileSync(path.join(ROOT, f), 'utf8');
    for (const [, spec] of code.matchAll(/\brequire\(["']([^"'./][^"']*)["']\)/g)) {
      const name = spec.startsWith('node:') ? spec.slice(5) : spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!allowed.has(name)) fail(`${f} requires '${spec}', which is neither bundled nor packaged: add it to NATIVE here or let esbuild bundle it`);
    }
  }
}

function bundleHashes(files) {
  return Object.fromEntries(files.map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(ROOT, f))).digest('hex')]));
}

function report() {
  const size = fs.statSync(vsixPath).size;
  const byTop = new Map();
  for (const rel of walk(stage, { nested: true })) {
    const parts = rel.split('/');
    const key = parts[0] === 'node_modules' ? parts.slice(0, parts[1].startsWith('@') ? 3 : 2).join('/') : parts[0];
    byTop.set(key, (byTop.get(key) ?? 0) + fs.statSync(path.join(stage, rel)).size);
  }
  console.log(`\nstaged (uncompressed):`);
  for (const [k, v] of [...byTop].sort((a, b) => b[1] - a[1])) console.log(`  ${mb(v).padStart(9)}  ${k}`);
  console.log(`\n${path.relative(process.cwd(), vsixPath) || vsixPath}: ${mb(size)} (${size} bytes) for ${args.target}, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Files under dir (relative, with '/'); nested node_modules only when asked. */
function* walk(dir, { nested = false } = {}, prefix = '') {
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (nested || e.name !== 'node_modules') yield* walk(dir, { nested }, rel);
    } else if (e.isFile()) {
      yield rel;
    }
  }
}

function copyFile(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
}

function readJson(file) { return JSON.parse(fs.readFileSync(file, 'utf8')); }
function writeJson(file, value) { fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`); }
function mb(bytes) { return `${(bytes / 1024 / 1024).toFixed(1)} MiB`; }
function fail(message) { console.error(`package: ${message}`); process.exit(1); }
