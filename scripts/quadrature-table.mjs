// How often a short path integral finds the converged path: for m in {4, 8, 20} and each rule
// (left, the paper's; midpoint; Gauss-Legendre), the share of images whose path equals the one found
// with m = 200 and the left rule. Runs `neuron-path batch` once per setting (resumable: the same
// command continues), then prints the table of the README's "Quadrature" section.
//   node scripts/quadrature-table.mjs DIR [--images N] [--work DIR] [--threads T] [--model M]
//   DIR: an ImageFolder of test images, e.g. from
//        /usr/bin/python3 scripts/python/export_test_images.py /tmp/fm1000 100  (100 per class)
//   --images N: the first N images, the classes taken in turn (batch --limit; default: all)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { images: { type: 'string' }, work: { type: 'string', default: 'quadrature-work' }, threads: { type: 'string', default: '1' }, model: { type: 'string' } },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/quadrature-table.mjs DIR [--images N] [--work DIR] [--threads T] [--model M]');
  process.exit(2);
}
const [dir] = positionals;
const STEPS = [4, 8, 20], RULES = ['left', 'midpoint', 'gauss'], CONVERGED = { steps: 200, rule: 'left' };
fs.mkdirSync(opts.work, { recursive: true });
const fileOf = (s) => path.join(opts.work, `m${s.steps}-${s.rule}.jsonl`);

/** One batch run (skipped images already in its file); returns the records by image path. */
function run(s) {
  const args = [path.join(ROOT, 'bin', 'neuron-path.js'), 'batch', dir, '--out', fileOf(s), '--steps', String(s.steps), '--rule', s.rule,
    '--baselines', 'none', '--threads', opts.threads, '-q', ...(opts.images ? ['--limit', opts.images] : []), ...(opts.model ? ['--model', opts.model] : [])];
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`neuron-path batch for m = ${s.steps}, ${s.rule} failed (exit ${r.status})`);
  const records = new Map();
  for (const line of fs.readFileSync(fileOf(s), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    if (rec.schema === 'neuron-path/1') records.set(rec.image.path, rec);
  }
  console.error(`m = ${s.steps}, ${s.rule}: ${records.size} records (${((Date.now() - started) / 1000).toFixed(0)} s this run)`);
  return records;
}

const settings = STEPS.flatMap((steps) => RULES.map((rule) => ({ steps, rule })));
const found = new Map(settings.map((s) => [s, run(s)]));
const converged = run(CONVERGED);
const images = [...converged.keys()].filter((img) => settings.every((s) => found.get(s).has(img)));
const samePath = (a, b) => a.path.every((n, l) => n.neuron === b.path[l].neuron);
const meanSeconds = (records) => images.reduce((t, img) => t + records.get(img).timing.seconds, 0) / images.length;

console.log(`Paths equal to the converged one (m = ${CONVERGED.steps}, ${CONVERGED.rule} rule) on ${images.length} images of ${dir}` +
  `${opts.images ? ` (the first ${opts.images}, classes in turn)` : ''}; seconds per image (path and its JAS) in brackets:\n`);
console.log(`| m | ${RULES.join(' | ')} |`);
console.log(`| --- | ${RULES.map(() => '---').join(' | ')} |`);
for (const steps of STEPS) {
  const cells = RULES.map((rule) => {
    const records = found.get(settings.find((s) => s.steps === steps && s.rule === rule));
    const same = images.filter((img) => samePath(records.get(img), converged.get(img))).length;
    return `${same}/${images.length} (${(100 * same / images.length).toFixed(1)}%) [${meanSeconds(records).toFixed(2)} s]`;
  });
  console.log(`| ${steps} | ${cells.join(' | ')} |`);
}
console.log(`\nm = ${CONVERGED.steps}, ${CONVERGED.rule}: ${meanSeconds(converged).toFixed(2)} s per image.`);
