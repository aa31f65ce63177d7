// The head of a page that follows a folder run (the folder panel's batch, the neuron view's scan):
// title and subtitle, Stop and Resume, the progress bar and the status line, drawn from the run's state.
import type { VscodeButton, VscodeProgressBar } from '@vscode-elements/elements';
import { h } from './dom';

export interface RunState { status: string; folder?: string; progress?: { done: number; total: number } }

export class RunHeader {
  readonly title = h('h1', { id: 'title' });
  readonly subtitle = h('p', { class: 'subtitle', id: 'subtitle' });
  readonly cancelButton: VscodeButton;
  readonly resumeButton: VscodeButton;
  readonly progressBar: VscodeProgressBar;
  readonly status: HTMLElement;

  constructor(post: (m: { type: 'cancel' | 'resume' }) => void, progressLabel: string, initialState: string) {
    this.cancelButton = h('vscode-button', { id: 'cancel', secondary: true, onclick: () => post({ type: 'cancel' }) }, 'Stop');
    this.resumeButton = h('vscode-button', { id: 'resume', onclick: () => post({ type: 'resume' }) }, 'Resume');
    this.progressBar = h('vscode-progress-bar', { id: 'progress', 'aria-label': progressLabel });
    this.status = h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'status', 'data-state': initialState });
  }

  /** Stop while it runs, Resume when there is a folder and something left; the bar and the status line. */
  render(s: RunState, statusText: string): void {
    const running = s.status === 'running';
    this.cancelButton.hidden = !running;
    this.resumeButton.hidden = running || !s.folder || (s.status === 'done' && !!s.progress && s.progress.done >= s.progress.total);
    this.progressBar.hidden = !running;
    if (running && s.progress && s.progress.total > 0) {
      this.progressBar.indeterminate = false;
      this.progressBar.max = 100;
      this.progressBar.value = (100 * s.progress.done) / s.progress.total;
    }
    this.status.dataset.state = s.status;
    this.status.className = `status${s.status === 'error' ? ' error' : ''}`;
    this.status.textContent = statusText;
  }
}
