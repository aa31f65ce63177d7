// The places that must agree with options.ts beyond the settings (which manifest.test.ts checks):
// the image extensions of the menus, the folder scan, the file picker and the revived panel's
// guard; the pruning defaults of the CLI and of the folder panel's form; the neuron view's lists.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { IMAGE_EXTENSIONS, isImageFileName, NEURON_TOP_IMAGES, PRUNING_DEFAULTS } from '../../src/engine/options';
import { BATCH_USAGE } from '../../src/cli/batch';
import { NEURON_USAGE } from '../../src/cli/neuron';
import { isImagePersistedState } from '../../src/protocol/imagePanel';
import { DEFAULT_FRACTIONS, pruneRequestOf } from '../../webview/folderState';
import { REPO } from '../helpers/fixtures';

const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));

test('image extensions: the explorer menu\'s when-clause, the scan, the extension and the revived panel take the same ones', () => {
  const menu = (manifest.contributes.menus['explorer/context'] as Array<{ command: string; when: string }>).find((m) => m.command === 'neuronPath.analyzeImage');
  const pattern = /resourceExtname =~ \/(.+)\/i/.exec(menu?.when ?? '')?.[1];
  assert.ok(pattern, 'the Analyze Image menu entry matches images by extension');
  const when = new RegExp(pattern, 'i');
  for (const ext of [...IMAGE_EXTENSIONS, 'bmp', 'svg', 'heic', 'jsonl', 'pngx', 'xpng']) {
    const known = IMAGE_EXTENSIONS.includes(ext);
    assert.equal(when.test(`.${ext}`), known, `.${ext}: the menu and options.ts disagree`);
    assert.equal(when.test(`.${ext.toUpperCase()}`), known, `.${ext.toUpperCase()}: any case`);
    assert.equal(isImageFileName(`/d/a.${ext.toUpperCase()}`), known, `.${ext}: the scan and options.ts disagree`);
    assert.equal(isImagePersistedState({ imagePath: `/d/a.${ext}` }), known, `.${ext}: the revived panel's guard and options.ts disagree`);
  }
  assert.equal(isImageFileName('/d/.png'), false, 'a dot file has no extension');
  assert.equal(isImageFileName('C:\\d\\a.png'), true, 'a Windows path');
});

test('pruning defaults: the CLI\'s usage and the folder panel\'s form are options.ts\'s', () => {
  assert.match(BATCH_USAGE, new RegExp(`--prune ${PRUNING_DEFAULTS.fractions.join(',').replace(/\./g, '\\.')} `));
  assert.match(BATCH_USAGE, new RegExp(`\\(default ${PRUNING_DEFAULTS.keep}\\)`));
  assert.match(BATCH_USAGE, new RegExp(`\\(default ${String(PRUNING_DEFAULTS.holdout).replace('.', '\\.')};`));
  // The form's initial values, as the page sends them: percentages for the holdout and the fractions.
  const request = pruneRequestOf({ keep: String(PRUNING_DEFAULTS.keep), holdout: String(PRUNING_DEFAULTS.holdout * 100), layers: '', fractions: DEFAULT_FRACTIONS });
  assert.deepEqual(request, { keep: PRUNING_DEFAULTS.keep, holdout: PRUNING_DEFAULTS.holdout, layers: undefined, fractions: [...PRUNING_DEFAULTS.fractions] });
});

test('neuron view lists: the CLI says its default', () => {
  assert.match(NEURON_USAGE, new RegExp(`images listed per neuron \\(default ${NEURON_TOP_IMAGES.cli}\\)`));
  assert.ok(NEURON_TOP_IMAGES.view >= NEURON_TOP_IMAGES.cli);
});
