/**
 * Minimal PNG encoder/decoder (node's zlib only, no dependencies) and the
 * procedural generator for the Teams app icons in appPackage/.
 *
 * Regenerate the icons with:  npm run build && node dist/scripts/png.js
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
import * as zlib from 'node:zlib';

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, row-major, non-premultiplied RGBA. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const typeAndBody = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  typeAndBody.copy(out, 4);
  out.writeUInt32BE(crc32(typeAndBody), 8 + body.length);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/** Apply PNG filter `type` (0–4) to one scanline; `prev` is the unfiltered previous line (zeros for the first). */
function filterLine(type: number, line: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(line.length);
  for (let i = 0; i < line.length; i++) {
    const x = line[i]!;
    const a = i >= bpp ? line[i - bpp]! : 0;
    const b = prev[i]!;
    const c = i >= bpp ? prev[i - bpp]! : 0;
    let v: number;
    switch (type) {
      case 0: v = x; break;
      case 1: v = x - a; break;
      case 2: v = x - b; break;
      case 3: v = x - ((a + b) >> 1); break;
      case 4: v = x - paeth(a, b, c); break;
      default: throw new Error(`Unknown PNG filter type ${type}`);
    }
    out[i] = v & 0xff;
  }
  return out;
}

export interface EncodeOptions {
  /** Filter type for every scanline (0–4). Default 0 (none): tiny icons, deterministic output. */
  filter?: 0 | 1 | 2 | 3 | 4;
}

/** Encode 8-bit RGBA (colour type 6, non-interlaced). */
export function encodePng(img: RgbaImage, options: EncodeOptions = {}): Buffer {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`Invalid PNG size ${width}×${height}`);
  }
  if (data.length !== width * height * 4) {
    throw new Error(`Expected ${width * height * 4} RGBA bytes, got ${data.length}`);
  }
  const filter = options.filter ?? 0;
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const line = data.subarray(y * stride, (y + 1) * stride);
    raw[y * (stride + 1)] = filter;
    raw.set(filterLine(filter, line, prev, 4), y * (stride + 1) + 1);
    prev = line;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method: adaptive
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Decode a non-interlaced 8-bit PNG (greyscale, RGB, palette, grey+alpha or
 * RGBA; filter types 0–4; IDAT split across any number of chunks) to RGBA.
 * Verifies the signature and every chunk CRC.
 */
export function decodePng(buf: Uint8Array): RgbaImage {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) throw new Error('Not a PNG (bad signature)');
  let pos = 8;
  let ihdr: Buffer | undefined;
  let palette: Buffer | undefined;
  let trns: Buffer | undefined;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (pos < b.length) {
    if (pos + 12 > b.length) throw new Error('Truncated PNG chunk');
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + len > b.length) throw new Error(`Truncated PNG chunk ${type}`);
    const body = b.subarray(pos + 8, pos + 8 + len);
    const crc = b.readUInt32BE(pos + 8 + len);
    if (crc32(b.subarray(pos + 4, pos + 8 + len)) !== crc) throw new Error(`Bad CRC in PNG chunk ${type}`);
    if (type === 'IHDR') ihdr = body;
    else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') { sawEnd = true; break; }
    pos += 12 + len;
  }
  if (!ihdr || ihdr.length !== 13) throw new Error('PNG has no valid IHDR');
  if (!sawEnd) throw new Error('PNG has no IEND');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const depth = ihdr[8]!;
  const colourType = ihdr[9]!;
  if (depth !== 8) throw new Error(`Unsupported PNG bit depth ${depth} (only 8)`);
  if (ihdr[12] !== 0) throw new Error('Interlaced PNGs are not supported');
  const channels: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  const bpp = channels[colourType];
  if (bpp === undefined) throw new Error(`Unknown PNG colour type ${colourType}`);
  if (colourType === 3 && !palette) throw new Error('Palette PNG without PLTE');

  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  if (raw.length < (stride + 1) * height) throw new Error('PNG image data too short');
  const pixels = new Uint8Array(stride * height);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const ft = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const line = pixels.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp]! : 0;
      const up = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let pred: number;
      switch (ft) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = up; break;
        case 3: pred = (a + up) >> 1; break;
        case 4: pred = paeth(a, up, c); break;
        default: throw new Error(`Unknown PNG filter type ${ft} on row ${y}`);
      }
      line[i] = (src[i]! + pred) & 0xff;
    }
    prev = line;
  }

  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = p * bpp;
    const d = p * 4;
    switch (colourType) {
      case 0: {
        const g = pixels[s]!;
        data[d] = data[d + 1] = data[d + 2] = g;
        data[d + 3] = trns && trns.length >= 2 && trns.readUInt16BE(0) === g ? 0 : 255;
        break;
      }
      case 2: {
        const [r, g, bl] = [pixels[s]!, pixels[s + 1]!, pixels[s + 2]!];
        data[d] = r; data[d + 1] = g; data[d + 2] = bl;
        data[d + 3] = trns && trns.length >= 6 && trns.readUInt16BE(0) === r && trns.readUInt16BE(2) === g && trns.readUInt16BE(4) === bl ? 0 : 255;
        break;
      }
      case 3: {
        const idx = pixels[s]!;
        if (idx * 3 + 2 >= palette!.length) throw new Error(`PNG palette index ${idx} out of range`);
        data[d] = palette![idx * 3]!; data[d + 1] = palette![idx * 3 + 1]!; data[d + 2] = palette![idx * 3 + 2]!;
        data[d + 3] = trns && idx < trns.length ? trns[idx]! : 255;
        break;
      }
      case 4:
        data[d] = data[d + 1] = data[d + 2] = pixels[s]!;
        data[d + 3] = pixels[s + 1]!;
        break;
      case 6:
        data.set(pixels.subarray(s, s + 4), d);
        break;
    }
  }
  return { width, height, data };
}

// ---------------------------------------------------------------------------
// Icon drawing
// ---------------------------------------------------------------------------

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

/**
 * Repo root, from either scripts/ or dist/scripts/ (compiled). Looks for
 * package.json next to tsconfig.json, so a package.json copied into dist/ by
 * resolveJsonModule can't be mistaken for the root.
 */
export function repoRoot(): string {
  let dir = __dirname;
  while (!(fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.json')))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`Cannot find the repository root above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export function writeIcons(outDir = path.join(repoRoot(), 'appPackage')): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: Array<[string, RgbaImage]> = [
    ['color.png', drawColorIcon(192)],
    ['outline.png', drawOutlineIcon(32)],
  ];
  return files.map(([name, img]) => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, encodePng(img));
    return file;
  });
}

if (require.main === module) {
  for (const file of writeIcons()) console.log(`Wrote ${file}`);
}
