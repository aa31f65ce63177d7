// The image that feature visualization optimises, as lucid/lucent parameterise it (Olah et al. 2017,
// "Feature Visualization"): per channel a Fourier spectrum scaled by 1/frequency (so the optimiser
// does not favour high frequencies), decorrelated colour (ImageNet's colour correlation), then a
// sigmoid into 0..1. Every step has its adjoint, so a gradient on the pixels becomes one on the spectrum.

/** The square root of ImageNet's colour correlation (lucid's published constants), as columns of decorrelated colour. */
const COLOUR = [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]];
const COLOUR_NORM = Math.max(...[0, 1, 2].map((d) => Math.hypot(COLOUR[0][d], COLOUR[1][d], COLOUR[2][d])));

export class FourierImage {
  readonly re: Float64Array[];          // per channel [H x Wf]
  readonly im: Float64Array[];
  private readonly wf: number;
  private readonly scale: Float64Array; // [H x Wf]
  private readonly cosY: Float64Array; private readonly sinY: Float64Array;  // [H x H]: (y, ky)
  private readonly cosX: Float64Array; private readonly sinX: Float64Array;  // [Wf x W]: (kx, x)

  /** `normal`: seeded standard normal numbers for the starting spectrum. */
  constructor(readonly channels: number, readonly height: number, readonly width: number, normal: () => number, sd = 0.01) {
    const H = height, W = width, wf = Math.floor(W / 2) + 1;
    this.wf = wf;
    this.scale = new Float64Array(H * wf);
    for (let ky = 0; ky < H; ky++) {
      for (let kx = 0; kx < wf; kx++) {
        const f = Math.hypot(Math.min(ky, H - ky) / H, kx / W);
        this.scale[ky * wf + kx] = 1 / Math.max(f, 1 / Math.max(H, W)) / Math.sqrt(H * W) / 4;
      }
    }
    const table = (n: number, m: number, period: number) => {
      const c = new Float64Array(n * m), s = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) {
        const a = (2 * Math.PI * ((i * k) % period)) / period;
        c[i * m + k] = Math.cos(a); s[i * m + k] = Math.sin(a);
      }
      return [c, s];
    };
    [this.cosY, this.sinY] = table(H, H, H);
    [this.cosX, this.sinX] = table(wf, W, W);
    const draw = () => Float64Array.from({ length: H * wf }, () => sd * normal());
    this.re = Array.from({ length: channels }, draw);
    this.im = Array.from({ length: channels }, draw);
  }

  /** The pixels in 0..1, [C x H x W]; `pre` keeps the values before the sigmoid for the adjoint. */
  render(): { rgb: Float64Array; pre: Float64Array } {
    const { channels: C, height: H, width: W } = this;
    const spatial = new Float64Array(C * H * W);
    for (let c = 0; c < C; c++) spatial.set(this.inverse(this.re[c], this.im[c]), c * H * W);
    const pre = C === 3 ? mixColour(spatial, H * W, false) : spatial;
    const rgb = pre.map((v) => 1 / (1 + Math.exp(-v)));
    return { rgb, pre };
  }

  /** The gradient on the spectrum (re, im per channel) of a gradient on the rendered pixels. */
  adjoint(gRgb: Float64Array, rgb: Float64Array): { re: Float64Array[]; im: Float64Array[] } {
    const { channels: C, height: H, width: W } = this;
    const gPre = gRgb.map((g, i) => g * rgb[i] * (1 - rgb[i]));
    const gSpatial = C === 3 ? mixColour(gPre, H * W, true) : gPre;
    const re: Float64Array[] = [], im: Float64Array[] = [];
    for (let c = 0; c < C; c++) {
      const [r, i] = this.inverseAdjoint(gSpatial.subarray(c * H * W, (c + 1) * H * W));
      re.push(r); im.push(i);
    }
    return { re, im };
  }

  /** x(y, x) = sum over (ky, kx) of scale * (re cos(a + b) - im sin(a + b)), a = 2 pi ky y / H, b = 2 pi kx x / W: separable. */
  private inverse(re: Float64Array, im: Float64Array): Float64Array {
    const { height: H, width: W, wf } = this;
    const U = new Float64Array(H * W), V = new Float64Array(H * W);
    for (let ky = 0; ky < H; ky++) {
      for (let kx = 0; kx < wf; kx++) {
        const s = this.scale[ky * wf + kx], p = s * re[ky * wf + kx], q = s * im[ky * wf + kx];
        if (p === 0 && q === 0) continue;
        for (let x = 0; x < W; x++) {
          const cb = this.cosX[kx * W + x], sb = this.sinX[kx * W + x];
          U[ky * W + x] += p * cb - q * sb;
          V[ky * W + x] += p * sb + q * cb;
        }
      }
    }
    const out = new Float64Array(H * W);
    for (let y = 0; y < H; y++) {
      for (let ky = 0; ky < H; ky++) {
        const ca = this.cosY[y * H + ky], sa = this.sinY[y * H + ky];
        for (let x = 0; x < W; x++) out[y * W + x] += ca * U[ky * W + x] - sa * V[ky * W + x];
      }
    }
    return out;
  }

  private inverseAdjoint(g: Float64Array): [Float64Array, Float64Array] {
    const { height: H, width: W, wf } = this;
    const gU = new Float64Array(H * W), gV = new Float64Array(H * W);
    for (let y = 0; y < H; y++) {
      for (let ky = 0; ky < H; ky++) {
        const ca = this.cosY[y * H + ky], sa = this.sinY[y * H + ky];
        for (let x = 0; x < W; x++) { gU[ky * W + x] += ca * g[y * W + x]; gV[ky * W + x] -= sa * g[y * W + x]; }
      }
    }
    const re = new Float64Array(H * wf), im = new Float64Array(H * wf);
    for (let ky = 0; ky < H; ky++) {
      for (let kx = 0; kx < wf; kx++) {
        let p = 0, q = 0;
        for (let x = 0; x < W; x++) {
          const cb = this.cosX[kx * W + x], sb = this.sinX[kx * W + x], u = gU[ky * W + x], v = gV[ky * W + x];
          p += u * cb + v * sb;
          q += v * cb - u * sb;
        }
        const s = this.scale[ky * wf + kx];
        re[ky * wf + kx] = s * p; im[ky * wf + kx] = s * q;
      }
    }
    return [re, im];
  }
}

/** Decorrelated colour to RGB (rgb_c = sum_d M[c][d] x_d), or its transpose for gradients. */
function mixColour(x: Float64Array, plane: number, transpose: boolean): Float64Array {
  const out = new Float64Array(x.length);
  for (let c = 0; c < 3; c++) {
    for (let d = 0; d < 3; d++) {
      const m = (transpose ? COLOUR[d][c] : COLOUR[c][d]) / COLOUR_NORM;
      for (let i = 0; i < plane; i++) out[c * plane + i] += m * x[d * plane + i];
    }
  }
  return out;
}
