// Where the extension writes a folder's result files (a folder analysis, a neuron scan; their
// .lock beside them), per the `neuronPath.resultsLocation` setting: next to the data as the CLI
// does, in a `.neuron-path/` folder of the workspace, or in the extension's storage. Every writer and
// reader of the extension host asks here. No vscode import: the host passes the places in.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESULT_SUFFIX, resultFileNextTo } from '../engine/batch/schema';

export const RESULTS_LOCATIONS = ['nextToData', 'workspace', 'extensionStorage'] as const;
export type ResultsLocation = typeof RESULTS_LOCATIONS[number];
/** The workspace's folder of results. */
export const WORKSPACE_RESULTS_DIR = '.neuron-path';

export interface ResultsPlaces {
  location: ResultsLocation;
  /** The workspace folder that holds the data (else the first one); none without an open folder. */
  workspaceRoot?: string;
  /** The extension's storage for this workspace (its global storage without one). */
  storage: string;
}

export const isResultsLocation = (v: unknown): v is ResultsLocation => (RESULTS_LOCATIONS as readonly unknown[]).includes(v);

/** The folder results go to, or undefined for next to the data. `workspace` without an open folder: the extension's storage (the setting says so). */
export function resultsDir(p: ResultsPlaces): string | undefined {
  if (p.location === 'nextToData') return undefined;
  if (p.location === 'workspace' && p.workspaceRoot) return path.join(p.workspaceRoot, WORKSPACE_RESULTS_DIR);
  return path.join(p.storage, 'batches');
}

/**
 * The result file of `folder` (`suffix`: another kind of result file of it, a neuron scan's). Away
 * from the data it is `<name>-<12 hex of the folder path's sha256><suffix>`: two folders with one
 * name never share a file, and the name still says which folder it is.
 */
export function resultFileOf(folder: string, p: ResultsPlaces, suffix = RESULT_SUFFIX): string {
  const dir = resultsDir(p);
  if (dir === undefined) return resultFileNextTo(folder, suffix);
  const full = path.resolve(folder);
  const id = createHash('sha256').update(full).digest('hex').slice(0, 12);
  return path.join(dir, `${path.basename(full)}-${id}${suffix}`);
}

/**
 * Before a run writes `file`: a workspace's results folder gets a .gitignore of everything in it, so
 * results are not committed with the data (other places need nothing: the run makes its folder).
 */
export function prepareResultsDir(file: string): void {
  const dir = path.dirname(file);
  if (path.basename(dir) !== WORKSPACE_RESULTS_DIR) return;
  fs.mkdirSync(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '# Neuron Path results (setting neuronPath.resultsLocation)\n*\n');
}

/**
 * The folder a result file away from the data was made from: the ancestor of one of its images
 * whose result file it is (every image of a folder run lies under the folder). Undefined when none is.
 */
export function folderOfAwayFile(file: string, image: string | undefined, p: ResultsPlaces): string | undefined {
  const target = path.resolve(file);
  for (let dir = image && path.dirname(image); dir; dir = path.dirname(dir) === dir ? undefined : path.dirname(dir)) {
    if (resultFileOf(dir, p) === target) return dir;
  }
  return undefined;
}
