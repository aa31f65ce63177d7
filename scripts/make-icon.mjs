// Renders the Marketplace icon: media/icon.svg (drawn by hand) -> media/icon.png, 128x128 as the
// Marketplace asks. Run `npm run icon` after changing the SVG, and commit both.
import * as path from 'node:path';
import sharp from 'sharp';

const ROOT = path.resolve(import.meta.dirname, '..');
const out = path.join(ROOT, 'media', 'icon.png');
const info = await sharp(path.join(ROOT, 'media', 'icon.svg'), { density: 144 })
  .resize(128, 128)
  .png({ compressionLevel: 9 })
  .toFile(out);
console.log(`${path.relative(ROOT, out)}: ${info.width}x${info.height}, ${info.size} bytes`);
