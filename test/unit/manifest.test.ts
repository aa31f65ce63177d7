// package.json's settings agree with the one module of analysis defaults and option lists
// (src/engine/options.ts) that the engine, the CLI and the extension read.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { BASELINES, DEFAULTS, FAST, FORMULAS, PROVIDERS, RESIZES, RULES, STEPS_RANGE, TOP_K_RANGE } from '../../src/engine/options';
import { isScopeSetting, SCOPE_NAMES } from '../../src/engine/scope';
import { COMMANDS } from '../../src/extension/commandIds';
import { REPO } from '../helpers/fixtures';

interface Property { markdownDescription?: string; pattern?: string; type?: unknown; default?: unknown; enum?: unknown[]; minimum?: number; maximum?: number; items?: { enum?: unknown[] }; enumDescriptions?: string[] }
const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const props = manifest.contributes.configuration.properties as Record<string, Property>;
const setting = (key: string): Property => props[`neuronPath.${key}`] ?? assert.fail(`package.json has no neuronPath.${key}`);

test('package.json settings: defaults, bounds and choices are the engine\'s', () => {
  assert.equal(setting('steps').default, DEFAULTS.steps);
  assert.equal(setting('steps').minimum, STEPS_RANGE.min);
  assert.equal(setting('steps').maximum, STEPS_RANGE.max);
  assert.equal(setting('topK').default, DEFAULTS.topK);
  assert.equal(setting('topK').minimum, TOP_K_RANGE.min);
  assert.equal(setting('topK').maximum, TOP_K_RANGE.max);
  assert.deepEqual(setting('formula').enum, [...FORMULAS]);
  assert.equal(setting('formula').default, DEFAULTS.formula);
  assert.deepEqual(setting('rule').enum, [...RULES]);
  assert.equal(setting('rule').default, DEFAULTS.rule);
  assert.equal(setting('rule').enumDescriptions?.length, RULES.length);
  assert.equal(setting('fast').default, false);
  assert.match(setting('fast').markdownDescription ?? '', new RegExp(`not the paper's setting.*${FAST.steps} steps with Gauss`));
  assert.equal(FAST.rule, 'gauss');
  assert.equal(setting('scope').default, DEFAULTS.scope);
  const scopePattern = new RegExp(setting('scope').pattern ?? '');
  for (const v of [...SCOPE_NAMES, '0:2', '1:', '12:40', 'x', '2', ':3', 'cls,patches', 'auto ']) {
    assert.equal(scopePattern.test(v), isScopeSetting(v), `scope '${v}': the setting's pattern and the engine disagree`);
  }
  assert.deepEqual(setting('baselines').items?.enum, [...BASELINES]);
  assert.deepEqual(setting('baselines').default, [...DEFAULTS.baselines]);
  assert.deepEqual(setting('executionProvider').enum, [...PROVIDERS]);
  assert.equal(setting('executionProvider').default, DEFAULTS.executionProvider);
  assert.equal(setting('threads').default, DEFAULTS.threads);
  assert.deepEqual(setting('preprocess.resize').enum, ['', ...RESIZES], "'' means: from the model folder");
  // The settings editor shows an enum's label, not its value: the default '' must not render empty.
  const labels = (setting('preprocess.resize') as { enumItemLabels?: string[] }).enumItemLabels ?? [];
  assert.equal(labels.length, RESIZES.length + 1);
  assert.ok(labels.every((l) => l.trim().length > 0), JSON.stringify(labels));
  assert.equal(setting('target').default, DEFAULTS.target);
});

test('package.json: every enum has one description per value', () => {
  for (const [key, p] of Object.entries(props)) {
    if (p.enum && p.enumDescriptions) assert.equal(p.enumDescriptions.length, p.enum.length, key);
  }
});

test('package.json commands and activation events are the COMMANDS the extension registers', () => {
  const contributed = (manifest.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  assert.deepEqual(contributed, Object.values<string>(COMMANDS).sort());
  for (const id of Object.values(COMMANDS)) assert.ok(manifest.activationEvents.includes(`onCommand:${id}`), `no activation event for ${id}`);
  const menus = Object.values(manifest.contributes.menus as Record<string, { command: string }[]>).flat().map((m) => m.command);
  for (const id of menus) assert.ok(contributed.includes(id), `menu entry for unknown command ${id}`);
});

test('Marketplace manifest: icon, categories, keywords, repository, and a walkthrough whose pages ship', () => {
  assert.match(manifest.icon, /\.png$/);
  const icon = fs.readFileSync(path.join(REPO, manifest.icon));
  assert.equal(icon.readUInt32BE(16), 128, 'icon width');
  assert.equal(icon.readUInt32BE(20), 128, 'icon height');
  assert.ok(manifest.categories.length > 0 && manifest.keywords.length > 0);
  assert.match(manifest.repository.url, /^https:\/\//);
  for (const f of ['CHANGELOG.md', 'LICENSE', 'README.md']) assert.ok(fs.existsSync(path.join(REPO, f)), f);
  const [walkthrough] = manifest.contributes.walkthroughs as { steps: { id: string; media: { markdown: string }; completionEvents: string[]; description: string }[] }[];
  assert.deepEqual(walkthrough.steps.map((s) => s.id), ['analyzeSample', 'selectModel', 'analyzeFolder']);
  for (const step of walkthrough.steps) {
    assert.ok(fs.existsSync(path.join(REPO, step.media.markdown)), step.media.markdown);
    for (const [, id] of step.description.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(Object.values<string>(COMMANDS).includes(id), id);
    for (const e of step.completionEvents) assert.ok(Object.values<string>(COMMANDS).includes(e.replace(/^onCommand:/, '')), e);
  }
  // what the .vsix takes (scripts/package.mjs stages the files vsce lists with .vscodeignore)
  const ignore = fs.readFileSync(path.join(REPO, '.vscodeignore'), 'utf8');
  for (const kept of ['!media/icon.png', '!media/walkthrough/**', '!media/samples/*.png']) assert.ok(ignore.includes(kept), kept);
});
