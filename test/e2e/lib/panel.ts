// Reading and driving the analysis panel's webview. A webview lives in nested iframes; the panel for
// an image is the frame holding [data-testid="panel"][data-image=NAME]. Frames come and go (a hidden
// webview may be torn down and restored), so every read finds the frame again. Only the data-testids
// listed in test/e2e/TESTIDS.md are used.
import type { Frame, Page } from 'playwright-core';
import { sleep } from './codeServer';

export interface PanelNeuron { layer: number; neuron: number }

export interface PanelSnapshot {
  state: string;                 // status data-state: idle | running | done | cancelled | error
  status: string;                // the status text
  path: PanelNeuron[];
  target: number | undefined;    // data-class of [data-testid=target]
  predictions: number[];         // data-class of each [data-testid=prediction], in rank order
  headline: string;              // the prediction line above the path ([data-testid=headline]; empty when hidden)
  theme: string;                 // body class vscode-light | vscode-dark | vscode-high-contrast
}

/** Where an element is, against the part of the page a person sees without scrolling (page pixels). */
export interface OnScreen { top: number; bottom: number; visibleTop: number; visibleBottom: number; scrolled: number }

export class Panel {
  constructor(private readonly page: Page, readonly image: string) {}

  private get selector(): string {
    return `[data-testid="panel"][data-image="${this.image.replace(/"/g, '\\"')}"]`;
  }

  async frame(): Promise<Frame | undefined> {
    for (const frame of this.page.frames()) {
      try {
        if (await frame.$(this.selector)) return frame;
      } catch {
        // detached while we looked
      }
    }
    return undefined;
  }

  async waitOpen(timeoutMs = 60_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const f = await this.frame();
      if (f) return f;
      await sleep(250);
    }
    throw new Error(`no panel for ${this.image} within ${timeoutMs / 1000} s`);
  }

  async snapshot(): Promise<PanelSnapshot | undefined> {
    const f = await this.frame();
    if (!f) return undefined;
    try {
      return await f.evaluate((sel) => {
        const root = document.querySelector(sel);
        const all = (id: string) => Array.from((root ?? document).querySelectorAll<HTMLElement>(`[data-testid="${id}"]`));
        const one = (id: string) => all(id)[0];
        const status = one('status');
        const target = one('target');
        const headline = one('headline');
        const theme = ['vscode-high-contrast', 'vscode-dark', 'vscode-light'].find((c) => document.body.classList.contains(c)) ?? '';
        return {
          state: status?.dataset.state ?? '',
          status: status?.textContent?.replace(/\s+/g, ' ').trim() ?? '',
          path: all('path-neuron').map((e) => ({ layer: Number(e.dataset.layer), neuron: Number(e.dataset.neuron) })),
          target: target?.dataset.class !== undefined && target.dataset.class !== '' ? Number(target.dataset.class) : undefined,
          predictions: all('prediction').map((e) => Number(e.dataset.class)),
          headline: headline && !headline.hidden ? headline.textContent?.replace(/\s+/g, ' ').trim() ?? '' : '',
          theme,
        };
      }, this.selector);
    } catch {
      return undefined; // frame detached mid-read
    }
  }

  /**
   * Polls until `done(snapshot)` holds. A snapshot in state `error` fails at once (unless `allowError`),
   * with the panel's status text in the message.
   */
  waitFor(what: string, done: (s: PanelSnapshot) => boolean, timeoutMs: number, allowError = false): Promise<PanelSnapshot> {
    return waitForSnapshot(`panel ${this.image}`, () => this.snapshot(), what, done, timeoutMs, allowError);
  }

  /**
   * Where the first element with `testid` is on the page, and the band of the page the webview shows
   * (its frame, clipped by the browser window); `scrolled` is how far the webview's page is scrolled.
   */
  async onScreen(testid: string): Promise<OnScreen> {
    const f = await this.waitOpen();
    const box = await f.locator(`${this.selector} [data-testid="${testid}"]`).first().boundingBox();
    const frameBox = await (await f.frameElement()).boundingBox();
    const viewport = this.page.viewportSize();
    if (!box || !frameBox || !viewport) throw new Error(`[data-testid=${testid}] of the panel for ${this.image} is not laid out`);
    const scrolled = await f.evaluate(() => document.scrollingElement?.scrollTop ?? 0);
    return { top: box.y, bottom: box.y + box.height, visibleTop: Math.max(0, frameBox.y), visibleBottom: Math.min(viewport.height, frameBox.y + frameBox.height), scrolled };
  }

  /** Presses a button of the panel by its data-testid (e.g. `cancel`). */
  async press(testid: string): Promise<void> {
    const f = await this.waitOpen();
    await f.locator(`${this.selector} [data-testid="${testid}"]`).click();
  }

  /** Clicks the panel's element that `selector` names (inside the panel's root). */
  async click(selector: string): Promise<void> {
    const f = await this.waitOpen();
    await f.locator(`${this.selector} ${selector}`).click();
  }

  /** Types into a vscode-textfield of the panel (its inner input), as a person would. */
  async type(selector: string, text: string): Promise<void> {
    const f = await this.waitOpen();
    await f.locator(`${this.selector} ${selector} input`).fill(text);
  }

  /** The neuron of the selected path card. */
  async selectedNeuron(): Promise<PanelNeuron> {
    const f = await this.waitOpen();
    const card = f.locator(`${this.selector} [data-testid="path-neuron"].selected`);
    return { layer: Number(await card.getAttribute('data-layer')), neuron: Number(await card.getAttribute('data-neuron')) };
  }

  /** The neurons of the layer view's top-10 rows whose "+" (add to Intervene) is enabled, in rank order. */
  async top10Addable(): Promise<PanelNeuron[]> {
    const f = await this.waitOpen();
    const buttons = f.locator(`${this.selector} [data-testid="top10-intervene"]`);
    await buttons.first().waitFor({ timeout: 60_000 });
    return buttons.evaluateAll((els) => els
      .filter((e) => !(e as HTMLElement & { disabled: boolean }).disabled)
      .map((e) => ({ layer: Number(e.getAttribute('data-layer')), neuron: Number(e.getAttribute('data-neuron')) })));
  }

  /** The Intervene section: the neurons set, the live answer shown and the folder run. */
  async intervene(): Promise<InterveneSnapshot | undefined> {
    const f = await this.frame();
    if (!f) return undefined;
    try {
      return await f.evaluate((sel) => {
        const root = document.querySelector(sel) ?? document;
        const one = (id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
        const all = (css: string) => Array.from(root.querySelectorAll<HTMLElement>(css));
        const text = (e: HTMLElement | null) => e?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
        const classes = (id: string) => all(`[data-testid="${id}"] [data-testid="intervene-class"]`).map((e) => ({ class: Number(e.dataset.class), probability: Number(e.dataset.probability) }));
        const num = (e: HTMLElement, k: string) => Number(e.dataset[k]);
        return {
          state: one('intervene-status')?.dataset.state ?? '',
          status: text(one('intervene-status')),
          neurons: all('[data-testid="intervene-neuron"]').map((e) => ({ layer: Number(e.dataset.layer), neuron: Number(e.dataset.neuron) })),
          settings: one('intervene-after')?.dataset.settings ?? '',
          before: classes('intervene-before'),
          after: classes('intervene-after'),
          target: text(one('intervene-target')),
          folder: {
            state: one('intervene-folder-status')?.dataset.state ?? '',
            status: text(one('intervene-folder-status')),
            effects: all('[data-testid="intervene-effect"]').map((e) => ({
              label: e.dataset.class ?? '', images: num(e, 'images'),
              accuracy: [num(e, 'accuracyBefore'), num(e, 'accuracyAfter')] as [number, number],
              probability: [num(e, 'probabilityBefore'), num(e, 'probabilityAfter')] as [number, number],
            })),
          },
        };
      }, this.selector);
    } catch {
      return undefined; // frame detached mid-read
    }
  }

  /** Polls the Intervene section until `done` holds; its live line in state `error` fails at once. */
  waitForIntervene(what: string, done: (s: InterveneSnapshot) => boolean, timeoutMs: number): Promise<InterveneSnapshot> {
    return waitForSnapshot(`the Intervene section of ${this.image}`, () => this.intervene(), what, done, timeoutMs);
  }

  /** Presses the selected path card's "What excites #j?" button; returns that card's neuron. */
  async openNeuronView(): Promise<PanelNeuron> {
    const neuron = await this.selectedNeuron();
    await this.click('[data-testid="neuron-view"]');
    return neuron;
  }

  /** Chooses a target class in the panel's picker (a native select or a vscode-single-select). */
  async chooseTarget(value: number | 'predicted'): Promise<void> {
    const f = await this.waitOpen();
    const select = f.locator(`${this.selector} [data-testid="target-select"]`);
    await select.waitFor();
    const tag = await select.evaluate((e) => e.tagName.toLowerCase());
    if (tag === 'select') {
      await select.selectOption(String(value));
      return;
    }
    // vscode-single-select (a combobox): as a person would, open it, type the start of the option
    // ("3: Dress", or "Predicted class"), move onto the match and press Enter.
    const typed = value === 'predicted' ? 'Predicted' : `${value}: `;
    const current = (): Promise<string> => select.evaluate((e) => (e as HTMLElement & { value: string }).value);
    await select.click();
    await this.page.keyboard.type(typed, { delay: 30 });
    await this.page.keyboard.press('ArrowDown');
    await this.page.keyboard.press('Enter');
    for (let i = 0; i < 30 && (await current()) !== String(value); i++) await sleep(100);
    const now = await current();
    if (now !== String(value)) throw new Error(`the target picker did not take "${typed}" + ArrowDown + Enter (its value is "${now}")`);
  }
}

export interface InterveneClass { class: number; probability: number }

export interface InterveneEffect { label: string; images: number; accuracy: [number, number]; probability: [number, number] }

export interface InterveneSnapshot {
  state: string;                 // the live line's data-state: idle | pending | done | error
  status: string;
  neurons: PanelNeuron[];        // the rows of the neurons set, in the order added
  settings: string;              // the setting the shown answer is of ("L:J=F,..."; data-settings of the after list)
  before: InterveneClass[];
  after: InterveneClass[];
  target: string;                // the target line ("Dress: 55.1% → 52.6% (-2.5 pp)")
  folder: { state: string; status: string; effects: InterveneEffect[] };
}

export interface FolderPanelSnapshot {
  state: string;                 // status data-state: empty | running | done | cancelled | error
  status: string;
  rows: number;                  // rows of the method comparison table
  resume: boolean;               // a Resume button is shown
  theme: string;
}

/** The folder panel's webview: the frame holding [data-testid="folder-panel"]. */
export class FolderPanelView {
  private readonly selector = '[data-testid="folder-panel"]';

  constructor(private readonly page: Page) {}

  async snapshot(): Promise<FolderPanelSnapshot | undefined> {
    for (const frame of this.page.frames()) {
      try {
        if (!(await frame.$(this.selector))) continue;
        return await frame.evaluate((sel) => {
          const root = document.querySelector(sel)!;
          const status = root.querySelector<HTMLElement>('[data-testid="status"]');
          return {
            state: status?.dataset.state ?? '',
            status: status?.textContent?.replace(/\s+/g, ' ').trim() ?? '',
            rows: root.querySelectorAll('[data-testid="comparison-table"] tr').length,
            resume: !!root.querySelector<HTMLElement>('[data-testid="resume"]')?.getClientRects().length,
            theme: ['vscode-high-contrast', 'vscode-dark', 'vscode-light'].find((c) => document.body.classList.contains(c)) ?? '',
          };
        }, this.selector);
      } catch {
        // detached while we looked
      }
    }
    return undefined;
  }

  waitFor(what: string, done: (s: FolderPanelSnapshot) => boolean, timeoutMs: number): Promise<FolderPanelSnapshot> {
    return waitForSnapshot('the folder panel', () => this.snapshot(), what, done, timeoutMs);
  }
}

/**
 * Polls a panel until `done(snapshot)` holds. A snapshot in state `error` fails at once (unless
 * `allowError`), with the panel's status text in the message.
 */
async function waitForSnapshot<S extends { state: string; status: string }>(
  who: string, read: () => Promise<S | undefined>, what: string, done: (s: S) => boolean, timeoutMs: number, allowError = false,
): Promise<S> {
  const deadline = Date.now() + timeoutMs;
  let last: S | undefined;
  while (Date.now() < deadline) {
    const s = await read();
    if (s) {
      last = s;
      if (done(s)) return s;
      if (s.state === 'error' && !allowError) throw new Error(`${who} shows an error while waiting for ${what}: ${s.status}`);
    }
    await sleep(300);
  }
  throw new Error(`${who}: no ${what} within ${timeoutMs / 1000} s; last seen: ${JSON.stringify(last)}`);
}

export interface NeuronViewSnapshot {
  state: string;                 // status data-state: idle | running | done | cancelled | error
  status: string;
  title: string;
  top: { image: string; activation: number }[];   // [data-testid=top-image] in rank order
  peaks: number;                 // outlined peak patches
  shown: number;                 // top images whose picture has loaded
  classRows: number;             // rows of the ablation table
  resume: boolean;               // a Resume button is shown
}

/** The neuron view's webview: the frame holding [data-testid="neuron-panel"] whose title names the neuron. */
export class NeuronView {
  constructor(private readonly page: Page, readonly layer: number, readonly neuron: number) {}

  async snapshot(): Promise<NeuronViewSnapshot | undefined> {
    for (const frame of this.page.frames()) {
      try {
        const s = await frame.evaluate(() => {
          const root = document.querySelector('[data-testid="neuron-panel"]');
          if (!root) return undefined;
          const status = root.querySelector<HTMLElement>('[data-testid="status"]');
          return {
            state: status?.dataset.state ?? '', status: status?.textContent?.trim() ?? '', title: root.querySelector('h1')?.textContent ?? '',
            top: Array.from(root.querySelectorAll<HTMLElement>('[data-testid="top-image"]')).map((e) => ({ image: e.dataset.image ?? '', activation: Number(e.dataset.activation) })),
            peaks: root.querySelectorAll('[data-testid="peak"]').length,
            shown: Array.from(root.querySelectorAll<HTMLImageElement>('[data-testid="top-image"] img')).filter((img) => img.complete && img.naturalWidth > 0).length,
            classRows: root.querySelectorAll('[data-testid="class-row"]').length,
            resume: !!root.querySelector<HTMLElement>('[data-testid="resume"]')?.getClientRects().length,
          };
        });
        if (s && s.title.startsWith(`Layer ${this.layer}, neuron ${this.neuron}`)) return s;
      } catch {
        // detached while we looked
      }
    }
    return undefined;
  }

  waitFor(what: string, done: (s: NeuronViewSnapshot) => boolean, timeoutMs: number): Promise<NeuronViewSnapshot> {
    return waitForSnapshot(`neuron view L${this.layer}:${this.neuron}`, () => this.snapshot(), what, done, timeoutMs);
  }
}
