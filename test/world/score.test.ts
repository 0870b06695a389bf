// The exact scorer: the rendered target is perfect, the unedited input carries out nothing, noise
// and blur cost cleanliness monotonically, partial edits get partial credit, and any scene can be
// the target (the CEC judge's CoT-implied scene).

import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../src/world/categories.js';
import { applyOps, diffScenes } from '../../src/world/ops.js';
import { renderScene } from '../../src/world/render.js';
import { hashSeed } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import { artifacts, changeRegions, naturalness, scoreEdit, summarizeScores } from '../../src/world/score.js';
import { blurred, obj, scene, withNoise } from './helpers.js';

const PER_CATEGORY = 25;

function edits(category: (typeof CATEGORY_NAMES)[number], n = PER_CATEGORY) {
  return Array.from({ length: n }, (_, i) => generateEdit(category, hashSeed('score-test', category, i)).edit);
}

describe('scorer', () => {
  it.each(CATEGORY_NAMES)('%s: the rendered target scores Ins = Con = Nat = Art = Overall = 10', (category) => {
    for (const e of edits(category)) {
      const s = scoreEdit(renderScene(e.target).image, e.source, e.target);
      expect([s.ins, s.con, s.nat, s.art, s.overall], e.instruction).toEqual([10, 10, 10, 10, 10]);
      expect(s.requiredPixels).toBeGreaterThan(0);
      expect(s.ops.length).toBeGreaterThan(0);
    }
  });

  it.each(CATEGORY_NAMES)('%s: the unedited input scores Ins <= 1 (every category changes pixels)', (category) => {
    for (const e of edits(category)) {
      const s = scoreEdit(renderScene(e.source).image, e.source, e.target);
      expect(s.requiredPixels, e.instruction).toBeGreaterThan(0);
      expect(s.ins, e.instruction).toBeLessThanOrEqual(1);
      // The input is a clean picture: its cleanliness is not what is wrong with it.
      expect(s.nat).toBe(10);
      expect(s.overall).toBeLessThanOrEqual(Math.sqrt(10));
    }
  });

  it('scores at the output image size, any canvas', () => {
    const e = generateEdit('color_alter', 3).edit;
    for (const [width, height] of [[16, 16], [64, 48], [128, 128]]) {
      const s = scoreEdit(renderScene(e.target, { width, height }).image, e.source, e.target);
      expect(s.overall).toBe(10);
      expect(scoreEdit(renderScene(e.source, { width, height }).image, e.source, e.target).ins).toBe(0);
    }
  });

  it('lowers Nat and Art monotonically as Gaussian noise on the target grows', () => {
    const sigmas = [0, 4, 8, 16, 32, 64];
    const sample = CATEGORY_NAMES.flatMap((c) => edits(c, 4));
    const nat = sigmas.map(() => 0);
    const art = sigmas.map(() => 0);
    sample.forEach((e, i) => {
      const target = renderScene(e.target).image;
      sigmas.forEach((sigma, k) => {
        const s = scoreEdit(withNoise(target, sigma, i), e.source, e.target);
        nat[k] += s.nat / sample.length;
        art[k] += s.art / sample.length;
      });
    });
    expect(nat[0]).toBeCloseTo(10, 9);
    expect(art[0]).toBeCloseTo(10, 9);
    for (let k = 1; k < sigmas.length; k++) {
      expect(nat[k], `Nat at sigma ${sigmas[k]}: ${nat.map((v) => v.toFixed(2))}`).toBeLessThan(nat[k - 1] - 0.2);
      expect(art[k], `Art at sigma ${sigmas[k]}: ${art.map((v) => v.toFixed(2))}`).toBeLessThan(art[k - 1] - 0.2);
    }
    expect(nat[sigmas.length - 1]).toBeLessThan(5);
    expect(art[sigmas.length - 1]).toBeLessThan(5);
  });

  it('is monotone per sample too, with a fixed noise pattern scaled up', () => {
    for (const category of ['subject_add', 'camera_zoom', 'background_change'] as const) {
      const e = edits(category, 1)[0];
      const t = renderScene(e.target).image;
      let prev = { nat: 11, art: 11 };
      for (const sigma of [0, 6, 12, 24, 48]) {
        const s = scoreEdit(withNoise(t, sigma, 99), e.source, e.target);
        expect(s.nat).toBeLessThan(prev.nat);
        expect(s.art).toBeLessThan(prev.art);
        prev = s;
      }
    }
  });

  it('sees a blurred target as smeared: Art and Nat drop, structure is still there', () => {
    const e = generateEdit('subject_add', 11).edit;
    const s = scoreEdit(blurred(renderScene(e.target).image), e.source, e.target);
    expect(s.smear).toBeLessThan(0.8);
    expect(s.art).toBeLessThan(8);
    expect(s.nat).toBeLessThan(9.5);
  });

  it('gives partial Ins to a partial edit: doing 1 of 3 removals scores about a third', () => {
    const base = scene([
      obj(1, { x: 18, y: 18 }),
      obj(2, { x: 30, y: 18, color: 'blue' }),
      obj(3, { x: 18, y: 30, color: 'green' }),
      obj(4, { x: 30, y: 30, color: 'yellow' }),
    ]);
    const target = applyOps(base, [{ op: 'remove', id: 1 }, { op: 'remove', id: 2 }, { op: 'remove', id: 3 }]);
    const partial = applyOps(base, [{ op: 'remove', id: 1 }]);
    const s = scoreEdit(renderScene(partial).image, base, target);
    expect(s.ops).toHaveLength(3);
    expect(s.ins).toBeCloseTo(10 / 3, 5);
    expect(s.con).toBe(10);
    expect(s.overall).toBeCloseTo(Math.sqrt(10 / 3 * 10), 5);
  });

  it('drops Con when something that should stay is changed, not Ins', () => {
    const base = scene([obj(1, { x: 18, y: 18 }), obj(2, { x: 30, y: 30, color: 'blue' })]);
    const target = applyOps(base, [{ op: 'replace', id: 1, attribute: 'color', from: 'red', to: 'green' }]);
    const overdone = applyOps(target, [{ op: 'remove', id: 2 }]);
    const s = scoreEdit(renderScene(overdone).image, base, target);
    expect(s.ins).toBe(10);
    expect(s.con).toBeLessThan(6);
    const obj2 = s.kept.find((k) => k.owner === 2);
    expect(obj2?.credit).toBeLessThan(0.1);
  });

  it('takes any scene as the target, e.g. one a CoT implies, and degrades by how far the output is from it', () => {
    const base = scene([obj(1, { x: 18, y: 18 }), obj(2, { x: 30, y: 30, color: 'blue' })]);
    const recolor = { op: 'replace', id: 1, attribute: 'color', from: 'red', to: 'green' } as const;
    const truth = applyOps(base, [recolor, { op: 'remove', id: 2 }]);
    // A CoT that names only the recolour: the true target carries that out, but changes more.
    const cotScene = applyOps(base, [recolor]);
    const vsCot = scoreEdit(renderScene(truth).image, base, cotScene);
    expect(vsCot.ins).toBe(10);
    expect(vsCot.con).toBeLessThan(10);
    // An output that follows the CoT exactly is perfect against it.
    expect(scoreEdit(renderScene(cotScene).image, base, cotScene).overall).toBe(10);
    // A CoT that says "change nothing": a copy of the input is perfect, any edit is not.
    expect(scoreEdit(renderScene(base).image, base, base).overall).toBe(10);
    expect(scoreEdit(renderScene(truth).image, base, base).con).toBeLessThan(10);
    // Works for generated edits and arbitrary scene pairs alike.
    const e = generateEdit('multi_instruction', 21).edit;
    const partial = applyOps(e.source, [diffScenes(e.source, e.target)[0]]);
    const s = scoreEdit(renderScene(partial).image, e.source, partial);
    expect(s.overall).toBe(10);
  });

  it('attributes every required pixel to the op that needs it', () => {
    const base = scene([obj(1, { x: 18, y: 18 }), obj(2, { x: 30, y: 30, color: 'blue' })]);
    const target = applyOps(base, [
      { op: 'remove', id: 1 },
      { op: 'move', id: 2, from: { x: 30, y: 30 }, to: { x: 36, y: 18 } },
    ]);
    const r = changeRegions(base, target, 32, 32);
    const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
    expect(r.ops.map((o) => o.op)).toEqual(['remove', 'move']);
    expect(count(r.perOp[0])).toBe(49);
    expect(count(r.perOp[1])).toBe(98);
    expect(count(r.unexplained)).toBe(0);
    expect(count(r.required)).toBe(49 + 98);
  });

  it('measures naturalness against the palette of the source and target tones', () => {
    const s = scene([obj(1, {})], { tone: 'warm' });
    const img = renderScene(s).image;
    expect(naturalness(img, ['warm'])).toBe(1);
    expect(naturalness(img, ['neutral'])).toBeLessThan(1);
    const off = { ...img, data: img.data.map((v, i) => (i % 3 === 1 ? 180 : v)) };
    expect(naturalness(off, ['warm'])).toBeLessThan(0.7);
    expect(artifacts(img, img)).toEqual({ noise: 1, smear: 1 });
  });

  it('averages per category and over categories (each category weighs the same)', () => {
    const perfect = { ins: 10, con: 10, nat: 10, art: 10, overall: 10 };
    const zero = { ins: 0, con: 10, nat: 10, art: 10, overall: 0 };
    const sum = summarizeScores([
      { category: 'a', scores: perfect },
      { category: 'a', scores: zero },
      { category: 'b', scores: perfect },
      { category: 'b', scores: perfect },
      { category: 'b', scores: perfect },
      { category: 'b', scores: perfect },
    ]);
    expect(sum.categories.a).toEqual({ ins: 5, con: 10, nat: 10, art: 10, overall: 5, n: 2 });
    expect(sum.categories.b.overall).toBe(10);
    expect(sum.benchmark.overall).toBe(7.5);
    expect(sum.benchmark.ins).toBe(7.5);
    expect(sum.benchmark.samples).toBe(6);
    expect(() => summarizeScores([{ category: 'a', scores: { ...perfect, ins: Number.NaN } }])).toThrow(/a has ins = NaN/);
  });

  it('rejects an output whose buffer does not match its size', () => {
    const e = generateEdit('color_alter', 1).edit;
    expect(() => scoreEdit({ width: 32, height: 32, data: new Uint8Array(10) }, e.source, e.target)).toThrow(/expected 32x32x3 = 3072 bytes, got 10/);
  });
});
