// The platform .vsix files `npm run package -- --target T` makes (CI makes all five with
// `--target all`): each holds the bundles the extension loads, the bundled model, and native
// binaries of its own platform only (onnxruntime-node's bin/napi-v*/<os>/<cpu>, sharp's
// @img/sharp-<os>-<cpu> and its libvips), no other platform's and no CUDA provider.
// Outside CI a missing .vsix is skipped; under CI all five must be there.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import * as yauzl from 'yauzl';
import { REPO } from '../helpers/fixtures';

interface Target { os: string; cpu: string; libc?: string }
const TARGETS = JSON.parse(fs.readFileSync(path.join(REPO, 'scripts', 'vsix-targets.json'), 'utf8')) as Record<string, Target>;
const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; main: string };
const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** The bundles and data the packaged extension loads at run time (and its icon, walkthrough and samples). */
const LOADED = ['dist/extension.js', 'dist/worker.js', 'dist/image.js', 'dist/image.css', 'dist/folder.js', 'dist/folder.css',
  'media/model/model.onnx', 'media/model/config.json', 'media/model/preprocessor_config.json',
  'media/icon.png', 'media/walkthrough/analyze-sample.md', 'media/samples/coat-1.png'];

const NATIVE = /\.(node|so(\.\d+)*|dylib|dll)$/;

/** Every entry of a zip file: name and contents. */
function readZip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error(`${file}: yauzl opened no zip`));
      const entries = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error(`${file}: no stream for ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => { entries.set(entry.fileName, Buffer.concat(chunks)); zip.readEntry(); });
        });
      });
      zip.readEntry();
    });
  });
}

/** Which platform a native file belongs to, from where it sits. */
function platformOf(file: string): string | undefined {
  const ort = /node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(file);
  if (ort) return `${ort[1]}-${ort[2]}`;
  const img = /node_modules\/@img\/sharp-(?:libvips-)?([a-z0-9]+)-([a-z0-9]+)\//.exec(file);
  if (img) return `${img[1]}-${img[2]}`;
  return undefined;
}

test('the native-file classifier tells platforms apart', () => {
  assert.equal(platformOf('extension/node_modules/onnxruntime-node/bin/napi-v6/win32/arm64/onnxruntime.dll'), 'win32-arm64');
  assert.equal(platformOf('extension/node_modules/@img/sharp-libvips-darwin-arm64/lib/libvips-cpp.8.17.3.dylib'), 'darwin-arm64');
  assert.equal(platformOf('extension/node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node'), 'linux-x64');
  assert.equal(platformOf('extension/node_modules/sharp/build/Release/sharp.node'), undefined);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Why a .vsix does not hold today's bundles (scripts/package.mjs notes what it packed), if it does not. */
function staleness(vsix: string): string | undefined {
  try {
    const note = JSON.parse(fs.readFileSync(path.join(REPO, '.cache', 'vsix', `${path.basename(vsix)}.json`), 'utf8')) as { bundles: Record<string, string> };
    const changed = Object.entries(note.bundles).find(([f, h]) => !fs.existsSync(path.join(REPO, f)) || sha(fs.readFileSync(path.join(REPO, f))) !== h);
    return changed ? `${changed[0]} changed since it was packed` : undefined;
  } catch {
    return 'no note of what it holds';
  }
}

for (const [name, target] of Object.entries(TARGETS)) {
  const vsix = path.join(REPO, `${manifest.name}-${manifest.version}-${name}.vsix`);
  const present = fs.existsSync(vsix);
  // Outside CI only a .vsix packed from today's bundles is checked; CI packs all five first.
  const stale = present && !IN_CI ? staleness(vsix) : undefined;
  const skip = IN_CI ? false : !present ? `${path.basename(vsix)} not built (npm run package -- --target ${name})`
    : stale ? `${path.basename(vsix)} is stale (${stale}): npm run package -- --target ${name}` : false;
  test(`${name}.vsix holds its own platform's binaries and the bundles it loads`, { skip }, async () => {
    assert.ok(present, `${vsix} is missing: CI builds all five with npm run package -- --target all`);
    const entries = await readZip(vsix);
    const files = [...entries.keys()];

    const xml = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
    assert.match(xml, new RegExp(`TargetPlatform="${name}"`), 'the manifest names the target platform');
    const packaged = JSON.parse(entries.get('extension/package.json')!.toString('utf8')) as { main: string; dependencies: Record<string, string> };
    assert.equal(packaged.main, manifest.main);
    assert.deepEqual(Object.keys(packaged.dependencies).sort(), ['onnxruntime-node', 'sharp']);

    for (const f of LOADED) {
      const inside = entries.get(`extension/${f}`);
      assert.ok(inside && inside.length > 0, `${f} is not in the .vsix`);
      // CI packs right after building; a stale .vsix would test old code in the e2e test.
      if (IN_CI && fs.existsSync(path.join(REPO, f))) {
        assert.equal(sha(inside), sha(fs.readFileSync(path.join(REPO, f))), `${f} in the .vsix differs from the built one`);
      }
    }
    assert.ok(!files.some((f) => /^extension\/(src|test|webview|scripts)\//.test(f) || f.endsWith('.map')), 'no sources, tests or source maps');

    const native = files.filter((f) => NATIVE.test(f));
    const foreign = native.filter((f) => platformOf(f) !== name);
    assert.deepEqual(foreign, [], `native files of another platform (or of none) in ${name}.vsix`);
    assert.ok(!native.some((f) => /onnxruntime_providers_(cuda|tensorrt|shared)/.test(f)), 'no CUDA / TensorRT providers');

    const ortDir = `extension/node_modules/onnxruntime-node/bin/napi-v`;
    assert.ok(native.some((f) => f.startsWith(ortDir) && f.endsWith(`/${target.os}/${target.cpu}/onnxruntime_binding.node`)), 'onnxruntime binding');
    const ortLib = target.os === 'win32' ? 'onnxruntime.dll' : target.os === 'darwin' ? /libonnxruntime\.[\d.]+dylib$/ : /libonnxruntime\.so\.\d+$/;
    assert.ok(native.some((f) => f.startsWith(ortDir) && (typeof ortLib === 'string' ? f.endsWith(`/${ortLib}`) : ortLib.test(f))), 'onnxruntime library');
    assert.ok(files.includes(`extension/node_modules/@img/sharp-${name}/lib/sharp-${name}.node`), 'the sharp binding');
    const vips = target.os === 'win32' ? `extension/node_modules/@img/sharp-${name}/lib/` : `extension/node_modules/@img/sharp-libvips-${name}/lib/`;
    assert.ok(native.some((f) => f.startsWith(vips) && /libvips/.test(f)), `libvips in ${vips}`);
    for (const pkg of ['sharp', 'onnxruntime-common', 'detect-libc', 'semver', '@img/colour']) {
      assert.ok(files.includes(`extension/node_modules/${pkg}/package.json`), `${pkg}, which sharp or onnxruntime-node loads`);
    }
  });
}
