// Prints the README's model-family table: the CLI (`--scope auto`) on every reference fixture in
// test/fixtures, grouped by family, with what it detected. Fails if a fixture's readout rows are
// not the ones its reference.json records. Run after `npm run build`: node scripts/family-table.mjs
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(repo, 'test', 'fixtures');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'neuron-path-families-'));
const families = new Map();
let mismatches = 0;
for (const name of fs.readdirSync(fixtures).sort()) {
  const refFile = path.join(fixtures, name, 'reference.json');
  if (!fs.existsSync(refFile)) continue;
  const ref = JSON.parse(fs.readFileSync(refFile, 'utf8'));
  if (!ref.cases) continue;
  const [h, w] = ref.input.shape.slice(2);
  const json = path.join(work, `${name}.json`);
  execFileSync(process.execPath, [path.join(repo, 'bin', 'neuron-path.js'), 'analyze', path.join(repo, 'media', 'samples', 'coat-1.png'),
    '--model', path.join(fixtures, name, 'model.onnx'), '--scope', 'auto', '--size', `${h}x${w}`, '--steps', '4', '--baselines', 'none',
    '--threads', '1', '-q', '--json', json], { env: { ...process.env, NEURON_PATH_CACHE: path.join(work, 'cache') }, stdio: ['ignore', 'ignore', 'inherit'] });
  const model = JSON.parse(fs.readFileSync(json, 'utf8')).model;
  if (JSON.stringify(model.readout.rows) !== JSON.stringify(ref.readout)) {
    mismatches++;
    process.stderr.write(`${name}: readout rows ${model.readout.rows} but the reference reads ${ref.readout}\n`);
  }
  const family = (ref.family ?? name).replace(/, (float16|bfloat16)$/, '');
  if (!families.has(family)) families.set(family, []);
  families.get(family).push({ name, model });
}
console.log('| family | fixtures | readout rows found (`--scope auto`) | FFN (neurons at fc2\'s input) | tokens: prefix + patch grid |');
console.log('| --- | --- | --- | --- | --- |');
/** The distinct values of one column over a family's fixtures (they may differ, e.g. GELU and ReLU exports). */
const distinct = (members, cell) => [...new Set(members.map(({ model }) => cell(model)))].join(' / ');
for (const [family, members] of families) {
  const names = members.map(({ name, model: m }) => `\`${name}\`${m.precision.stored === 'float32' ? '' : ` (${m.precision.stored})`}`).join(', ');
  const readout = distinct(members, (m) => `${m.scope} (${m.readout.rows.length} of ${m.tokens})`);
  const ffn = distinct(members, (m) => `${m.ffn.activation}, ${m.ffn.kind}${m.ffn.headFfns.length ? `; ${m.ffn.headFfns.length} FFN${m.ffn.headFfns.length > 1 ? 's' : ''} over a learned query after the blocks left out` : ''}`);
  const tokens = distinct(members, (m) => {
    const prefix = m.tokens - m.readout.grid[0] * m.readout.grid[1];
    return `${prefix ? `${prefix} + ` : ''}${m.readout.grid.join('×')}`;
  });
  console.log(`| ${family} | ${names} | ${readout} | ${ffn} | ${tokens} |`);
}
fs.rmSync(work, { recursive: true, force: true });
process.exitCode = mismatches ? 1 : 0;
