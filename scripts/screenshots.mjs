// Copies the README's screenshots from the end-to-end test's output into docs/images/: both panels,
// light and dark, as the test took them in code-server (`npm run test:e2e` first). Scaled to
// 1200 px wide. Run `npm run screenshots` and commit docs/images/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

const ROOT = path.resolve(import.meta.dirname, '..');
const FROM = path.join(ROOT, 'test-output', 'e2e');
const TO = path.join(ROOT, 'docs', 'images');
const SHOTS = {
  'code-server-light.png': 'image-panel-light.png',
  'code-server-dark.png': 'image-panel-dark.png',
  'code-server-folder-light.png': 'folder-panel-light.png',
  'code-server-folder-dark.png': 'folder-panel-dark.png',
};

const missing = Object.keys(SHOTS).filter((f) => !fs.existsSync(path.join(FROM, f)));
if (missing.length) {
  console.error(`screenshots: ${missing.join(', ')} not in ${path.relative(ROOT, FROM)}: run the end-to-end test first (npm run test:e2e)`);
  process.exit(1);
}
fs.mkdirSync(TO, { recursive: true });
for (const [from, to] of Object.entries(SHOTS)) {
  const info = await sharp(path.join(FROM, from)).resize({ width: 1200, withoutEnlargement: true }).png({ compressionLevel: 9, palette: true, quality: 90 })
    .toFile(path.join(TO, to));
  console.log(`docs/images/${to}: ${info.width}x${info.height}, ${(info.size / 1024).toFixed(0)} KiB`);
}
