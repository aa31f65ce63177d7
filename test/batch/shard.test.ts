// Shards (src/engine/batch/shard.ts) and compact records (compact.ts), as pure functions: which
// shard a process is (flag, Slurm array, Kubernetes index), that an image's shard depends on its
// relative path alone, and what a compact record keeps of the layer scores.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import test from 'node:test';
import { chooseShard, compactScores, inShard, parseShard, shardOfPath, TOP_SCORES } from '../../src/engine/batch/index';
import { shardFile } from '../../src/engine/batch/schema';
import type { AnalysisResult } from '../../src/engine/index';

test('the shard of a process: --shard, a Slurm array task, an Indexed Job completion', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.throws(() => parseShard('4/4'), /the shard must be in 0\.\.3/);
  assert.throws(() => parseShard('1-4'), /--shard takes K\/N/);
  assert.equal(chooseShard(undefined, undefined, {}), undefined, 'not sharded');
  assert.deepEqual(chooseShard('1/3', undefined, { SLURM_ARRAY_TASK_ID: '2' })?.shard, { index: 1, count: 3 }, 'the flag wins');
  assert.throws(() => chooseShard('1/3', 4, {}), /disagree/);
  // Slurm: the task's place in the array (1-based arrays too)
  const slurm = (id: string, min: string, count: string, shards?: number) => chooseShard(undefined, shards, { SLURM_ARRAY_TASK_ID: id, SLURM_ARRAY_TASK_MIN: min, SLURM_ARRAY_TASK_COUNT: count });
  assert.deepEqual(slurm('0', '0', '4'), { shard: { index: 0, count: 4 }, source: 'Slurm array task 0' });
  assert.deepEqual(slurm('4', '1', '4')?.shard, { index: 3, count: 4 });
  assert.throws(() => slurm('6', '0', '4'), /would be shard 6 of 4: submit a contiguous array/);
  // with --shards N: the task id modulo N, so a task resubmitted alone keeps its shard
  assert.deepEqual(slurm('2', '2', '1', 4)?.shard, { index: 2, count: 4 });
  assert.deepEqual(slurm('4', '1', '4', 4)?.shard, { index: 0, count: 4 });
  assert.throws(() => slurm('0', '0', '8', 4), /8 tasks but --shards is 4/);
  // Kubernetes: JOB_COMPLETION_INDEX with --shards
  assert.deepEqual(chooseShard(undefined, 8, { JOB_COMPLETION_INDEX: '5' }), { shard: { index: 5, count: 8 }, source: 'Indexed Job completion 5' });
  assert.throws(() => chooseShard(undefined, 8, { JOB_COMPLETION_INDEX: '8' }), /must be in 0\.\.7/);
  assert.throws(() => chooseShard(undefined, 8, {}), /neither is set/);
});

test("an image's shard depends on its path in the folder alone: stable when images are added", () => {
  const root = '/data/val';
  const names = Array.from({ length: 400 }, (_, i) => ({ image: path.join(root, `class_${i % 7}`, `img_${i}.png`) }));
  const shards = [0, 1, 2, 3].map((index) => inShard(names, root, { index, count: 4 }));
  assert.equal(shards.flat().length, 400, 'every image in one shard');
  assert.equal(new Set(shards.flat().map((x) => x.image)).size, 400);
  for (const s of shards) assert.ok(s.length > 60 && s.length < 140, `balanced: ${shards.map((x) => x.length).join(',')}`);
  // more images, another root: the old ones keep their shard
  const more = [...names, ...Array.from({ length: 100 }, (_, i) => ({ image: path.join(root, 'new', `n_${i}.png`) }))].reverse();
  for (const { image } of names) assert.equal(shardOfPath(path.relative(root, image), 4), shardOfPath(path.relative('/elsewhere', image.replace(root, '/elsewhere')), 4));
  assert.deepEqual(inShard(more, root, { index: 2, count: 4 }).filter((x) => !x.image.includes('/new/')).map((x) => x.image).sort(), shards[2].map((x) => x.image).sort());
  assert.equal(shardFile('/r/photos.neuron-path.jsonl', { index: 2, count: 4 }), '/r/photos.neuron-path.shard-2-of-4.jsonl');
  assert.equal(shardFile('/r/out', { index: 0, count: 1 }), '/r/out.shard-0-of-1.jsonl');
});

test('a compact record keeps the top 32 scores per layer and the path neuron\'s rank', () => {
  const D = 100;
  const row = (l: number) => Array.from({ length: D }, (_, j) => Math.sin(j * 7 + l) + (j === 50 + l ? 5 : 0));
  const record = {
    schema: 'neuron-path/1', layerScores: [0, 1, 2].map(row),
    path: [{ layer: 0, neuron: 50 }, { layer: 1, neuron: 3 }, { layer: 2, neuron: 52 }],
  } as unknown as AnalysisResult;
  const c = compactScores(record);
  assert.deepEqual(c.layerScores, []);
  assert.equal(c.topScores.k, TOP_SCORES);
  c.topScores.layers.forEach((l, layer) => {
    const sorted = [...record.layerScores[layer]].sort((a, b) => b - a);
    assert.equal(l.neurons.length, 32);
    assert.deepEqual(l.scores, sorted.slice(0, 32));
    assert.deepEqual(l.neurons.map((j) => record.layerScores[layer][j]), l.scores);
  });
  assert.equal(c.topScores.layers[0].pathRank, 1);
  assert.equal(c.topScores.layers[0].neurons[0], 50);
  const s1 = record.layerScores[1];
  assert.equal(c.topScores.layers[1].pathRank, 1 + s1.filter((x) => x > s1[3]).length);
  assert.ok(c.topScores.layers[1].pathRank > 1);
  assert.equal(record.layerScores.length, 3, 'the original is left alone');
});
