// The exact scorer against its float64 reference (test/ref/score.ts, written from the definitions):
// every score, Art's two parts, the per-op and per-object credits, on outputs from perfect to
// ruined, for every category and on odd canvas sizes.
import { describe, expect, it } from 'vitest';

import { CATEGORY_NAMES } from '../../src/world/categories.js';
import type { RgbImage } from '../../src/world/image.js';
import { applyOpsLenient, diffScenes } from '../../src/world/ops.js';
import { renderScene } from '../../src/world/render.js';
import { Rng, hashSeed } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import { scoreEdit } from '../../src/world/score.js';
import { scoreRef } from '../ref/score.js';
import { blurred, withNoise } from './helpers.js';

/** pixel-wise blend of two images (w = share of b) */
function blend(a: RgbImage, b: RgbImage, w: number): RgbImage {
  return { width: a.width, height: a.height, data: a.data.map((x, i) => Math.round((1 - w) * x + w * b.data[i])) };
}

/** the output with a rectangle of one flat colour painted over it */
function patch(img: RgbImage, seed: number): RgbImage {
  const r = new Rng(seed);
  const data = img.data.slice();
  const x0 = r.int(0, img.width - 4);
  const y0 = r.int(0, img.height - 4);
  const c = [r.int(0, 255), r.int(0, 255), r.int(0, 255)];
  for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) for (let k = 0; k < 3; k++) data[(y * img.width + x) * 3 + k] = c[k];
  return { ...img, data };
}

function expectMatches(got: ReturnType<typeof scoreEdit>, want: ReturnType<typeof scoreRef>, what: string): void {
  const close = (a: number, b: number, name: string) => expect(Math.abs(a - b), `${what}: ${name} ${a} vs ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
  for (const k of ['ins', 'con', 'nat', 'art', 'overall', 'noise', 'smear'] as const) close(got[k], want[k], k);
  expect(got.requiredPixels, `${what}: required`).toBe(want.requiredPixels);
  expect(got.ops.map((o) => o.pixels), `${what}: op pixels`).toEqual(want.ops.map((o) => o[0]));
  got.ops.forEach((o, i) => close(o.credit, want.ops[i][1], `op ${i} credit`));
  expect(got.kept.map((k) => [k.owner, k.pixels]), `${what}: kept`).toEqual(want.kept.map((k) => [k[0], k[1]]));
  got.kept.forEach((k, i) => close(k.credit, want.kept[i][2], `kept ${k.owner} credit`));
}

describe('scorer vs its float64 reference', () => {
  it.each(CATEGORY_NAMES)('%s: target, source, halfway, noisy, blurred, patched and half-done outputs', (category) => {
    for (let i = 0; i < 2; i++) {
      const e = generateEdit(category, hashSeed('score-ref', category, i)).edit;
      const size = { width: i === 0 ? 32 : 20, height: i === 0 ? 32 : 14 };
      const S = renderScene(e.source, size).image;
      const T = renderScene(e.target, size).image;
      const ops = diffScenes(e.source, e.target);
      const half = renderScene(applyOpsLenient(e.source, ops.slice(0, Math.ceil(ops.length / 2))).scene, size).image;
      const outputs: [string, RgbImage][] = [
        ['target', T],
        ['source', S],
        ['halfway', blend(S, T, 0.5)],
        ['mostly there', blend(S, T, 0.8)],
        ['noisy', withNoise(T, 20, i)],
        ['blurred', blurred(T)],
        ['patched', patch(T, i)],
        ['half the ops', half],
      ];
      for (const [name, out] of outputs) expectMatches(scoreEdit(out, e.source, e.target), scoreRef(out, e.source, e.target), `${category} #${i} ${name}`);
    }
  });

  it('the target as its own source: nothing required, Ins = 10, every pixel in Con', () => {
    const e = generateEdit('color_alter', 4).edit;
    const out = withNoise(renderScene(e.source).image, 10, 3);
    const got = scoreEdit(out, e.source, e.source);
    expectMatches(got, scoreRef(out, e.source, e.source), 'identity edit');
    expect(got.ins).toBe(10);
    expect(got.ops).toEqual([]);
    expect(got.kept.reduce((a, k) => a + k.pixels, 0)).toBe(32 * 32);
  });
});
