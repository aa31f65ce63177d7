// The end-to-end steps with a model from the settings (run after the shared flow, in code-server):
// a ViT-S/16-sized model, where a path takes minutes, shows its path first and keeps it on Cancel;
// a file that is no model fails with an error whose "Open Settings" shows the Model Path setting
// (code-server is a remote window: those settings live on the Remote tab).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ANALYSIS_MS, ANALYZE_ENTRY, defineStep, type E2ESession } from './flow';
import { Panel } from './panel';
import { OUTPUT_DIR, sampleImages } from './paths';
import { writeVitFolder } from './vitModel';

/** A laptop's browser window: the path must be on screen there too. */
const SMALL_VIEWPORT = { width: 1280, height: 720 };
/** Integration steps for the large model: fewer than the default 20 to keep the test short (the layout does not depend on them). */
const LARGE_MODEL_STEPS = 8;

export function defineLargeModelFlow(session: () => E2ESession, modelFolder: () => string): void {
  const images = sampleImages();
  // Images the shared flow does not open, so each gets a panel of its own.
  const fresh = images.filter((f) => !/^(coat|ankle-boot)-/.test(f));
  const [large, broken] = fresh;
  const layers = 12;
  const step = (name: string, fn: (s: E2ESession) => Promise<void>): void => defineStep(session, name, fn);

  step(`a ViT-S/16-sized model from the settings: the prediction and the first path neuron are on screen while the path grows (${SMALL_VIEWPORT.width}x${SMALL_VIEWPORT.height})`, async (s) => {
    assert.ok(large && broken, `media/samples needs two images besides coat-* and ankle-boot-* (has: ${images.join(', ')})`);
    const modelDir = writeVitFolder(modelFolder());
    s.workbench.updateSettings({ 'neuronPath.modelPath': modelDir, 'neuronPath.steps': LARGE_MODEL_STEPS });
    const panel = new Panel(s.workbench.page, large);
    const normal = s.workbench.page.viewportSize();
    await s.workbench.page.setViewportSize(SMALL_VIEWPORT);
    try {
      await s.workbench.explorerCommand(large, ANALYZE_ENTRY);
      await panel.waitOpen();
      const growing = await panel.waitFor('the first path neuron while the path grows', (p) => p.state === 'running' && p.path.length >= 1, ANALYSIS_MS);
      assert.ok(growing.path.length < layers, `the path is still growing (${growing.path.length} of ${layers})`);
      assert.match(growing.headline, /^Predicted /, 'the prediction is named above the path');
      for (const id of ['headline', 'path-neuron']) {
        const at = await panel.onScreen(id);
        assert.equal(at.scrolled, 0, 'the panel is not scrolled');
        assert.ok(at.top >= at.visibleTop && at.bottom <= at.visibleBottom,
          `[data-testid=${id}] is visible without scrolling: at ${at.top.toFixed(0)}..${at.bottom.toFixed(0)} px, the webview shows ${at.visibleTop.toFixed(0)}..${at.visibleBottom.toFixed(0)}`);
      }
      await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-large-model-running.png`));
    } finally {
      if (normal) await s.workbench.page.setViewportSize(normal);
    }
  });

  step('Cancel after the third layer keeps the path found so far and the prediction on screen, marked partial', async (s) => {
    const panel = new Panel(s.workbench.page, large);
    try {
      const seen = await panel.waitFor('three path neurons', (p) => p.state === 'running' && p.path.length >= 3, ANALYSIS_MS);
      await panel.press('cancel');
      const kept = await panel.waitFor('the cancelled run', (p) => p.state === 'cancelled', 120_000);
      // A layer may finish between the read and the click: the kept path starts with the one seen.
      assert.ok(kept.path.length >= 3 && kept.path.length < layers, `the path found so far stays (${kept.path.length} of ${layers} layers)`);
      assert.deepEqual(kept.path.slice(0, seen.path.length), seen.path, 'the neurons shown before the cancel are kept');
      assert.match(kept.status, /partial/i, `the status says the path is partial: "${kept.status}"`);
      assert.match(kept.headline, /^Predicted .*partial/, `the prediction stays: "${kept.headline}"`);
      assert.ok(kept.predictions.length > 0, 'the top-5 stays');
      await s.workbench.waitNotificationGone(large);
      await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-large-model-cancelled.png`));
    } finally {
      s.workbench.updateSettings({ 'neuronPath.modelPath': undefined, 'neuronPath.steps': undefined });
    }
  });

  step('"Open Settings" on the error of a file that is no model shows the Model Path setting (a remote window)', async (s) => {
    const bad = path.join(path.dirname(modelFolder()), 'not-a-model.onnx');
    fs.writeFileSync(bad, 'this is a text file, not an ONNX model\n');
    s.workbench.updateSettings({ 'neuronPath.modelPath': bad });
    try {
      await s.workbench.explorerCommand(broken, ANALYZE_ENTRY);
      const panel = new Panel(s.workbench.page, broken);
      await panel.waitOpen();
      await panel.waitFor('the model error', (p) => p.state === 'error', ANALYSIS_MS, true);
      const toast = s.workbench.notification('not-a-model.onnx').first();
      await toast.getByRole('button', { name: 'Open Settings' }).click({ timeout: 60_000 });
      const label = s.workbench.settingLabel('Model Path');
      await label.waitFor({ timeout: 60_000 });
      const tab = await s.workbench.settingsTab();
      await s.workbench.screenshot(path.join(OUTPUT_DIR, `${s.label}-open-settings.png`));
      assert.match(tab, /remote/i, `the settings open on the Remote tab (shown: "${tab}")`);
    } finally {
      s.workbench.updateSettings({ 'neuronPath.modelPath': undefined });
    }
  });
}
