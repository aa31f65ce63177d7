// The feature-visualization thumbnails of the image panel's path cards and the folder panel's heatmap
// cells: what the host sends (the cached visualizations, the progress of computing the missing ones in
// the worker) and the neurons a page names. Shared by both pages' protocols.
import { isIndex, isObject } from './guards';

export interface NeuronRef { layer: number; neuron: number }

/** The key of a neuron in `ThumbnailStatus.uris`. */
export const neuronRefKey = (layer: number, neuron: number): string => `${layer}:${neuron}`;

/** Where a page's thumbnails stand: the ones that exist, the computation running, or why it stopped. */
export interface ThumbnailStatus {
  /** Webview URIs of the neurons' visualizations (PNG), by `neuronRefKey`; a neuron without one is absent. */
  uris: Record<string, string>;
  /** Computing the missing ones: `done` of `total` finished, the current neuron and its step. */
  running?: { done: number; total: number; layer: number; neuron: number; step?: number; steps?: number };
  /** Why the last computation stopped early ('Stopped.' when the user stopped it). */
  message?: string;
}

/** More neurons than any page shows at once (a heatmap of 64 x 32 layers): a message naming more is refused. */
export const MAX_THUMBNAIL_NEURONS = 2048;

export function isNeuronRefs(v: unknown): v is NeuronRef[] {
  return Array.isArray(v) && v.length <= MAX_THUMBNAIL_NEURONS && v.every((n) => isObject(n) && isIndex(n.layer) && isIndex(n.neuron));
}
