// Entry of dist/extension.js: registers the features; each lives in its own file.
import * as vscode from 'vscode';
import { AnalysisService } from './analysis';
import { registerCommands } from './commands';
import { FolderPanelManager } from './folderPanel';
import { PanelManager } from './panel';
import { registerSampleCommand } from './samples';

export interface NeuronPathApi {
  /** The open analysis panels (for the end-to-end tests). */
  readonly panels: PanelManager;
  /** The open folder panels (batch result files). */
  readonly folders: FolderPanelManager;
  readonly service: AnalysisService;
}

export function activate(context: vscode.ExtensionContext): NeuronPathApi {
  const output = vscode.window.createOutputChannel('Neuron Path', { log: true });
  const service = new AnalysisService(context, output);
  const panels = new PanelManager(context, service);
  const folders = new FolderPanelManager(context, service);
  context.subscriptions.push(output, service, panels, folders, ...registerCommands(context, panels, service, folders), registerSampleCommand(context));
  return { panels, folders, service };
}

export function deactivate(): void {
  // Everything is in context.subscriptions; disposing the service shuts the worker down.
}
