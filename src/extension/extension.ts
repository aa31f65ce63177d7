// Entry of dist/extension.js: registers the features; each lives in its own file.
import * as vscode from 'vscode';
import { AnalysisService } from './analysis';
import { ComparePanelManager } from './comparePanel';
import { registerCommands } from './commands';
import { FolderPanelManager } from './folderPanel';
import { NeuronPanelManager } from './neuronPanel';
import { ImagePanelManager } from './imagePanel';
import { registerSampleCommand } from './samples';

export interface NeuronPathApi {
  /** The open analysis panels (for the end-to-end tests). */
  readonly panels: ImagePanelManager;
  /** The open folder panels (batch result files). */
  readonly folders: FolderPanelManager;
  /** The open neuron views. */
  readonly neurons: NeuronPanelManager;
  /** The open comparisons of two paths. */
  readonly comparisons: ComparePanelManager;
  readonly service: AnalysisService;
}

export function activate(context: vscode.ExtensionContext): NeuronPathApi {
  const output = vscode.window.createOutputChannel('Neuron Path', { log: true });
  const service = new AnalysisService(context, output);
  const folders = new FolderPanelManager(context, service);
  const panels = new ImagePanelManager(context, service, folders);
  const neurons = new NeuronPanelManager(context, service, folders);
  const comparisons = new ComparePanelManager(context, service, panels, folders);
  context.subscriptions.push(output, service, panels, folders, neurons, comparisons, ...registerCommands(context, panels, service, folders), registerSampleCommand(context));
  return { panels, folders, neurons, comparisons, service };
}

export function deactivate(): void {
  // Everything is in context.subscriptions; disposing the service shuts the worker down.
}
