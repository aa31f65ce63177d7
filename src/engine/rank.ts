// The one order of a layer's neurons by score, used wherever neurons are chosen or ranked (the
// search, the top-K path, compact records, the comparison of two paths, the image panel): higher
// score first, ties by lower index. A score that is not a number (NaN; null once a record went
// through JSON) ranks after every number, so the order is total and the same everywhere.
// A leaf: the pages import it, so it imports nothing.

/** The sort key of a score: itself, or -Infinity when it is not a number. */
const keyOf = (s: number | null | undefined): number => (typeof s === 'number' && !Number.isNaN(s) ? s : -Infinity);

/** Whether neuron `a` ranks before neuron `b` in `scores`. */
function ranksBefore(scores: ArrayLike<number>, a: number, b: number): boolean {
  const ka = keyOf(scores[a]), kb = keyOf(scores[b]);
  return ka > kb || (ka === kb && a < b);
}

/** Every neuron of the layer, best first. */
export function rankOrder(scores: ArrayLike<number>): number[] {
  const keys = Array.from(scores, keyOf);
  return keys.map((_, j) => j).sort((a, b) => (keys[a] === keys[b] ? a - b : keys[a] > keys[b] ? -1 : 1));
}

/** The 1-based rank of `neuron` in `rankOrder(scores)` (1: the best), without sorting. */
export function rankOf(scores: ArrayLike<number>, neuron: number): number {
  let rank = 1;
  for (let j = 0; j < scores.length; j++) if (j !== neuron && ranksBefore(scores, j, neuron)) rank++;
  return rank;
}

/** The best neuron: `rankOrder(scores)[0]`, without sorting. */
export function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < scores.length; j++) if (ranksBefore(scores, j, best)) best = j;
  return best;
}

/** The `k` best neurons, best first: the start of `rankOrder(scores)`. */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  return k === 1 ? [argmax(scores)] : rankOrder(scores).slice(0, k);
}
