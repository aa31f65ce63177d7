// What the image panel and the folder panel share: the webview panel's page, icon and lifetime, the
// `ready` handshake (the page posts `ready` last, and again after it was hidden and reloaded; nothing is
// posted before), and a manager's map of open panels keyed by a file path.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import { bundleHtml } from './html';
import { isCopyRequest } from '../protocol/guards';

/** Both panels' webview options: scripts on, and files only from the bundles, the media and `extraRoots`. */
export function webviewOptions(extensionUri: vscode.Uri, extraRoots: vscode.Uri[] = []): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableFindWidget: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media'), ...extraRoots],
  };
}

/** The key of a panel shown for `fsPath`: normalised, and case-folded where file names are. */
export function panelKey(fsPath: string): string {
  const p = path.normalize(fsPath);
  return process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p;
}

export abstract class WebviewPanelHost<ToWebview> extends Disposable {
  private readonly _onDidDispose = this.register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this._onDidDispose.event;
  /** The page has said `ready` since it last loaded. */
  protected ready = false;

  constructor(protected readonly panel: vscode.WebviewPanel, context: vscode.ExtensionContext, bundle: 'image' | 'folder' | 'neuron' | 'compare', title: string) {
    super();
    const media = vscode.Uri.joinPath(context.extensionUri, 'media', 'icons');
    panel.iconPath = { light: vscode.Uri.joinPath(media, 'neuron-path-light.svg'), dark: vscode.Uri.joinPath(media, 'neuron-path-dark.svg') };
    this.register(panel.onDidDispose(() => this.dispose()));
    // Copy is the same for every page: the host's clipboard (a webview's may be denied).
    this.register(panel.webview.onDidReceiveMessage((m: unknown) => {
      if (!isCopyRequest(m)) { this.receive(m); return; }
      void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('Neuron Path: copied', 3000));
    }));
    // The webview is destroyed while hidden (no retainContextWhenHidden); it says `ready` again when shown.
    this.register(panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }));
    const webview = panel.webview;
    const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
    webview.html = bundleHtml(webview.cspSource, (file) => webview.asWebviewUri(vscode.Uri.joinPath(dist, file)).toString(), bundle, title);
  }

  /** A message from the page (not validated yet). */
  protected abstract receive(raw: unknown): void;

  reveal(): void { this.panel.reveal(undefined, false); }

  /** Sends to the page once it is ready; dropped before (the page gets everything in its `init`). */
  protected post(message: ToWebview): void {
    if (!this.ready || this.isDisposed) return;
    void this.panel.webview.postMessage(message);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._onDidDispose.fire();
    super.dispose();
    this.panel.dispose();
  }
}

/** The open panels of one view type, by `panelKey`. */
export abstract class PanelManagerBase<P extends WebviewPanelHost<unknown>> extends Disposable {
  protected readonly panels = new Map<string, P>();

  get openPanels(): readonly P[] { return [...this.panels.values()]; }

  /**
   * Restores this manager's panels after a window reload: what VS Code kept is state from the page,
   * not trusted, so it must pass `isState` and the files it names must pass `filesOk` (else the
   * panel is closed); a panel already open under the same key (`keyOf`, as `track` keeps it) wins,
   * `revive` takes the rest.
   */
  protected registerSerializer<S>(viewType: string, isState: (s: unknown) => s is S, keyOf: (s: S) => string,
                                  revive: (webviewPanel: vscode.WebviewPanel, state: S) => void | Promise<void>,
                                  filesOk: (state: S) => boolean | Promise<boolean>): void {
    this.register(vscode.window.registerWebviewPanelSerializer(viewType, {
      deserializeWebviewPanel: async (webviewPanel, state: unknown) => {
        if (!isState(state) || !await filesOk(state)) { webviewPanel.dispose(); return; }
        const open = this.panels.get(keyOf(state));
        if (open) { webviewPanel.dispose(); open.reveal(); return; }
        await revive(webviewPanel, state);
      },
    }));
  }

  /** Keeps `panel` under `key` until it is disposed. */
  protected track(key: string, panel: P): P {
    this.panels.set(key, panel);
    panel.onDidDispose(() => { if (this.panels.get(key) === panel) this.panels.delete(key); });
    return panel;
  }

  override dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
    super.dispose();
  }
}
