// The random transformation applied to the image at every optimisation step (lucid's "transformation
// robustness"): a shift, a scale and a rotation about the centre, sampled bilinearly, grey (0.5)
// outside the image. Without it the optimum is high-frequency noise the model reads but no one sees.

export interface Affine { shiftY: number; shiftX: number; scale: number; angle: number }

/** A transformation drawn from `random` (uniform in [0, 1)): shift up to 12/224 of the size, scale 0.95..1.05, rotation up to 10 degrees. */
export function drawAffine(random: () => number, height: number, width: number): Affine {
  const u = (lo: number, hi: number) => lo + (hi - lo) * random();
  return { shiftY: u(-1, 1) * (12 / 224) * height, shiftX: u(-1, 1) * (12 / 224) * width, scale: u(0.95, 1.05), angle: u(-10, 10) * (Math.PI / 180) };
}

/**
 * Where each output pixel reads the source: four neighbours and their bilinear weights (a
 * neighbour outside the image reads the grey fill). Shared by the forward pass and its adjoint.
 */
function taps(a: Affine, H: number, W: number, visit: (out: number, src: number, w: number) => void, outside: (out: number, w: number) => void): void {
  const cy = (H - 1) / 2, cx = (W - 1) / 2;
  const cos = Math.cos(a.angle) / a.scale, sin = Math.sin(a.angle) / a.scale;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const dy = y - cy, dx = x - cx;
      const sy = cy + cos * dy - sin * dx - a.shiftY, sx = cx + sin * dy + cos * dx - a.shiftX;
      const y0 = Math.floor(sy), x0 = Math.floor(sx), fy = sy - y0, fx = sx - x0;
      const out = y * W + x;
      for (const [yy, xx, w] of [[y0, x0, (1 - fy) * (1 - fx)], [y0, x0 + 1, (1 - fy) * fx], [y0 + 1, x0, fy * (1 - fx)], [y0 + 1, x0 + 1, fy * fx]]) {
        if (w === 0) continue;
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) visit(out, yy * W + xx, w); else outside(out, w);
      }
    }
  }
}

/** A window of an image larger than the model's input (a tiled visualization). */
export interface Window { top: number; left: number; height: number; width: number }

/**
 * A window of `height` x `width` at a uniformly random place of an image of H x W that wraps around
 * its edges (the Fourier image is periodic): every pixel is in as many windows as any other, so the
 * corners are optimised as much as the centre.
 */
export function drawWindow(random: () => number, H: number, W: number, height: number, width: number): Window {
  return { top: Math.floor(random() * H), left: Math.floor(random() * W), height, width };
}

/** Calls `visit(window pixel, image pixel)` for every pixel of a wrapping window. */
function windowPixels(H: number, W: number, win: Window, visit: (inWindow: number, inImage: number) => void): void {
  for (let y = 0; y < win.height; y++) {
    const row = ((win.top + y) % H) * W;
    for (let x = 0; x < win.width; x++) visit(y * win.width + x, row + ((win.left + x) % W));
  }
}

/** The window's pixels of `image` [C x H x W]. */
export function cropWindow(image: Float64Array, channels: number, H: number, W: number, win: Window): Float64Array {
  const plane = win.height * win.width, out = new Float64Array(channels * plane);
  windowPixels(H, W, win, (o, i) => { for (let c = 0; c < channels; c++) out[c * plane + o] = image[c * H * W + i]; });
  return out;
}

/** The adjoint of `cropWindow`: a gradient on the window placed in the image (zero elsewhere). */
export function cropAdjoint(g: Float64Array, channels: number, H: number, W: number, win: Window): Float64Array {
  const plane = win.height * win.width, out = new Float64Array(channels * H * W);
  windowPixels(H, W, win, (o, i) => { for (let c = 0; c < channels; c++) out[c * H * W + i] += g[c * plane + o]; });
  return out;
}

/** `image` [C x H x W] in 0..1, transformed. */
export function applyAffine(image: Float64Array, channels: number, H: number, W: number, a: Affine): Float64Array {
  const out = new Float64Array(image.length), plane = H * W;
  taps(a, H, W, (o, s, w) => { for (let c = 0; c < channels; c++) out[c * plane + o] += w * image[c * plane + s]; },
    (o, w) => { for (let c = 0; c < channels; c++) out[c * plane + o] += w * 0.5; });
  return out;
}

/** The adjoint: a gradient on the transformed image back onto the image (the fill gets none). */
export function affineAdjoint(g: Float64Array, channels: number, H: number, W: number, a: Affine): Float64Array {
  const out = new Float64Array(g.length), plane = H * W;
  taps(a, H, W, (o, s, w) => { for (let c = 0; c < channels; c++) out[c * plane + s] += w * g[c * plane + o]; }, () => undefined);
  return out;
}
