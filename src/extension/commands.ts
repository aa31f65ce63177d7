// The commands: Analyze Image, Analyze Folder, Open Results, Select Model..., Open Settings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { locateModel } from '../engine/modelLocation';
import * as vscode from 'vscode';
import type { AnalysisService } from './analysis';
import { COMMANDS } from './commandIds';
import type { FolderPanelManager } from './folderPanel';
import { IMAGE_EXTENSIONS, isImageFileName } from '../engine/options';
import type { ImagePanelManager } from './imagePanel';
import { INTERVENTION_SCHEMA, shardSetOf } from '../engine/batch/schema';
import { firstSchema } from '../engine/batch/resultFile';
import { openSettingsCommand, SECTION } from './settings';

const IMAGE_PREVIEW_VIEW_TYPE = 'imagePreview.previewEditor';

/** The image shown in the active editor tab (the built-in image preview, or any editor of an image file). */
function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && (input.viewType === IMAGE_PREVIEW_VIEW_TYPE || isImageFileName(input.uri.path))) return input.uri;
  if (input instanceof vscode.TabInputText && isImageFileName(input.uri.path)) return input.uri;
  return undefined;
}

async function pickImage(): Promise<vscode.Uri[] | undefined> {
  return vscode.window.showOpenDialog({
    canSelectMany: true,
    openLabel: 'Analyze',
    title: 'Neuron Path: choose images to analyze',
    filters: { Images: [...IMAGE_EXTENSIONS] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
}

/** The clicked resource (explorer), else one the user picks. Local files only. */
async function resourceOrPick(uri: unknown, pick: vscode.OpenDialogOptions): Promise<vscode.Uri | undefined> {
  let target = uri instanceof vscode.Uri ? uri : (await vscode.window.showOpenDialog({ defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri, ...pick }))?.[0];
  if (!target) return undefined;
  if (target.scheme !== 'file') {
    void vscode.window.showErrorMessage(`Neuron Path can only analyze local files; ${target.toString()} is not one. Copy it into a local folder first.`);
    target = undefined;
  }
  return target;
}

export function registerCommands(context: vscode.ExtensionContext, panels: ImagePanelManager, service: AnalysisService, folders: FolderPanelManager): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(COMMANDS.analyzeFolder, async (uri?: unknown) => {
      const folder = await resourceOrPick(uri, { canSelectFolders: true, canSelectFiles: false, openLabel: 'Analyze Folder', title: 'Neuron Path: choose a folder of images (sub-folders named after the classes, or images directly in it)' });
      if (!folder) return;
      try {
        if (((await vscode.workspace.fs.stat(folder)).type & vscode.FileType.Directory) === 0) {
          void vscode.window.showErrorMessage(`Neuron Path: ${folder.fsPath} is not a folder.`);
          return;
        }
      } catch {
        void vscode.window.showErrorMessage(`Neuron Path: the folder ${folder.fsPath} does not exist.`);
        return;
      }
      await folders.analyzeFolder(folder.fsPath);
    }),

    vscode.commands.registerCommand(COMMANDS.openResults, async (uri?: unknown) => {
      const file = await resourceOrPick(uri, { canSelectMany: false, openLabel: 'Open Results', title: 'Neuron Path: choose a batch result file', filters: { 'Neuron Path results': ['jsonl'] } });
      if (!file) return;
      if (!(await fs.promises.stat(file.fsPath).then((s) => s.isFile(), () => false))) {
        void vscode.window.showErrorMessage(`Neuron Path: the result file ${file.fsPath} does not exist.`);
        return;
      }
      // The folder panel shows analyses; an intervention's per-class table is the image panel's (or the CLI's).
      if (await firstSchema(file.fsPath) === INTERVENTION_SCHEMA) {
        const name = path.basename(file.fsPath);
        void vscode.window.showErrorMessage(`Neuron Path: ${name} holds an intervention over a folder, not analyses: the folder panel shows analyses only. `
          + 'Its accuracy and target probability per class, before and after, show in the image panel\'s Intervene section: set the same neurons and press '
          + `Apply to folder... on that folder (with the same model it resumes this file). Or run \`neuron-path intervene FOLDER --set ... --out ${name}\`.`);
        return;
      }
      // One shard file of a cluster run opens the whole run (all its shard files, as one result).
      await folders.openResults(shardSetOf(file.fsPath) ?? file.fsPath);
    }),

    vscode.commands.registerCommand(COMMANDS.analyzeImage, async (uri?: unknown, selected?: unknown) => {
      // Explorer: (clicked, all selected); editor title: (resource); palette: nothing.
      let uris: vscode.Uri[] = [];
      if (Array.isArray(selected) && selected.every((u) => u instanceof vscode.Uri)) uris = selected;
      else if (uri instanceof vscode.Uri) uris = [uri];
      else {
        const active = activeImage();
        uris = active ? [active] : (await pickImage()) ?? [];
      }
      uris = uris.filter((u) => isImageFileName(u.path));
      if (uris.length === 0) return;
      const nonLocal = uris.filter((u) => u.scheme !== 'file');
      if (nonLocal.length > 0) {
        void vscode.window.showErrorMessage(`Neuron Path can only analyze local files; ${nonLocal[0].toString()} is not one. Copy it into a local folder first.`);
        uris = uris.filter((u) => u.scheme === 'file');
      }
      for (const u of uris) panels.open(u);
    }),

    vscode.commands.registerCommand(COMMANDS.selectModel, () => selectModel(service)),

    vscode.commands.registerCommand(COMMANDS.openSettings, () => {
      const { command, arg } = openSettingsCommand(vscode.env.remoteName, context.extension.id);
      return vscode.commands.executeCommand(command, arg);
    }),
  ];
}

interface ModelPick extends vscode.QuickPickItem { action: 'bundled' | 'browse' | 'browse-folder' | 'file'; uri?: vscode.Uri }

/** Config files that make a folder a model folder (modelFolder.ts reads them). */
const MODEL_FOLDER_CONFIGS = '**/{preprocessor_config.json,config.json,open_clip_config.json}';

async function selectModel(service: AnalysisService): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const current = service.settings();
  const quickPick = vscode.window.createQuickPick<ModelPick>();
  quickPick.title = 'Neuron Path: Select Model';
  quickPick.placeholder = 'An ONNX vision transformer (image classifier)';
  quickPick.busy = true;
  const fixed: ModelPick[] = [
    { label: '$(package) Bundled model', description: current.bundledModel ? '(current)' : '', detail: 'The model that ships with the extension', action: 'bundled' },
    { label: '$(folder-opened) Browse for a file...', detail: 'Choose an .onnx file anywhere', action: 'browse' },
    { label: '$(folder-library) Browse for a model folder...', detail: 'A folder as the hubs give it: model.onnx or onnx/model.onnx with its config files', action: 'browse-folder' },
  ];
  quickPick.items = fixed;
  quickPick.show();
  const currentPath = current.model.modelPath;
  const files = vscode.workspace.findFiles('**/*.onnx', '**/node_modules/**', 500).then((uris) => uris
    .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
    .map((u): ModelPick => ({
      label: `$(file-binary) ${path.basename(u.fsPath)}`,
      description: vscode.workspace.asRelativePath(u) + (u.fsPath === currentPath ? ' (current)' : ''),
      action: 'file', uri: u,
    })));
  // Folders whose configs sit beside (or above) one ONNX file the folder resolves to.
  const folders = vscode.workspace.findFiles(MODEL_FOLDER_CONFIGS, '**/node_modules/**', 500).then((uris) => [...new Set(uris.map((u) => path.dirname(u.fsPath)))]
    .filter((dir) => { try { locateModel(dir); return true; } catch { return false; } })
    .sort()
    .map((dir): ModelPick => ({
      label: `$(folder-library) ${path.basename(dir)}`,
      description: vscode.workspace.asRelativePath(dir) + (dir === currentPath ? ' (current)' : ''),
      detail: `model folder: ${path.relative(dir, locateModel(dir).file)}`,
      action: 'file', uri: vscode.Uri.file(dir),
    })));
  const found = Promise.all([folders, files]).then(([a, b]) => [...a, ...b]);
  void found.then((files) => {
    quickPick.items = files.length > 0
      ? [...fixed, { label: 'In this workspace', kind: vscode.QuickPickItemKind.Separator, action: 'file' }, ...files]
      : fixed;
    quickPick.busy = false;
  }, () => { quickPick.busy = false; });
  const choice = await new Promise<ModelPick | undefined>((resolve) => {
    quickPick.onDidAccept(() => { resolve(quickPick.selectedItems[0]); quickPick.hide(); });
    quickPick.onDidHide(() => resolve(undefined));
  });
  quickPick.dispose();
  if (!choice) return;

  // In an untrusted workspace the workspace value is ignored anyway: write the user setting.
  const canUseWorkspace = vscode.workspace.isTrusted && (vscode.workspace.workspaceFolders?.length ?? 0) > 0;
  if (choice.action === 'bundled') {
    const info = config.inspect<string>('modelPath');
    if (info?.workspaceFolderValue !== undefined) await config.update('modelPath', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    if (info?.workspaceValue !== undefined) await config.update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
    if (info?.globalValue !== undefined) await config.update('modelPath', undefined, vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage('Neuron Path: using the bundled model.');
    return;
  }
  let uri = choice.uri;
  let target = canUseWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  if (choice.action === 'browse') {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false, openLabel: 'Use this model', title: 'Neuron Path: choose an ONNX model', filters: { 'ONNX model': ['onnx'] },
    });
    if (!picked?.[0]) return;
    uri = picked[0];
    target = vscode.ConfigurationTarget.Global;
  }
  if (choice.action === 'browse-folder') {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false, canSelectFiles: false, canSelectFolders: true, openLabel: 'Use this model folder', title: 'Neuron Path: choose a model folder',
    });
    if (!picked?.[0]) return;
    uri = picked[0];
    target = vscode.ConfigurationTarget.Global;
    try {
      locateModel(uri.fsPath);
    } catch (e) {
      void vscode.window.showErrorMessage(`Neuron Path: ${(e as Error).message}. Choose the ONNX file itself with "Browse for a file...".`);
      return;
    }
  }
  if (!uri) return;
  if (uri.scheme !== 'file') {
    void vscode.window.showErrorMessage('Neuron Path can only load models from local files.');
    return;
  }
  // `${workspaceFolder}` (the first folder, see settings.ts) keeps a workspace setting portable.
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const value = target === vscode.ConfigurationTarget.Workspace && folder && folder.index === 0
    ? path.join('${workspaceFolder}', path.relative(folder.uri.fsPath, uri.fsPath))
    : uri.fsPath;
  // A workspace value would hide a user value: write where it takes effect.
  if (target === vscode.ConfigurationTarget.Global && canUseWorkspace && config.inspect<string>('modelPath')?.workspaceValue !== undefined) {
    target = vscode.ConfigurationTarget.Workspace;
  }
  await config.update('modelPath', target === vscode.ConfigurationTarget.Global ? uri.fsPath : value, target);
  void vscode.window.showInformationMessage(`Neuron Path: model set to ${path.basename(uri.fsPath)} (${target === vscode.ConfigurationTarget.Global ? 'user' : 'workspace'} settings).`);
}
