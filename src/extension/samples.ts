// Getting Started's first step: analyze one of the sample images that ship with the extension
// (media/samples, Fashion-MNIST test images the bundled model was not trained on).
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';

export function registerSampleCommand(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.commands.registerCommand(COMMANDS.analyzeSample, async () => {
    const dir = vscode.Uri.joinPath(context.extensionUri, 'media', 'samples');
    const names = (await fs.readdir(dir.fsPath).catch(() => [])).filter((n) => n.endsWith('.png')).sort();
    if (!names.length) {
      void vscode.window.showErrorMessage('Neuron Path: the sample images are missing from the extension; reinstall it, or right-click an image of your own and choose "Neuron Path: Analyze Image".');
      return;
    }
    const picked = await vscode.window.showQuickPick(names.map((label) => ({ label })), {
      title: 'Neuron Path: analyze a sample image with the bundled model', placeHolder: 'a Fashion-MNIST test image',
    });
    if (picked) await vscode.commands.executeCommand(COMMANDS.analyzeImage, vscode.Uri.joinPath(dir, picked.label));
  });
}
