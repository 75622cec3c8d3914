// Mask pixels: one byte per image pixel (1 = painted), rasterised without anti-aliasing, shown
// through a coloured overlay at display resolution, exported as a black-and-white PNG.

function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * Set ``brush.mask`` to ``value`` on every pixel whose centre is within ``r`` of the segment
 * a-b (image px, floats), keeping ``brush.painted`` (the count of set pixels) exact.
 * Returns the touched box [x0, y0, x1, y1], or null when it lies outside the image.
 */
export function stampCapsule(brush, width, height, a, b, r, value) {
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - r));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(a[0], b[0]) + r));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - r));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(a[1], b[1]) + r));
  if (x0 > x1 || y0 > y1) return null;
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const r2 = r * r;
  const { mask } = brush;
  let painted = brush.painted;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5;
      let t = len2 ? ((px - a[0]) * dx + (py - a[1]) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = a[0] + t * dx - px;
      const ey = a[1] + t * dy - py;
      if (ex * ex + ey * ey <= r2) {
        const i = y * width + x;
        if (mask[i] !== value) {
          painted += value ? 1 : -1;
          mask[i] = value;
        }
      }
    }
  }
  brush.painted = painted;
  return [x0, y0, x1, y1];
}

/**
 * Redraw the part of an overlay canvas (``scale`` display px per image px) that shows mask
 * pixels ``[x0..x1] x [y0..y1]``: ``color`` where painted (striped with white if asked),
 * transparent elsewhere.
 */
export function paintOverlay(ctx, mask, image, scale, [x0, y0, x1, y1], color, striped) {
  const { width, height } = image;
  const ow = ctx.canvas.width;
  const oh = ctx.canvas.height;
  const ox0 = Math.max(0, Math.floor(x0 * scale));
  const oy0 = Math.max(0, Math.floor(y0 * scale));
  const ox1 = Math.min(ow - 1, Math.ceil((x1 + 1) * scale));
  const oy1 = Math.min(oh - 1, Math.ceil((y1 + 1) * scale));
  const w = ox1 - ox0 + 1;
  const h = oy1 - oy0 + 1;
  if (w <= 0 || h <= 0) return;
  const data = ctx.createImageData(w, h);
  const [r, g, b] = hexToRgb(color);
  for (let oy = 0; oy < h; oy++) {
    const my = Math.min(height - 1, Math.floor((oy0 + oy + 0.5) / scale));
    for (let ox = 0; ox < w; ox++) {
      const mx = Math.min(width - 1, Math.floor((ox0 + ox + 0.5) / scale));
      if (mask[my * width + mx]) {
        const o = (oy * w + ox) * 4;
        const white = striped && (ox0 + ox + oy0 + oy) % 12 < 5;
        data.data[o] = white ? 255 : r;
        data.data[o + 1] = white ? 255 : g;
        data.data[o + 2] = white ? 255 : b;
        data.data[o + 3] = 255;
      }
    }
  }
  ctx.putImageData(data, ox0, oy0);
}

/** PNG bytes of a mask: ``width`` x ``height``, opaque white where painted, black elsewhere. */
export async function maskPng(mask, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(width, height);
  const px = data.data;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] ? 255 : 0;
    const o = i * 4;
    px[o] = v;
    px[o + 1] = v;
    px[o + 2] = v;
    px[o + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return new Uint8Array(await blob.arrayBuffer());
}
