// Each class's path removed over a folder of test images, against random neurons of the same count:
// the README's "Removing a class's path" table. A class's path neurons are the union of the paths
// (predicted class) of its first --per-class correctly classified images of the folder; `neuron-path
// intervene DIR --set ...=0` then runs over every image of the folder with them zeroed, and again
// with --draws sets of random neurons (per block as many as the path has there, seeded). Every run is
// resumable (the same command continues) and the table is printed from the result files.
//   node scripts/ablation-table.mjs DIR [--per-class K] [--draws R] [--seed S] [--rows all|readout]
//                                       [--work DIR] [--threads T] [--model M]
//   DIR: an ImageFolder of test images, e.g. from
//        /usr/bin/python3 scripts/python/export_test_images.py /tmp/fm1000 100  (100 per class)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const USAGE = 'usage: node scripts/ablation-table.mjs DIR [--per-class K] [--draws R] [--seed S] [--rows all|readout] [--work DIR] [--threads T] [--model M]';
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'per-class': { type: 'string', default: '5' }, draws: { type: 'string', default: '3' }, seed: { type: 'string', default: '0' },
    rows: { type: 'string', default: 'all' }, work: { type: 'string', default: 'ablation-work' }, threads: { type: 'string', default: '1' }, model: { type: 'string' },
  },
});
if (positionals.length !== 1) { console.error(USAGE); process.exit(2); }
const [dir] = positionals;
const count = (name) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1) { console.error(`--${name} must be an integer >= 1, got '${opts[name]}'\n${USAGE}`); process.exit(2); }
  return n;
};
const perClass = count('per-class'), draws = count('draws'), seed = Number(opts.seed);
if (!['all', 'readout'].includes(opts.rows)) { console.error(`--rows must be all or readout, got '${opts.rows}'`); process.exit(2); }
fs.mkdirSync(opts.work, { recursive: true });
const modelArgs = opts.model ? ['--model', opts.model] : [];

function cli(args, what) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'neuron-path.js'), ...args, '--threads', opts.threads, '-q', ...modelArgs],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`neuron-path ${what} failed (exit ${r.status})`);
}

/** The lines of a result file of the given schema. */
const recordsOf = (file, schema) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((r) => r.schema === schema);

// The paths: `batch --limit` takes the classes in turn, so the first N images hold about N / classes
// of each; more are analysed until every class has its K correctly classified images (or the folder ends).
const classes = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
const pathsFile = path.join(opts.work, 'paths.jsonl');
let limit = perClass * classes.length, analysed;
for (;;) {
  cli(['batch', dir, '--out', pathsFile, '--baselines', 'none', '--limit', String(limit)], `batch (the first ${limit} images)`);
  analysed = recordsOf(pathsFile, 'neuron-path/1');
  const right = (c) => analysed.filter((r) => r.folderLabel === c && r.trueClass === r.target.class).length;
  if (classes.every((c) => right(c) >= perClass) || analysed.length < limit) break;
  limit += classes.length * perClass;
}

/** Per class: its path neurons, "L:J" keys in block order. */
const pathOf = new Map(classes.map((c) => {
  const images = analysed.filter((r) => r.folderLabel === c && r.trueClass === r.target.class)
    .sort((a, b) => a.image.path.localeCompare(b.image.path)).slice(0, perClass);
  if (images.length < perClass) console.error(`class ${c}: only ${images.length} correctly classified images were analysed`);
  const keys = new Set(images.flatMap((r) => r.path.map((n) => `${n.layer}:${n.neuron}`)));
  return [c, [...keys].sort((a, b) => a.split(':')[0] - b.split(':')[0] || a.split(':')[1] - b.split(':')[1])];
}));
const { layers, neuronsPerLayer } = analysed[0].model;

/** mulberry32: a small seeded generator, so the random sets are the same on every machine. */
function generator(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per block as many random neurons as `keys` has there (distinct, drawn without replacement). */
function randomLike(keys, next) {
  const out = [];
  for (let l = 0; l < layers; l++) {
    const n = keys.filter((k) => Number(k.split(':')[0]) === l).length;
    const pool = Array.from({ length: neuronsPerLayer }, (_, j) => j);
    for (let i = 0; i < n; i++) {
      const at = i + Math.floor(next() * (neuronsPerLayer - i));
      [pool[i], pool[at]] = [pool[at], pool[i]];
      out.push(`${l}:${pool[i]}`);
    }
  }
  return out;
}

/** Per folder class: accuracy and mean target probability before and after. */
function intervention(name, keys) {
  const file = path.join(opts.work, `${name}.intervention.jsonl`);
  const started = Date.now();
  cli(['intervene', dir, '--set', keys.map((k) => `${k}=0`).join(','), '--rows', opts.rows, '--out', file], `intervene (${name})`);
  console.error(`${name}: ${keys.length} neurons (${((Date.now() - started) / 1000).toFixed(0)} s this run)`);
  const byClass = new Map();
  for (const r of recordsOf(file, 'neuron-path/intervention-1')) {
    const e = byClass.get(r.folderLabel) ?? { images: 0, before: 0, after: 0, pBefore: 0, pAfter: 0 };
    e.images++;
    e.before += Number(r.before[0].class === r.target.class); e.after += Number(r.top1After === r.target.class);
    e.pBefore += r.target.before; e.pAfter += r.target.after;
    byClass.set(r.folderLabel, e);
  }
  return byClass;
}

const next = generator(seed);
const results = classes.map((c) => ({
  c, keys: pathOf.get(c), path: intervention(`path-${c}`, pathOf.get(c)),
  random: Array.from({ length: draws }, (_, d) => intervention(`random-${c}-${d}`, randomLike(pathOf.get(c), next))),
}));

const label = (c) => analysed.find((r) => r.folderLabel === c && r.trueClass !== null)?.target.label ?? c;
const acc = (e) => e.after / e.images, accBefore = (e) => e.before / e.images, drop = (e) => (e.pBefore - e.pAfter) / e.images;
/** Over the other classes' images together. */
const others = (byClass, c) => {
  const sum = { images: 0, before: 0, after: 0, pBefore: 0, pAfter: 0 };
  for (const [k, e] of byClass) if (k !== c) for (const f of Object.keys(sum)) sum[f] += e[f];
  return sum;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const num = (x) => x.toFixed(3);

const images = results[0].path;
console.log(`Each class's path (union of the paths of its first ${perClass} correctly classified images) zeroed at ${opts.rows === 'all' ? 'every token row' : 'the readout rows'} over the ` +
  `${[...images.values()].reduce((a, e) => a + e.images, 0)} images of ${dir}, against ${draws} draws of random neurons (as many per block, seed ${seed}):\n`);
console.log('| class | path neurons | its accuracy: clean | path removed | random removed | its P(class) drop: path | random | other classes\' accuracy: clean | path removed | random removed |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const { c, keys, path: p, random } of results) {
  const own = p.get(c), ownR = random.map((r) => r.get(c)), rest = others(p, c), restR = random.map((r) => others(r, c));
  console.log(`| ${label(c)} | ${keys.length} | ${pct(accBefore(own))} | ${pct(acc(own))} | ${pct(mean(ownR.map(acc)))} | ${num(drop(own))} | ${num(mean(ownR.map(drop)))} | ` +
    `${pct(accBefore(rest))} | ${pct(acc(rest))} | ${pct(mean(restR.map(acc)))} |`);
}
