// Driving VS Code's workbench (code-server in chromium, or the Electron window) as a person would:
// the explorer's context menu, progress notifications, themes, screenshots. Only workbench DOM here;
// the panel's own DOM is in panel.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** User settings every e2e VS Code starts with (settings.json of its fresh user data folder). */
export const BASE_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Light Modern',
  'window.menuStyle': 'custom',          // DOM context menus in the Electron window too
  'window.titleBarStyle': 'custom',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'editor.minimap.enabled': false,
};

export const THEMES = {
  light: { name: 'Default Light Modern', workbenchClass: 'vs', webviewClass: 'vscode-light' },
  dark: { name: 'Default Dark Modern', workbenchClass: 'vs-dark', webviewClass: 'vscode-dark' },
  'high-contrast': { name: 'Default High Contrast', workbenchClass: 'hc-black', webviewClass: 'vscode-high-contrast' },
} as const;
export type ThemeKind = keyof typeof THEMES;

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--no-default-browser-check',
];

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

export class Workbench {
  private settings: Record<string, unknown> = {};

  /**
   * `workspace` is the folder the window has open. Settings changed during the test go to its
   * .vscode/settings.json: VS Code (code-server too) applies those live, while code-server does not
   * notice changes to the user settings.json behind its back.
   */
  constructor(readonly page: Page, readonly workspace: string) {}

  async waitReady(timeoutMs = 120_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await this.explorer().waitFor({ timeout: timeoutMs });
  }

  /** Sets (or with `undefined`, removes) workspace settings. */
  updateSettings(patch: Record<string, unknown>): void {
    this.settings = { ...this.settings, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete this.settings[k];
    const file = path.join(this.workspace, '.vscode', 'settings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(this.settings, null, 2)}\n`);
  }

  explorer() {
    return this.page.locator('.explorer-folders-view');
  }

  /** The explorer row of a file at the workspace root. */
  explorerItem(fileName: string) {
    return this.explorer().getByRole('treeitem', { name: fileName, exact: true });
  }

  /** Expands a folder of the explorer (a click on a collapsed folder's row), so its files are rows too. */
  async expandFolder(name: string, timeoutMs = 60_000): Promise<void> {
    const row = this.explorerItem(name);
    await row.waitFor({ timeout: timeoutMs });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    const deadline = Date.now() + timeoutMs;
    while ((await row.getAttribute('aria-expanded')) !== 'true') {
      if (Date.now() > deadline) throw new Error(`the explorer did not expand ${name} within ${timeoutMs / 1000} s`);
      await this.page.waitForTimeout(200);
    }
  }

  /**
   * Accepts the open-folder dialog VS Code shows in a remote window (its "simple" dialog: a quick
   * input holding the path) once it offers `folder`: it first shows the parent's path, then lists
   * the folder asked for; a dialog that never offers `folder` fails with the path it shows.
   */
  async acceptFolderDialog(okLabel: string, folder: string, timeoutMs = 60_000): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const ok = widget.getByRole('button', { name: okLabel });
    await ok.waitFor({ timeout: timeoutMs });
    const offered = async () => (await widget.locator('input').first().inputValue()).replace(/\/+$/, '');
    const deadline = Date.now() + timeoutMs;
    while ((await offered()) !== folder) {
      if (Date.now() > deadline) throw new Error(`the folder dialog offers ${await offered()}, not ${folder}, after ${timeoutMs / 1000} s`);
      await this.page.waitForTimeout(200);
    }
    await ok.click();
    await ok.waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /**
   * Right-clicks a file in the explorer and chooses a menu entry. An extension's entries appear once
   * its host has read the contributions, so the menu is opened again until the entry is there.
   */
  async explorerCommand(fileName: string, entry: RegExp, timeoutMs = 120_000): Promise<void> {
    const row = this.explorerItem(fileName);
    await row.waitFor({ timeout: timeoutMs });
    await row.scrollIntoViewIfNeeded();
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      await row.click({ button: 'right' });
      const item = this.page.getByRole('menuitem', { name: entry }).first();
      const shown = await item.waitFor({ timeout: 3_000 }).then(() => true, () => false);
      if (shown) {
        // A menu ignores the mouse for a moment after it opens: a click then does nothing.
        await this.page.waitForTimeout(500);
        await item.click();
        await this.page.waitForTimeout(300);
        if (await item.isVisible()) await this.page.keyboard.press('Enter');
        return;
      }
      seen = await this.page.getByRole('menuitem').allInnerTexts().catch(() => []);
      await this.page.keyboard.press('Escape');
      await this.page.waitForTimeout(1_000);
    }
    throw new Error(`no context menu entry ${entry} on ${fileName} within ${timeoutMs / 1000} s; the menu had: ${seen.map((s) => s.replace(/\s+/g, ' ').trim()).filter(Boolean).join(' | ')}`);
  }

  /** The notification toast whose text matches. */
  notification(text: string | RegExp) {
    return this.page.locator('.notification-toast').filter({ hasText: text });
  }

  /** Presses Cancel on a running progress notification. */
  async cancelProgress(text: string | RegExp, timeoutMs = 60_000): Promise<void> {
    const button = this.notification(text).getByRole('button', { name: /^cancel$/i });
    await button.first().waitFor({ timeout: timeoutMs });
    await button.first().click();
  }

  /** Waits (a while, not failing) until no notification mentions `text`, e.g. a finished progress. */
  async waitNotificationGone(text: string | RegExp, timeoutMs = 10_000): Promise<void> {
    await this.notification(text).first().waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => undefined);
  }

  /** Error notifications currently shown (text), for failure messages. */
  async errorNotifications(): Promise<string[]> {
    const toasts = this.page.locator('.notification-toast').filter({ has: this.page.locator('.codicon-error') });
    return (await toasts.allInnerTexts().catch(() => [])).map((s) => s.replace(/\s+/g, ' ').trim());
  }

  /** Runs a command by its title from the command palette (F1), as a person would. */
  async runCommand(title: string, timeoutMs = 30_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await this.page.keyboard.press('F1');
    await input.waitFor({ timeout: timeoutMs });
    await input.fill(`>${title}`);
    await this.page.locator('.quick-input-widget .quick-input-list-entry').filter({ hasText: title }).first().waitFor({ timeout: timeoutMs });
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /** Closes every editor and panel (View: Close All Editors); a panel opened next starts afresh. */
  async closeEditors(timeoutMs = 30_000): Promise<void> {
    await this.runCommand('View: Close All Editors', timeoutMs);
    await this.page.locator('.editor-group-container .tab').first().waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** A setting's title in the settings editor ("Model Path"), once the editor shows it. */
  settingLabel(title: string) {
    return this.page.locator('.settings-editor .setting-item-label').filter({ hasText: new RegExp(`^${title}$`) }).first();
  }

  /** The settings editor's chosen tab (User, Remote [...], Workspace). */
  async settingsTab(): Promise<string> {
    const text = await this.page.locator('.settings-editor .settings-tabs-widget .action-label.checked').first().innerText({ timeout: 10_000 });
    return text.replace(/\s+/g, ' ').trim();
  }

  async setTheme(kind: ThemeKind, timeoutMs = 30_000): Promise<void> {
    const theme = THEMES[kind];
    this.updateSettings({ 'workbench.colorTheme': theme.name });
    await this.page.locator(`.monaco-workbench.${theme.workbenchClass}`).waitFor({ timeout: timeoutMs });
  }

  async screenshot(file: string): Promise<string> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
    return file;
  }
}
