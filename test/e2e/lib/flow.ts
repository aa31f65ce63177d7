// The end-to-end scenario, shared by the code-server suite and the Electron suite: each gives a
// session (a workbench with a copy of media/samples open and the packaged extension installed).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import type { AnalysisResult } from '../../../src/engine/result';
import { analyzeWithCli, pathNeurons } from './cli';
import { FolderPanelView, NeuronView, Panel, type PanelSnapshot } from './panel';
import { OUTPUT_DIR, sampleImages } from './paths';
import { THEMES, type ThemeKind, type Workbench } from './workbench';

export interface E2ESession {
  label: string;          // names the screenshots: test-output/e2e/<label>-*.png
  workbench: Workbench;
  workspace: string;      // the folder VS Code has open (a copy of media/samples)
  diagnostics(): string;  // e.g. the end of code-server's log, added to failure messages
}

/** The explorer context menu entries (menus show the title; the palette adds the category). */
export const ANALYZE_ENTRY = /^(Neuron Path: )?Analyze Image$/;
export const ANALYZE_FOLDER_ENTRY = /^(Neuron Path: )?Analyze Folder$/;

const seconds = (name: string, fallback: number): number => Number(process.env[name] ?? fallback) * 1000;
/** How long one analysis in the panel may take (the first includes starting the worker). */
const ANALYSIS_MS = seconds('NEURON_PATH_E2E_ANALYSIS_TIMEOUT_S', 600);
/** Steps for the run that gets cancelled, so it is still running when Cancel is pressed. */
const SLOW_STEPS = Number(process.env.NEURON_PATH_E2E_SLOW_STEPS ?? 1000); // the setting's maximum
const STEP_TIMEOUT = ANALYSIS_MS * 2 + 120_000;

export function defineFlow(session: () => E2ESession): void {
  const images = sampleImages();
  // Two images of different classes: A for the first analysis and the target switch, B to cancel.
  const first = images.includes('coat-1.png') ? 'coat-1.png' : images[0] ?? '';
  const kind = (f: string): string => f.replace(/-\d+\.\w+$/, '');
  const second = images.find((f) => kind(f) !== kind(first)) ?? images.find((f) => f !== first) ?? '';
  let cliFirst: AnalysisResult | undefined;
  let cliDir = '';

  const step = (name: string, fn: (s: E2ESession) => Promise<void> | void): void => {
    it(name, { timeout: STEP_TIMEOUT }, async () => {
      const s = session();
      try {
        await fn(s);
      } catch (err) {
        const shot = path.join(OUTPUT_DIR, `${s.label}-failed-${slug(name)}.png`);
        await s.workbench.screenshot(shot).catch(() => undefined);
        const errors = await s.workbench.errorNotifications();
        const extra = [
          `screenshot: ${path.relative(process.cwd(), shot)}`,
          errors.length ? `error notifications: ${errors.join(' || ')}` : '',
          s.diagnostics(),
        ].filter(Boolean).join('\n');
        if (err instanceof Error) err.message = `${err.message}\n${extra}`;
        throw err;
      }
    });
  };

  step('the workspace has two sample images to analyze', () => {
    assert.ok(first && second, `media/samples needs two images (has: ${images.join(', ') || 'none'})`);
    cliDir = path.join(OUTPUT_DIR, 'cli');
    fs.mkdirSync(cliDir, { recursive: true });
  });

  step('Analyze Image from the explorer shows the path the CLI finds', async (s) => {
    const image = path.join(s.workspace, first);
    cliFirst = analyzeWithCli(image, { outDir: cliDir });
    await s.workbench.explorerCommand(first, ANALYZE_ENTRY);
    const panel = new Panel(s.workbench.page, first);
    await panel.waitOpen();
    const shown = await panel.waitFor('finished analysis', (p) => p.state === 'done' && p.path.length > 0, ANALYSIS_MS);
    assertSamePath(shown, cliFirst, first);
    await s.workbench.waitNotificationGone(first);
    await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-light.png`));
  });

  step('the panel follows the dark and high-contrast themes', async (s) => {
    const panel = new Panel(s.workbench.page, first);
    try {
      for (const theme of ['dark', 'high-contrast'] as ThemeKind[]) {
        await s.workbench.setTheme(theme);
        await panel.waitFor(`the ${theme} theme in the webview`, (p) => p.theme === THEMES[theme].webviewClass, 30_000);
        await s.workbench.page.waitForTimeout(500); // let charts redraw in the new colours
        await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-${theme}.png`));
      }
    } finally {
      await s.workbench.setTheme('light');
    }
  });

  step('Cancel in the progress notification stops an analysis; the next one completes', async (s) => {
    const panel = new Panel(s.workbench.page, second);
    // Many integration steps keep this run busy long enough to be cancelled.
    s.workbench.updateSettings({ 'neuronPath.steps': SLOW_STEPS });
    try {
      await s.workbench.explorerCommand(second, ANALYZE_ENTRY);
      await panel.waitOpen();
      await s.workbench.cancelProgress(second);
      const cancelled = await panel.waitFor('cancelled run', (p) => p.state === 'cancelled', 60_000);
      assert.match(cancelled.status, /cancel/i, `the status after Cancel should say so: "${cancelled.status}"`);
      await s.workbench.waitNotificationGone(second);
      await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-cancelled.png`));
    } finally {
      s.workbench.updateSettings({ 'neuronPath.steps': undefined });
    }
    // The same image again, with the default settings: a new run that must finish.
    const cli = analyzeWithCli(path.join(s.workspace, second), { outDir: cliDir });
    await s.workbench.explorerCommand(second, ANALYZE_ENTRY); // no result yet, so this runs again
    const shown = await panel.waitFor('finished analysis after the cancel', (p) => p.state === 'done' && p.path.length > 0, ANALYSIS_MS);
    assertSamePath(shown, cli, second);
  });

  step('choosing another target class recomputes the path for it', async (s) => {
    if (!cliFirst) throw new Error('needs the first analysis');
    const predicted = cliFirst.target.class;
    const other = cliFirst.prediction.top.find((c) => c.class !== predicted)?.class ?? (predicted === 0 ? 1 : 0);
    const cli = analyzeWithCli(path.join(s.workspace, first), { outDir: cliDir, target: other });
    assert.equal(cli.target.class, other, 'the CLI analysed the class it was asked for');
    // A second request for the image reveals its panel (with its cached result).
    await s.workbench.explorerCommand(first, ANALYZE_ENTRY);
    const panel = new Panel(s.workbench.page, first);
    await panel.waitFor('the first result again', (p) => p.state === 'done' && p.target === predicted, ANALYSIS_MS);
    await panel.chooseTarget(other);
    const shown = await panel.waitFor(`a path for class ${other}`, (p) => p.state === 'done' && p.target === other && p.path.length > 0, ANALYSIS_MS);
    assertSamePath(shown, cli, `${first} (target ${other})`);
    await s.workbench.waitNotificationGone(first);
    await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-target-${other}.png`));
  });

  step('a path card opens the neuron view: the folder\'s images that excite it most', async (s) => {
    const panel = new Panel(s.workbench.page, first);
    await s.workbench.explorerCommand(first, ANALYZE_ENTRY);
    await panel.waitFor('a result', (p) => p.state === 'done' && p.path.length > 0, ANALYSIS_MS);
    const { layer, neuron } = await panel.openNeuronView();
    const view = new NeuronView(s.workbench.page, layer, neuron);
    const shown = await view.waitFor('the scanned folder', (v) => v.state === 'done' && v.top.length > 0, ANALYSIS_MS);
    const images = sampleImages();
    assert.equal(shown.top.length, Math.min(12, images.length), 'the top images of the workspace\'s samples');
    for (const t of shown.top) assert.ok(images.includes(path.basename(t.image)) && t.image.startsWith(s.workspace), t.image);
    for (let i = 1; i < shown.top.length; i++) assert.ok(shown.top[i - 1].activation >= shown.top[i].activation, 'in activation order');
    assert.equal(shown.peaks, shown.top.length, 'each top image has its peak patch outlined');
    assert.ok(shown.classRows >= 2, 'the per-class ablation table');
    await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-neuron-view.png`));
  });

  step('Analyze Folder on a folder shows the folder panel, in the light and dark themes', async (s) => {
    // A small flat folder of two classes, copied into the open workspace (the explorer picks it up).
    const folder = path.join(s.workspace, 'batch');
    const picked = [first, first.replace(/-1\./, '-2.'), second, second.replace(/-1\./, '-2.')].filter((f, i, all) => images.includes(f) && all.indexOf(f) === i);
    fs.mkdirSync(folder, { recursive: true });
    for (const f of picked) fs.copyFileSync(path.join(s.workspace, f), path.join(folder, f));
    await s.workbench.explorerCommand('batch', ANALYZE_FOLDER_ENTRY);
    const panel = new FolderPanelView(s.workbench.page);
    await panel.waitFor('the folder analysed', (p) => p.state === 'done' && p.rows > 0, ANALYSIS_MS * picked.length);
    await s.workbench.waitNotificationGone('batch');
    try {
      for (const theme of ['light', 'dark'] as ThemeKind[]) {
        await s.workbench.setTheme(theme);
        await panel.waitFor(`the ${theme} theme`, (p) => p.theme === THEMES[theme].webviewClass, 30_000);
        await s.workbench.page.waitForTimeout(500); // let charts redraw in the new colours
        await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-folder-${theme}.png`));
      }
    } finally {
      await s.workbench.setTheme('light');
    }
  });
}

function assertSamePath(shown: PanelSnapshot, cli: AnalysisResult, what: string): void {
  assert.equal(shown.target, cli.target.class, `${what}: the panel's target class`);
  assert.equal(shown.path.length, cli.model.layers, `${what}: one path neuron per layer (L = ${cli.model.layers})`);
  assert.deepEqual(shown.path, pathNeurons(cli), `${what}: the panel's path equals the CLI's`);
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}
