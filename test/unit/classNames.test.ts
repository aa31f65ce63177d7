// Class names have one owner, the engine's resolver (modelFolder.ts readLabels); everyone else
// receives them: the image page and the folder grouping name a class by the same rule (classNames.ts),
// the placeholder is written once, and the host keeps what the worker reported (modelLabels.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { groupOf } from '../../src/engine/batch/patterns';
import { knownLabel, placeholderName } from '../../src/engine/classNames';
import { readLabels } from '../../src/engine/modelFolder';
import { locateModel } from '../../src/engine/modelLocation';
import { ModelLabels } from '../../src/extension/modelLabels';
import { classLabel } from '../../webview/imageState';
import { tempDir } from '../helpers/fixtures';
import { fakeResult } from './fixtures/fakeEngine';

test('knownLabel: the model\'s labels, else the record\'s top classes, else its target; an empty name names nothing', () => {
  const r = fakeResult('/img/cat.png', { target: 7 });  // top: classes 2, 0, 4, 1, 3; target 7 (not in the top)
  assert.equal(knownLabel(2, ['a', 'b', 'c'], r), 'c');
  assert.equal(knownLabel(2, undefined, r), 'class-2');
  assert.equal(knownLabel(7, ['a', 'b', 'c'], r), 'class-7', 'the target, named by the record only');
  assert.equal(knownLabel(5, ['a', 'b', 'c'], r), undefined);
  assert.equal(knownLabel(1, ['a', '', 'c'], r), 'class-1', 'an empty label is no name');
  assert.equal(knownLabel(0, undefined), undefined);
});

test('the image page, the folder grouping and the engine\'s resolver name a class alike', () => {
  const r = fakeResult('/img/cat.png', { target: 7 });
  const record = { ...r, trueClass: null, folderLabel: null };
  for (const labels of [undefined, ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight']]) {
    for (const c of [0, 2, 5, 7, 9]) {
      const grouped = groupOf({ ...record, trueClass: c }, 'auto', labels)!;
      assert.equal(grouped.label, classLabel({ labels, result: r }, c), `class ${c}, ${labels ? 'with' : 'without'} the model's labels`);
    }
  }
  assert.equal(classLabel({ labels: undefined, result: r }, 9), placeholderName(9));
  assert.equal(groupOf({ ...record, trueClass: 9, folderLabel: 'nine' }, 'auto')!.label, 'nine', 'a class folder names what nothing else does');
  const d = tempDir('names');
  assert.deepEqual(readLabels(locateModel(path.join(d, 'model.onnx')), 2).names, [placeholderName(0), placeholderName(1)], 'the resolver\'s placeholders');
});

/** A Memento as VS Code's: values kept by key (a fresh ModelLabels on the same one is a window reload). */
function memento(): vscode.Memento & { writes: number } {
  const values = new Map<string, unknown>();
  return {
    writes: 0,
    keys: () => [...values.keys()],
    get: <T>(key: string, fallback?: T) => (values.has(key) ? values.get(key) as T : fallback),
    update(key: string, value: unknown) { this.writes++; values.set(key, value); return Promise.resolve(); },
  };
}

test('ModelLabels: what the worker reported, by model hash, kept across reloads for the last five models', () => {
  const m = memento();
  const labels = new ModelLabels(m);
  assert.equal(labels.of('a'), undefined);
  assert.equal(labels.of(undefined), undefined);
  labels.remember({ sha256: 'a', labels: ['cat', 'dog'] });
  assert.deepEqual(labels.of('a'), ['cat', 'dog']);
  labels.remember({ sha256: 'a', labels: ['cat', 'dog'] });
  assert.equal(m.writes, 1, 'the same labels again: nothing stored again');
  labels.remember({ sha256: 'a', labels: ['cat', 'wolf'] });
  assert.deepEqual(new ModelLabels(m).of('a'), ['cat', 'wolf'], 'changed (another labels file): stored, and read after a reload');
  for (const sha of ['b', 'c', 'd', 'e', 'f']) labels.remember({ sha256: sha, labels: [sha] });
  const reloaded = new ModelLabels(m);
  assert.equal(reloaded.of('a'), undefined, 'the sixth model pushes out the first loaded');
  assert.deepEqual(['b', 'c', 'd', 'e', 'f'].map((sha) => reloaded.of(sha)), [['b'], ['c'], ['d'], ['e'], ['f']]);
  reloaded.remember({ sha256: 'b', labels: ['b'] });
  reloaded.remember({ sha256: 'g', labels: ['g'] });
  const again = new ModelLabels(m);
  assert.deepEqual(again.of('b'), ['b'], 'loaded again in a new session: the most recent, kept');
  assert.equal(again.of('c'), undefined);
});
