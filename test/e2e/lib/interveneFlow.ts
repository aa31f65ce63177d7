// The end-to-end steps of the image panel's Intervene section (code-server): a path neuron and a
// top-10 neuron added, one set to 2, the top-5 after equal to `neuron-path intervene`'s; then the
// same setting applied to the image's ImageFolder through the folder dialog, its per-class table
// equal to what the CLI's run over the folder gives.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InterventionRecord } from '../../../src/engine/intervene';
import { interveneFolderWithCli, interveneWithCli, readRecords } from './cli';
import { ANALYSIS_MS, ANALYZE_ENTRY, defineStep, type E2ESession } from './flow';
import { Panel, type InterveneClass, type InterveneEffect, type InterveneSnapshot, type PanelNeuron } from './panel';
import { OUTPUT_DIR, SAMPLES_DIR } from './paths';

/** The worker answers a change in milliseconds; this only bounds a hang. */
const ANSWER_MS = 120_000;
/** The engine's own answers, run in another process: the same float32 model and onnxruntime. */
const TOLERANCE = 1e-5;
/** The folder dialog's button ("Apply to folder..." asks for the folder with it). */
const DIALOG_OK = 'Apply the intervention';

/** An ImageFolder in the workspace (class sub-folders), with names no other step's explorer rows have. */
const SHOP: Record<string, string[]> = { dress: ['dress-2.png', 'dress-1.png'], pullover: ['pullover-1.png', 'pullover-2.png'] };
const shopName = (cls: string, i: number): string => `${cls}-${'ab'[i]}.png`;

type FolderRecord = InterventionRecord & { folderLabel?: string };

export function defineInterveneFlow(session: () => E2ESession): void {
  const image = shopName('dress', 0); // Dress at 55%, Shirt second: a neuron's removal shows in the top 5
  let shop = '';
  let set = '';
  const step = (name: string, fn: (s: E2ESession) => Promise<void>): void => defineStep(session, name, fn);

  step('Intervene: a path neuron and a top-10 neuron removed, then one set to 2, move the top 5 as `neuron-path intervene` does', async (s) => {
    shop = path.join(s.workspace, 'shop');
    for (const [cls, files] of Object.entries(SHOP)) {
      fs.mkdirSync(path.join(shop, cls), { recursive: true });
      files.forEach((f, i) => fs.copyFileSync(path.join(SAMPLES_DIR, f), path.join(shop, cls, shopName(cls, i))));
    }
    const imagePath = path.join(shop, 'dress', image);
    await s.workbench.closeEditors(); // the panel alone, full width
    // The explorer learns of new files from a file watcher, which may not be running yet: refresh it, as a person would.
    await s.workbench.runCommand('Refresh Explorer');
    await s.workbench.expandFolder('shop');
    await s.workbench.expandFolder('dress');
    await s.workbench.explorerCommand(image, ANALYZE_ENTRY);
    const panel = new Panel(s.workbench.page, image);
    await panel.waitOpen();
    const analysed = await panel.waitFor('the finished analysis', (p) => p.state === 'done' && p.path.length > 0 && p.target !== undefined, ANALYSIS_MS);
    const target = analysed.target!;
    await s.workbench.waitNotificationGone(image);

    // The selected path card's "Intervene on #J", then the "+" of another neuron of the layer's top 10.
    const card = await panel.selectedNeuron();
    await panel.click('[data-testid="path-intervene"]');
    await panel.waitForIntervene('the path neuron in the list', (v) => sameNeurons(v.neurons, [card]), ANSWER_MS);
    const other = (await panel.top10Addable()).find((n) => n.neuron !== card.neuron);
    assert.ok(other, `the top-10 list of layer ${card.layer} has a neuron besides the path's #${card.neuron} to add`);
    await panel.click(`[data-testid="top10-intervene"][data-layer="${other.layer}"][data-neuron="${other.neuron}"]`);
    const removed = `${card.layer}:${card.neuron}=0,${other.layer}:${other.neuron}=0`;
    const shown = await panel.waitForIntervene(`the answer for ${removed}`, (v) => v.state === 'done' && v.settings === removed, ANSWER_MS);
    assert.deepEqual(shown.neurons, [card, other], 'both neurons are listed, in the order added');
    const cliRemoved = interveneWithCli(imagePath, removed, target, cliDir());
    assertSameTop5(shown, cliRemoved, removed);
    const moved = targetChange(shown, target);
    assert.ok(moved !== 0, `removing ${removed} changes the target's probability (${shown.target})`);
    assert.equal(Math.sign(moved), Math.sign(cliRemoved.target.after - cliRemoved.target.before), `the target moves the way the CLI's answer does: ${shown.target}`);
    await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-intervene.png`));

    // The path neuron's factor typed as 2 (its number field): the answer follows.
    set = `${card.layer}:${card.neuron}=2,${other.layer}:${other.neuron}=0`;
    await panel.type(`[data-factor-field="${card.layer}:${card.neuron}"]`, '2');
    const enhanced = await panel.waitForIntervene(`the answer for ${set}`, (v) => v.state === 'done' && v.settings === set, ANSWER_MS);
    const cliEnhanced = interveneWithCli(imagePath, set, target, cliDir());
    assertSameTop5(enhanced, cliEnhanced, set);
    assert.ok(Math.abs(targetChange(enhanced, target) - moved) > TOLERANCE, `setting #${card.neuron} to 2 instead of 0 moves the target again (${shown.target}, then ${enhanced.target})`);
  });

  step('Intervene: "Apply to folder..." on the image\'s ImageFolder shows per class the accuracy and target probability before and after, as the CLI\'s run over the folder', async (s) => {
    assert.ok(set && shop, 'needs the previous step\'s setting');
    const panel = new Panel(s.workbench.page, image);
    try {
      await applyToFolder(s, panel, shop, set);
    } finally {
      await s.workbench.closeEditors(); // the next steps' panels open as they would without these
    }
  });
}

/** Presses "Apply to folder...", accepts `shop` in the dialog and checks the run against the CLI's over `shop` with `set`. */
async function applyToFolder(s: E2ESession, panel: Panel, shop: string, set: string): Promise<void> {
  await panel.click('[data-testid="intervene-folder"]');
  await s.workbench.acceptFolderDialog(DIALOG_OK, shop); // the image's ImageFolder, offered by default
  const done = await panel.waitForIntervene('the folder run\'s end', (v) => (v.folder.state === 'done' && v.folder.effects.length > 0) || v.folder.state === 'failed', ANALYSIS_MS);
  assert.equal(done.folder.state, 'done', `the folder run failed: ${done.folder.status}`);
  await s.workbench.waitNotificationGone('shop');
  await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-intervene-folder.png`));

  // The records the panel wrote beside the folder equal the CLI's, image by image.
  const written = fs.readdirSync(s.workspace).filter((f) => /^shop\.intervention-[0-9a-f]{12}\.jsonl$/.test(f));
  assert.equal(written.length, 1, `one result file of the run beside the folder (the workspace has: ${fs.readdirSync(s.workspace).join(', ')})`);
  const panelRecords = readRecords(path.join(s.workspace, written[0])) as FolderRecord[];
  const cliRecords = interveneFolderWithCli(shop, set, cliDir()) as FolderRecord[];
  const images = Object.values(SHOP).flat().length;
  assert.equal(panelRecords.length, images, 'one record per image');
  for (const r of panelRecords) {
    const c = cliRecords.find((x) => x.image.path === r.image.path);
    assert.ok(c, `the CLI's run has ${r.image.path}`);
    assert.equal(r.target.class, c.target.class, `${r.image.path}: the target`);
    for (const k of ['before', 'after'] as const) assertClose(r[k], c[k], `${r.image.path} ${k}`);
  }

  // The table: a row per class and one for all, each from the CLI's records.
  const expected = [...Object.keys(SHOP).map((cls) => effectOf(cls, cliRecords.filter((r) => r.folderLabel === cls))), effectOf('all', cliRecords)];
  const byLabel = (e: InterveneEffect[]) => [...e].sort((a, b) => a.label.localeCompare(b.label));
  const rows = byLabel(done.folder.effects);
  assert.deepEqual(rows.map((e) => [e.label, e.images]), byLabel(expected).map((e) => [e.label, e.images]), 'a row per class and one for all, with their image counts');
  for (const [i, e] of byLabel(expected).entries()) {
    assert.deepEqual(rows[i].accuracy, e.accuracy, `${e.label}: accuracy before and after`);
    for (const k of [0, 1]) assert.ok(Math.abs(rows[i].probability[k] - e.probability[k]) <= TOLERANCE, `${e.label}: mean target probability ${k ? 'after' : 'before'} ${rows[i].probability[k]} vs ${e.probability[k]}`);
  }
}

function cliDir(): string {
  const dir = path.join(OUTPUT_DIR, 'cli');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const sameNeurons = (a: PanelNeuron[], b: PanelNeuron[]): boolean => a.length === b.length && a.every((n, i) => n.layer === b[i].layer && n.neuron === b[i].neuron);

/** The target's probability after minus before, as the panel's lists show them. */
function targetChange(v: InterveneSnapshot, target: number): number {
  const p = (list: InterveneClass[]) => list.find((c) => c.class === target)?.probability;
  const [before, after] = [p(v.before), p(v.after)];
  assert.ok(before !== undefined && after !== undefined, `the target class ${target} is in the top 5 before and after (${JSON.stringify(v)})`);
  return after - before;
}

function assertSameTop5(v: InterveneSnapshot, cli: InterventionRecord, what: string): void {
  assertClose(v.before, cli.before, `${what}: the top 5 before`);
  assertClose(v.after, cli.after, `${what}: the top 5 after`);
}

function assertClose(shown: InterveneClass[], expected: InterveneClass[], what: string): void {
  assert.deepEqual(shown.map((c) => c.class), expected.map((c) => c.class), `${what}: the classes, in order`);
  for (const [i, c] of expected.entries()) {
    assert.ok(Math.abs(shown[i].probability - c.probability) <= TOLERANCE, `${what}: class ${c.class} ${shown[i].probability} vs the CLI's ${c.probability}`);
  }
}

/** Per class: the share of images whose top-1 is the target, and the target's mean probability, before and after. */
function effectOf(label: string, records: InterventionRecord[]): InterveneEffect {
  const mean = (f: (r: InterventionRecord) => number) => records.reduce((a, r) => a + f(r), 0) / records.length;
  return {
    label, images: records.length,
    accuracy: [mean((r) => Number(r.before[0].class === r.target.class)), mean((r) => Number(r.top1After === r.target.class))],
    probability: [mean((r) => r.target.before), mean((r) => r.target.after)],
  };
}
