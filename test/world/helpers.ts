// Shared test fixtures: a hand-built scene and small image utilities.
import type { RgbImage } from '../../src/world/image.js';
import { Rng } from '../../src/world/rng.js';
import type { Scene, SceneObject } from '../../src/world/scene.js';

export function obj(id: number, fields: Partial<SceneObject>): SceneObject {
  return { id, shape: 'square', color: 'red', size: 'medium', texture: 'solid', x: 20, y: 20, ...fields };
}

/** A 64x64 world seen through the default 32x32 camera at (16, 16), plain white background. */
export function scene(objects: SceneObject[], over: Partial<Scene> = {}): Scene {
  return {
    world: { width: 64, height: 64 },
    camera: { x: 16, y: 16, width: 32, height: 32 },
    background: { pattern: 'plain', color: 'white', color2: 'white' },
    style: 'flat',
    tone: 'neutral',
    objects,
    ...over,
  };
}

export function pixel(img: RgbImage, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

export function maskBox(mask: Uint8Array, width: number): { x0: number; y0: number; x1: number; y1: number; count: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  let count = 0;
  mask.forEach((v, p) => {
    if (!v) return;
    count++;
    const x = p % width;
    const y = Math.floor(p / width);
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + 1);
    y1 = Math.max(y1, y + 1);
  });
  return { x0, y0, x1, y1, count };
}

/** The image with N(0, sigma^2) noise per channel, rounded and clipped. */
export function withNoise(img: RgbImage, sigma: number, seed: number): RgbImage {
  const r = new Rng(seed);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(img.data[i] + sigma * r.gaussian())));
  return { width: img.width, height: img.height, data };
}

/** 3x3 box blur (edges clamped): smears every edge. */
export function blurred(img: RgbImage): RgbImage {
  const { width: W, height: H } = img;
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const xx = Math.min(W - 1, Math.max(0, x + dx));
            const yy = Math.min(H - 1, Math.max(0, y + dy));
            s += img.data[(yy * W + xx) * 3 + c];
          }
        }
        data[(y * W + x) * 3 + c] = Math.round(s / 9);
      }
    }
  }
  return { width: W, height: H, data };
}
