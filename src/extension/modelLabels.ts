// The class names of the models the worker has loaded, as the engine resolved them (the host never
// reads a labels file): kept across window reloads for the last few models, so a panel showing a
// cached result can name every class before its model is loaded again.
import type * as vscode from 'vscode';
import type { ModelInfo } from '../engine/api';

const KEY = 'neuronPath.labelsByModel';
/** Models whose labels are kept: a sixth drops the one stored longest ago. */
const KEPT = 5;

export class ModelLabels {
  /** What this session's loads said, by model sha256. */
  private readonly loaded = new Map<string, string[]>();

  constructor(private readonly memento: vscode.Memento) {}

  /** The labels of the model with this hash, if it was loaded in this session or a recent one. */
  of(modelSha: string | undefined): string[] | undefined {
    if (!modelSha) return undefined;
    return this.loaded.get(modelSha) ?? this.memento.get<Record<string, string[]>>(KEY)?.[modelSha];
  }

  /** Takes a loaded model's labels; stored when this session had none or other ones for it. */
  remember(info: Pick<ModelInfo, 'sha256' | 'labels'>): void {
    const known = this.loaded.get(info.sha256);
    this.loaded.set(info.sha256, info.labels);
    if (known?.join('\n') === info.labels.join('\n')) return;
    const stored = this.memento.get<Record<string, string[]>>(KEY) ?? {};
    const next = Object.fromEntries([...Object.entries(stored).filter(([sha]) => sha !== info.sha256).slice(-(KEPT - 1)), [info.sha256, info.labels]]);
    void this.memento.update(KEY, next);
  }
}
