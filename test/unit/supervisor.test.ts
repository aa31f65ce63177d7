// The supervisor's crash line for each way a command's process can end by a signal (the real kill -9
// and V8 abort are in test/cli/crash.test.ts): what it says, and which advice it gives for what the
// command told it (the model opened, --threads, the result file a rerun resumes).
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'node:test';
import { crashLine } from '../../src/cli/supervisor';
import { FIXTURES } from '../helpers/fixtures';

const FIXTURE = path.join(FIXTURES, 'cls_op17_dynamic', 'model.onnx');

const MEMORY = 'this machine has [\\d.]+ GB of [\\d.]+ GB free(, and a container limit \\(cgroup\\) of [\\d.]+ GB)?';

test('a crash that is not about memory (SIGSEGV) says so and points at the lines above, with no memory advice', () => {
  assert.equal(crashLine('analyze', 'SIGSEGV', {}),
    'the analyze process stopped: it crashed (SIGSEGV); its own last messages, if any, are above: if it repeats, report it with them');
  assert.equal(crashLine('batch', 'SIGBUS', { resumes: '/r/x.jsonl', threads: 4 }),
    'the batch process stopped: it crashed (SIGBUS); what is done stays in /r/x.jsonl: run the same command again to resume; its own last messages, if any, are above: if it repeats, report it with them');
});

test('memory advice names the knobs of what was opened: half the threads given, steps only where an analysis runs them', () => {
  const cores = os.availableParallelism();
  assert.match(crashLine('batch', 'SIGKILL', { model: FIXTURE, threads: 8, resumes: '/r/x.jsonl' }), new RegExp(
    `^the batch process stopped: it was killed \\(SIGKILL\\), most likely out of memory \\(.*\\): the model file is [\\d.]+ MB \\(an analysis needs a few times that\\); ${MEMORY}; ` +
    'what is done stays in /r/x\\.jsonl: run the same command again to resume; to use less memory: fewer threads \\(--threads 4\\), fewer steps \\(--steps\\), a smaller model, or more memory$'));
  // --threads 0 (all cores): half the cores, where there are two or more
  assert.match(crashLine('neuron', 'SIGKILL', { threads: 0 }),
    new RegExp(`; to use less memory: ${cores > 1 ? `fewer threads \\(--threads ${Math.floor(cores / 2)}\\), ` : ''}a smaller model, or more memory$`));
  assert.match(crashLine('visualize', 'SIGKILL', { threads: 1 }), /; to use less memory: a smaller model, or more memory$/);
  // no model opened (report without --prune): nothing of a model's to turn down
  assert.match(crashLine('report', 'SIGKILL', {}), /; it needs more memory$/);
});

test('an abort adds what to do about Node\'s heap limit, which only the lines above can tell apart from onnxruntime\'s', () => {
  assert.match(crashLine('compare', 'SIGABRT', { threads: 1 }), new RegExp(
    `^the compare process stopped: it aborted \\(SIGABRT\\), most likely out of memory \\(onnxruntime and Node abort when an allocation fails\\): ${MEMORY}; ` +
    'to use less memory: fewer steps \\(--steps\\), a smaller model, or more memory; ' +
    'if the lines above say "JavaScript heap out of memory", Node\'s heap limit was reached: raise it \\(NODE_OPTIONS=--max-old-space-size=8192 for 8 GB\\)$'));
});
