// The renderer: scene -> RGB pixels, deterministically, with a per-object mask of where each object
// is the visible top layer. Pure TypeScript, no anti-aliasing: every pixel is exactly one palette
// colour, which is what makes the scorer exact.

import { checkSide, createImage, type RgbImage } from './image.js';
import { tonedPalette, type Rgb } from './palette.js';
import { type Scene, type SceneObject, SIZE_UNITS } from './scene.js';
import { backgroundSecond, insideShape, textureShade } from './shapes.js';

export const DEFAULT_CANVAS = 32;
export const OWNER_BACKGROUND = -1;
export const OWNER_SHADOW = -2;
/** Block side of the `mosaic` style, in world units. */
export const MOSAIC_UNITS = 2;
/** Offset of the `shadow` style's drop shadow, in world units (down and right). */
export const SHADOW_UNITS = 1;

export interface RenderOptions {
  /** Canvas width in pixels, 1..256 (default 32). */
  width?: number;
  /** Canvas height in pixels, 1..256 (default: the width). */
  height?: number;
}

export interface Rendered {
  image: RgbImage;
  /** Per pixel: id of the object drawn there, or OWNER_BACKGROUND / OWNER_SHADOW. */
  owner: Int32Array;
  /** For every object of the scene (visible or not): 1 where it is the visible top layer. */
  masks: Map<number, Uint8Array>;
}

export function canvasSize(opts: RenderOptions = {}): { width: number; height: number } {
  const width = opts.width ?? DEFAULT_CANVAS;
  const height = opts.height ?? width;
  checkSide('render: width', width);
  checkSide('render: height', height);
  return { width, height };
}

export function renderScene(scene: Scene, opts: RenderOptions = {}): Rendered {
  const { width: W, height: H } = canvasSize(opts);
  const cam = scene.camera;
  if (!(cam.width > 0 && cam.height > 0)) {
    throw new RangeError(`renderScene: camera must have a positive extent, got ${cam.width}x${cam.height}`);
  }
  const mosaic = scene.style === 'mosaic';
  // World coordinate of each pixel centre (per column and per row: the mapping is separable).
  // The mosaic style samples the world at block centres instead; glyphs keep the exact centres so
  // text stays legible (a 1-unit stroke would vanish in 2-unit blocks).
  const exactX = new Float64Array(W);
  const exactY = new Float64Array(H);
  for (let px = 0; px < W; px++) exactX[px] = cam.x + ((px + 0.5) * cam.width) / W;
  for (let py = 0; py < H; py++) exactY[py] = cam.y + ((py + 0.5) * cam.height) / H;
  const block = (w: number) => Math.floor(w / MOSAIC_UNITS) * MOSAIC_UNITS + MOSAIC_UNITS / 2;
  const wxs = mosaic ? exactX.map(block) : exactX;
  const wys = mosaic ? exactY.map(block) : exactY;

  const pal = tonedPalette(scene.tone);
  const image = createImage(W, H);
  const data = image.data;
  const owner = new Int32Array(W * H).fill(OWNER_BACKGROUND);

  const bg = scene.background;
  const bg1 = pal.pale[bg.color];
  const bg2 = pal.pale[bg.color2];
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      put(data, py * W + px, backgroundSecond(bg.pattern, wxs[px], wys[py]) ? bg2 : bg1);
    }
  }

  for (const o of scene.objects) {
    const ox = o.shape === 'glyph' ? exactX : wxs;
    const oy = o.shape === 'glyph' ? exactY : wys;
    if (scene.style === 'shadow') {
      const cov = coverage(o, ox, oy, SHADOW_UNITS);
      if (cov) {
        forEachCovered(cov, false, (px, py) => {
          const p = py * W + px;
          put(data, p, pal.shadow);
          owner[p] = OWNER_SHADOW;
        });
      }
    }
    const cov = coverage(o, ox, oy, 0);
    if (!cov) continue;
    const base = pal.base[o.color];
    const shade = pal.shade[o.color];
    forEachCovered(cov, scene.style === 'outline', (px, py) => {
      const p = py * W + px;
      put(data, p, textureShade(o.texture, ox[px] - o.x, oy[py] - o.y) ? shade : base);
      owner[p] = o.id;
    });
  }

  const masks = new Map<number, Uint8Array>();
  for (const o of scene.objects) masks.set(o.id, new Uint8Array(W * H));
  for (let p = 0; p < W * H; p++) {
    const id = owner[p];
    if (id >= 0) masks.get(id)![p] = 1;
  }
  return { image, owner, masks };
}

function put(data: Uint8Array, p: number, c: Rgb): void {
  data[p * 3] = c[0];
  data[p * 3 + 1] = c[1];
  data[p * 3 + 2] = c[2];
}

/** Pixels whose centre falls inside an object's shape (shifted by `offset` units), over its bbox. */
interface Coverage {
  px0: number;
  py0: number;
  w: number;
  h: number;
  bits: Uint8Array;
}

function coverage(o: SceneObject, wxs: Float64Array, wys: Float64Array, offset: number): Coverage | null {
  const s = SIZE_UNITS[o.size];
  const x0 = o.x + offset;
  const y0 = o.y + offset;
  const [px0, px1] = span(wxs, x0, x0 + s);
  const [py0, py1] = span(wys, y0, y0 + s);
  if (px1 <= px0 || py1 <= py0) return null;
  const w = px1 - px0;
  const h = py1 - py0;
  const bits = new Uint8Array(w * h);
  let any = false;
  for (let j = 0; j < h; j++) {
    const v = (wys[py0 + j] - y0) / s;
    for (let i = 0; i < w; i++) {
      if (insideShape(o.shape, (wxs[px0 + i] - x0) / s, v, o.text)) {
        bits[j * w + i] = 1;
        any = true;
      }
    }
  }
  return any ? { px0, py0, w, h, bits } : null;
}

/** [first, end) indices of the sorted coordinates that fall in [lo, hi). */
function span(coords: Float64Array, lo: number, hi: number): [number, number] {
  let a = 0;
  while (a < coords.length && coords[a] < lo) a++;
  let b = a;
  while (b < coords.length && coords[b] < hi) b++;
  return [a, b];
}

/**
 * Calls fn for each covered pixel; with `outlineOnly`, only for covered pixels with an uncovered
 * 4-neighbour (the shape's boundary in pixel space, one pixel wide at any scale).
 */
function forEachCovered(cov: Coverage, outlineOnly: boolean, fn: (px: number, py: number) => void): void {
  const { w, h, bits } = cov;
  const at = (i: number, j: number) => i >= 0 && j >= 0 && i < w && j < h && bits[j * w + i] === 1;
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      if (bits[j * w + i] !== 1) continue;
      if (outlineOnly && at(i - 1, j) && at(i + 1, j) && at(i, j - 1) && at(i, j + 1)) continue;
      fn(cov.px0 + i, cov.py0 + j);
    }
  }
}
