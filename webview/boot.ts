// What both pages (the image panel and the folder panel) do to start and to change state: the VS Code
// API, a store that reduces actions, keeps the small state VS Code restores and redraws, a redraw when
// the theme changes, and the start: build, draw, listen to the host, and post `ready` last (the host
// sends `init` only then).
import { byId } from './dom';

/** The API VS Code gives a webview, typed by what the page posts and keeps. */
export interface VsCodeApi<Out, Saved> {
  postMessage(message: Out): void;
  getState(): Saved | undefined;
  setState(state: Saved): void;
}
declare function acquireVsCodeApi(): VsCodeApi<unknown, unknown>;

export interface PageOptions<S, A, Saved> {
  /** The page's root element (#app) gets this data-testid. */
  testid: string;
  initial(saved: Saved | undefined): S;
  reduce(state: S, action: A): S;
  /** What VS Code keeps for the page to be restored (undefined: nothing yet). */
  persist(state: S): Saved | undefined;
  /** Host messages that are actions of this page; others are ignored. */
  accepts(message: unknown): message is A;
  build(): void;
  render(): void;
}

export class Page<S, A, Out extends { type: string }, Saved> {
  private readonly vscode = acquireVsCodeApi() as VsCodeApi<Out, Saved>;
  state: S;
  /** The state before the last change, so a redraw can skip what did not change. */
  previous: S | undefined;
  /** Bumped when VS Code changes the theme, so charts know to take the new colours. */
  themeVersion = 0;
  /** The element the page is built in. */
  readonly app: HTMLElement;

  constructor(private readonly options: PageOptions<S, A, Saved>) {
    this.state = options.initial(this.vscode.getState());
    this.app = byId('app');
    this.app.dataset.testid = options.testid;
  }

  readonly post = (message: Out): void => { this.vscode.postMessage(message); };

  readonly dispatch = (action: A): void => {
    const next = this.options.reduce(this.state, action);
    if (next === this.state) return;
    this.previous = this.state;
    this.state = next;
    const saved = this.options.persist(next);
    if (saved !== undefined) this.vscode.setState(saved);
    this.options.render();
  };

  /** Builds and draws the page, then listens to the host and says `ready`. */
  start(): void {
    this.options.build();
    // VS Code changes the body class (vscode-light / vscode-dark / vscode-high-contrast) and the
    // variables on <html> when the theme changes: redraw with the new colours.
    const onTheme = new MutationObserver(() => { this.themeVersion++; this.options.render(); });
    onTheme.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    onTheme.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
    window.addEventListener('message', (event: MessageEvent) => {
      if (this.options.accepts(event.data)) this.dispatch(event.data);
    });
    this.options.render();
    this.post({ type: 'ready' } as Out);
  }
}

/** A message object with a string `type` (what the host sends), optionally one of `types`. */
export function isMessage(m: unknown, types?: readonly string[]): m is { type: string } {
  const type = (m as { type?: unknown } | null)?.type;
  return typeof m === 'object' && m !== null && typeof type === 'string' && (!types || types.includes(type));
}
