// The integration rules of the path integrals (docs/method.md#the-integration-rule): the m points
// alpha_k in [0, 1] where the gradient is taken and their weights. `left` (alpha_k = k/m) is the
// paper's and its published code's; `midpoint` and `gauss` (Gauss-Legendre) reach the integral
// with fewer steps.
import type { Rule } from './result';

/** Points alpha_k in [0, 1] and weights summing to 1 (so m * weight_k is 1 for the equal-weight rules). */
export interface Quadrature { rule: Rule; alphas: number[]; weights: number[] }

export function quadrature(m: number, rule: Rule): Quadrature {
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`the steps m must be a whole number of at least 1, got ${m}`);
  if (rule === 'gauss') return { rule, ...gaussLegendre(m) };
  if (rule !== 'left' && rule !== 'midpoint') throw new RangeError(`unknown integration rule ${JSON.stringify(rule)} (left, midpoint or gauss)`);
  const shift = rule === 'midpoint' ? 0.5 : 0;
  return { rule, alphas: Array.from({ length: m }, (_, k) => (k + shift) / m), weights: new Array<number>(m).fill(1 / m) };
}

/**
 * Per step row, the factor its gradient is multiplied by before the rows are summed: m * weight_k,
 * so that the sum divided by m (the method's s = w / m) is the weighted sum. Undefined where every
 * factor is 1 (left, midpoint): the rows are summed as they are.
 */
export function rowFactors(q: Quadrature): Float32Array | undefined {
  const m = q.weights.length;
  return q.rule === 'gauss' ? Float32Array.from(q.weights, (w) => w * m) : undefined;
}

/** Gauss-Legendre nodes and weights on [0, 1]: Newton's method on the Legendre polynomial P_m, in float64. */
function gaussLegendre(m: number): { alphas: number[]; weights: number[] } {
  const alphas = new Array<number>(m), weights = new Array<number>(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let x = Math.cos(Math.PI * (i + 0.75) / (m + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_m(x) by the three-term recurrence, and its derivative.
      let p0 = 1, p1 = 0;
      for (let n = 1; n <= m; n++) { const p2 = p1; p1 = p0; p0 = ((2 * n - 1) * x * p1 - (n - 1) * p2) / n; }
      dp = m * (x * p0 - p1) / (x * x - 1);
      const dx = p0 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    // Nodes on [-1, 1] come in pairs +-x; mapped to [0, 1] (ascending) with half the weight.
    const w = 1 / ((1 - x * x) * dp * dp);
    alphas[i] = (1 - x) / 2; alphas[m - 1 - i] = (1 + x) / 2;
    weights[i] = w; weights[m - 1 - i] = w;
  }
  return { alphas, weights };
}
