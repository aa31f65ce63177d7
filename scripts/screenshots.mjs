// The README's screenshots (docs/images/): runs the end-to-end test in code-server (test/e2e/, which
// takes them as it drives the panels: `npm run test:e2e`), then copies the ones the README shows,
// scaled to 1200 px wide. `npm run screenshots` and commit docs/images/; `-- --no-run` only copies
// what the last test run left in test-output/e2e/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

const ROOT = path.resolve(import.meta.dirname, '..');
const FROM = path.join(ROOT, 'test-output', 'e2e');
const TO = path.join(ROOT, 'docs', 'images');
const SHOTS = {
  'code-server-running.png': 'image-panel-running-light.png',
  'code-server-light.png': 'image-panel-light.png',
  'code-server-dark.png': 'image-panel-dark.png',
  'code-server-neuron-view.png': 'neuron-view-light.png',
  'code-server-folder-light.png': 'folder-panel-light.png',
  'code-server-folder-dark.png': 'folder-panel-dark.png',
};

if (!process.argv.includes('--no-run')) {
  // Screenshots of an earlier run must not pass for this one's.
  for (const from of Object.keys(SHOTS)) fs.rmSync(path.join(FROM, from), { force: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'test:e2e'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`screenshots: the end-to-end test failed (exit ${r.status ?? r.signal}); docs/images/ is unchanged`);
    process.exit(1);
  }
}
const missing = Object.keys(SHOTS).filter((f) => !fs.existsSync(path.join(FROM, f)));
if (missing.length) {
  console.error(`screenshots: ${missing.join(', ')} not in ${path.relative(ROOT, FROM)}: the end-to-end test did not take them (was it skipped? see its output)`);
  process.exit(1);
}
fs.mkdirSync(TO, { recursive: true });
for (const [from, to] of Object.entries(SHOTS)) {
  const info = await sharp(path.join(FROM, from)).resize({ width: 1200, withoutEnlargement: true }).png({ compressionLevel: 9, palette: true, quality: 90 })
    .toFile(path.join(TO, to));
  console.log(`docs/images/${to}: ${info.width}x${info.height}, ${(info.size / 1024).toFixed(0)} KiB`);
}
