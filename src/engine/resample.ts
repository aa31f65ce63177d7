// Image resizing as Pillow does it (Resample.c, 8-bit images): a separable convolution whose kernel
// is widened by the scale factor when shrinking (antialiasing), weights in 22-bit fixed point,
// horizontal pass then vertical. Hugging Face image processors and torchvision/timm on PIL images
// all resize with Pillow, so matching it makes the model see the pixels it was evaluated on.
import type { Interpolation } from './preprocessing';

/** Interleaved 8-bit pixels. */
export interface Raster { data: Uint8Array; width: number; height: number; channels: number }

interface Filter { support: number; weight(x: number): number }

const bicubic = (x: number): number => {
  const a = -0.5; // Pillow's cubic: a = -0.5
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
};
const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; } },
  // Pillow writes the Hamming constants as C floats.
  hamming: { support: 1, weight: (x) => { x = Math.abs(x); return x === 0 ? 1 : x >= 1 ? 0 : sinc(x) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(Math.PI * x)); } },
  bicubic: { support: 2, weight: bicubic },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;

/** Per output pixel: the first input index, the tap count, and fixed-point weights (`taps` per pixel). */
function coefficients(inSize: number, outSize: number, filter: Filter): { start: Int32Array; count: Int32Array; k: Int32Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize), k = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // Pillow truncates toward zero here ((int) casts of values that are at least -0.5).
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) { w[x] = filter.weight((x + xmin - center + 0.5) * ss); total += w[x]; }
    for (let x = 0; x < xmax; x++) {
      const v = total !== 0 ? w[x] / total : 0;
      // Pillow rounds half away from zero when converting the weights to fixed point.
      k[xx * taps + x] = Math.trunc(v < 0 ? v * (1 << PRECISION_BITS) - 0.5 : v * (1 << PRECISION_BITS) + 0.5);
    }
    start[xx] = xmin; count[xx] = xmax;
  }
  return { start, count, k, taps };
}

const clip8 = (ss: number): number => { const v = ss >> PRECISION_BITS; return v < 0 ? 0 : v > 255 ? 255 : v; };

function horizontal(src: Raster, outW: number, filter: Filter): Raster {
  const { start, count, k, taps } = coefficients(src.width, outW, filter);
  const C = src.channels, out = new Uint8Array(outW * src.height * C), d = src.data, half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * C, outRow = y * outW * C;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx], kk = xx * taps;
      let p = row + start[xx] * C;
      if (C === 3) {
        // The common case, all channels in one walk over the taps (the hot loop of a photo's resize).
        let s0 = half, s1 = half, s2 = half;
        for (let x = 0; x < n; x++, p += 3) { const w = k[kk + x]; s0 += d[p] * w; s1 += d[p + 1] * w; s2 += d[p + 2] * w; }
        const o = outRow + xx * 3;
        out[o] = clip8(s0); out[o + 1] = clip8(s1); out[o + 2] = clip8(s2);
      } else {
        for (let c = 0; c < C; c++) {
          let ss = half;
          for (let x = 0; x < n; x++) ss += d[p + x * C + c] * k[kk + x];
          out[outRow + xx * C + c] = clip8(ss);
        }
      }
    }
  }
  return { data: out, width: outW, height: src.height, channels: C };
}

function vertical(src: Raster, outH: number, filter: Filter): Raster {
  const { start, count, k, taps } = coefficients(src.height, outH, filter);
  const C = src.channels, W = src.width, out = new Uint8Array(W * outH * C);
  for (let yy = 0; yy < outH; yy++) {
    const y0 = start[yy], n = count[yy], kk = yy * taps;
    for (let i = 0; i < W * C; i++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < n; y++) ss += src.data[(y + y0) * W * C + i] * k[kk + y];
      out[yy * W * C + i] = clip8(ss);
    }
  }
  return { data: out, width: W, height: outH, channels: C };
}

/** Pillow's NEAREST: the source pixel under each output pixel's centre. */
function nearest(src: Raster, outW: number, outH: number): Raster {
  const C = src.channels, out = new Uint8Array(outW * outH * C);
  const sx = src.width / outW, sy = src.height / outH;
  for (let y = 0; y < outH; y++) {
    const yi = Math.min(Math.floor((y + 0.5) * sy), src.height - 1);
    for (let x = 0; x < outW; x++) {
      const xi = Math.min(Math.floor((x + 0.5) * sx), src.width - 1);
      for (let c = 0; c < C; c++) out[(y * outW + x) * C + c] = src.data[(yi * src.width + xi) * C + c];
    }
  }
  return { data: out, width: outW, height: outH, channels: C };
}

/** `Image.resize((width, height), resample)` of Pillow on an 8-bit image. */
export function resize(src: Raster, width: number, height: number, interpolation: Interpolation): Raster {
  if (width === src.width && height === src.height) return src;
  if (interpolation === 'nearest') return nearest(src, width, height);
  const filter = FILTERS[interpolation];
  const h = width !== src.width ? horizontal(src, width, filter) : src;
  return height !== src.height ? vertical(h, height, filter) : h;
}
