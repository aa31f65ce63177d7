// How numbers are written, one function per kind of number, for both panels and the CLI alike (no
// imports: the webview bundles it too). A missing or non-finite value is written as MISSING.

export const MISSING = '–';

const missing = (v: number | null | undefined): v is null | undefined => v === null || v === undefined || !Number.isFinite(v);

/** A score, JAS, gradient, activation or probability: `digits` significant digits, an exponent below 1e-3 or from 1e4. */
export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (missing(v)) return MISSING;
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/** A change (a deviation, a difference): as formatNumber, with its sign always written. */
export function formatSigned(v: number | null | undefined, digits = 3): string {
  if (missing(v)) return MISSING;
  return v > 0 ? `+${formatNumber(v, digits)}` : formatNumber(v, digits);
}

/** A share or a probability as a percentage: one decimal, two near (but not at) 0% and 100%. */
export function formatPercent(p: number | null | undefined): string {
  if (missing(p)) return MISSING;
  if (p === 0 || p === 1) return `${p * 100}%`;
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 2 : 1)}%`;
}

/** A mean and its spread: "0.412 ± 0.051". */
export function formatSpread(s: { mean: number; std: number; n: number }, signed = false): string {
  return s.n ? `${signed ? formatSigned(s.mean) : formatNumber(s.mean)} ± ${formatNumber(s.std)}` : MISSING;
}
