// Small guards shared by the message checks of every peer (worker, pages) and by the operations'
// parameter checks. No imports: the webview bundles them too.

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A request id: ids start at 1. */
export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** A layer, neuron or class index. */
export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** An array of values that pass `guard` (for short arrays: a long one is checked by its length only). */
export function isArrayOf<T>(v: unknown, guard: (x: unknown) => x is T): v is T[] {
  return Array.isArray(v) && v.every(guard);
}

export function isOptional<T>(v: unknown, guard: (x: unknown) => x is T): v is T | undefined {
  return v === undefined || guard(v);
}

export function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** A sha256 as hex text (a file's, a cache key). */
export function isSha256(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

/** An absolute local path of sane length without control characters (POSIX or Windows). */
export function isLocalPath(v: unknown): v is string {
  return typeof v === 'string' && v.length > 1 && v.length <= 4096 && /^(\/|[A-Za-z]:[\\/])/.test(v)
    // eslint-disable-next-line no-control-regex -- a path with control characters is refused
    && !/[\u0000-\u001f\u007f]/.test(v) && !/(^|[\\/])\.\.([\\/]|$)/.test(v);
}

/** Stable text of a value with sorted object keys: equal options give equal keys. */
export function stableKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** A message that failed its guard, shortened for a log line (it may be anything, even circular). */
export function safeJson(v: unknown, max = 500): string {
  try { return JSON.stringify(v)?.slice(0, max) ?? String(v); } catch { return String(v); }
}

/** Any page asks the host to put text on the clipboard (a neuron's block and node names); the host answers no page. */
export interface CopyRequest { type: 'copy'; text: string }

/** Short text only: a page's message is not trusted. */
export function isCopyRequest(v: unknown): v is CopyRequest {
  return isObject(v) && v.type === 'copy' && typeof v.text === 'string' && v.text.length > 0 && v.text.length <= 4000;
}
