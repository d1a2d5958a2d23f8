/**
 * The Teams app icons in appPackage/, drawn procedurally and written as PNG with pngjs.
 *
 * Regenerate the icons with:  npm run build && node dist/scripts/icons.js
 *
 * Icons (Teams requirements):
 *  - color.png   192×192 full colour: accent-blue background, two interlocking
 *                white rings (two schools, together) with a lighter lens where
 *                they overlap. The symbol stays inside the central 96×96-ish
 *                safe area so Teams' cropping never clips it.
 *  - outline.png 32×32, white on fully transparent background (alpha only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { repositoryRoot } from './playground';

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, row-major, non-premultiplied RGBA. */
  data: Uint8Array;
}

/** Any PNG (every bit depth and colour type) as 8-bit RGBA; throws when the bytes are not a readable PNG. */
export function readPng(bytes: Buffer): RgbaImage {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, data: png.data };
}

/** 8-bit RGBA, no filtering: small, deterministic files. */
export function writePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data);
  return PNG.sync.write(png, { filterType: 0 });
}

export const ACCENT = { r: 0x2b, g: 0x6c, b: 0xb0 }; // #2B6CB0, the manifest accentColor

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;

interface RingsGeometry {
  cx: number;
  cy: number;
  /** ring centre-line radius */
  radius: number;
  /** distance between the two ring centres */
  separation: number;
  /** stroke width */
  stroke: number;
  /** background-coloured gap either side of the "over" ring at crossings */
  gap: number;
}

/** Per-pixel coverage terms for two interlocking rings (analytic anti-aliasing, sampled at pixel centres). */
function ringsAt(g: RingsGeometry, px: number, py: number) {
  const x = px + 0.5;
  const y = py + 0.5;
  const dl = Math.hypot(x - (g.cx - g.separation / 2), y - g.cy);
  const dr = Math.hypot(x - (g.cx + g.separation / 2), y - g.cy);
  const half = g.stroke / 2;
  const ring = (d: number, w: number) => clamp01(w + 0.5 - Math.abs(d - g.radius));
  const disk = (d: number) => clamp01(g.radius + 0.5 - d);
  // Weave: the left ring passes over the right one at the top crossing, under it at the bottom one.
  const leftOnTop = y < g.cy;
  const [over, under] = leftOnTop ? [dl, dr] : [dr, dl];
  return {
    under: ring(under, half),
    overGap: ring(over, half + g.gap),
    over: ring(over, half),
    lens: Math.min(disk(dl), disk(dr)),
  };
}

export function drawColorIcon(size = 192): RgbaImage {
  const s = size / 192;
  const g: RingsGeometry = { cx: size / 2, cy: size / 2, radius: 27 * s, separation: 32 * s, stroke: 8 * s, gap: 3 * s };
  const lensTint = 0.22; // how much white is mixed into the overlap
  const data = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const c = ringsAt(g, px, py);
      const out: number[] = [];
      for (const bg of [ACCENT.r, ACCENT.g, ACCENT.b]) {
        const base = lerp(bg, 255, lensTint * c.lens);
        let v = lerp(base, 255, c.under);
        v = lerp(v, base, c.overGap);
        v = lerp(v, 255, c.over);
        out.push(Math.round(v));
      }
      const i = (py * size + px) * 4;
      data[i] = out[0]!; data[i + 1] = out[1]!; data[i + 2] = out[2]!; data[i + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

export function drawOutlineIcon(size = 32): RgbaImage {
  const s = size / 32;
  const g: RingsGeometry = { cx: size / 2, cy: size / 2, radius: 7.5 * s, separation: 9 * s, stroke: 2.5 * s, gap: 1 * s };
  const data = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const c = ringsAt(g, px, py);
      let a = c.under * (1 - c.overGap);
      a = c.over + a * (1 - c.over);
      const alpha = Math.round(clamp01(a) * 255);
      const i = (py * size + px) * 4;
      // White everywhere; only alpha carries the shape (fully transparent background).
      data[i] = 255; data[i + 1] = 255; data[i + 2] = 255; data[i + 3] = alpha;
    }
  }
  return { width: size, height: size, data };
}

export function writeIcons(outDir = path.join(repositoryRoot(), 'appPackage')): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: Array<[string, RgbaImage]> = [
    ['color.png', drawColorIcon(192)],
    ['outline.png', drawOutlineIcon(32)],
  ];
  return files.map(([name, img]) => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, writePng(img));
    return file;
  });
}

if (require.main === module) {
  for (const file of writeIcons()) console.log(`Wrote ${file}`);
}
