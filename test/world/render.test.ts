import { describe, expect, it } from 'vitest';
import { FONT_HEIGHT, FONT_WIDTH, glyphInk } from '../../src/world/font.js';
import { imagesEqual } from '../../src/world/image.js';
import { BASE_RGB, paleRgb, tonedPalette } from '../../src/world/palette.js';
import { OWNER_BACKGROUND, OWNER_SHADOW, renderScene } from '../../src/world/render.js';
import { hashSeed, Rng } from '../../src/world/rng.js';
import { inView, outOfView, STYLES } from '../../src/world/scene.js';
import { generateScene } from '../../src/world/scene-gen.js';
import { maskBox, obj, pixel, scene } from './helpers.js';

describe('renderer', () => {
  it('is deterministic: the same scene gives the same bytes and masks', () => {
    for (let i = 0; i < 20; i++) {
      const s = generateScene(new Rng(hashSeed('render', i)), { styles: STYLES });
      const a = renderScene(s);
      const b = renderScene(structuredClone(s));
      expect(imagesEqual(a.image, b.image)).toBe(true);
      expect(Buffer.from(a.owner.buffer).equals(Buffer.from(b.owner.buffer))).toBe(true);
    }
  });

  it('draws a medium square as exactly its 7x7 box at scale 1 and 14x14 at scale 2', () => {
    const s = scene([obj(1, { x: 20, y: 22 })]);
    const r32 = renderScene(s);
    expect(maskBox(r32.masks.get(1)!, 32)).toEqual({ x0: 4, y0: 6, x1: 11, y1: 13, count: 49 });
    expect(pixel(r32.image, 4, 6)).toEqual([...BASE_RGB.red]);
    expect(pixel(r32.image, 3, 6)).toEqual([...paleRgb('white')]);
    const r64 = renderScene(s, { width: 64 });
    expect(maskBox(r64.masks.get(1)!, 64)).toEqual({ x0: 8, y0: 12, x1: 22, y1: 26, count: 196 });
  });

  it('renders every canvas size from 1x1 to 256x256, non-square too, and names a bad size', () => {
    const s = generateScene(new Rng(1));
    for (const [w, h] of [[1, 1], [7, 13], [32, 32], [100, 37], [256, 256]]) {
      const r = renderScene(s, { width: w, height: h });
      expect(r.image.data.length).toBe(w * h * 3);
      expect(r.owner.length).toBe(w * h);
    }
    expect(() => renderScene(s, { width: 0 })).toThrow(/width must be an integer in 1\.\.256, got 0/);
    expect(() => renderScene(s, { width: 32, height: 257 })).toThrow(/height must be an integer in 1\.\.256, got 257/);
    expect(() => renderScene(s, { width: 2.5 })).toThrow(/width/);
  });

  it('emits only palette colours of the scene tone, in every style and tone', () => {
    for (let i = 0; i < 60; i++) {
      const s = generateScene(new Rng(hashSeed('palette', i)), { styles: STYLES });
      const allowed = new Set(tonedPalette(s.tone).all.map((c) => c.join(',')));
      const r = renderScene(s, { width: 48 });
      const off: string[] = [];
      for (let p = 0; p < 48 * 48; p++) {
        const c = pixel(r.image, p % 48, Math.floor(p / 48)).join(',');
        if (!allowed.has(c)) off.push(c);
      }
      expect(off, `${s.style} ${s.tone}`).toEqual([]);
    }
  });

  it('gives disjoint masks that agree with the owner map; in-view objects are seen, off-view ones are not', () => {
    for (let i = 0; i < 40; i++) {
      const s = generateScene(new Rng(hashSeed('masks', i)), { offView: [1, 3] });
      const r = renderScene(s);
      const seen = new Uint8Array(32 * 32);
      for (const o of s.objects) {
        const m = r.masks.get(o.id)!;
        let n = 0;
        m.forEach((v, p) => {
          if (!v) return;
          n++;
          expect(seen[p]).toBe(0);
          seen[p] = 1;
          expect(r.owner[p]).toBe(o.id);
        });
        if (inView(s, o)) expect(n).toBeGreaterThan(0);
        if (outOfView(s, o)) expect(n).toBe(0);
      }
      r.owner.forEach((id, p) => expect(id < 0 || seen[p] === 1).toBe(true));
    }
  });

  it('draws later objects over earlier ones (occlusion shows in the masks)', () => {
    const s = scene([obj(1, { x: 20, y: 20, size: 'large' }), obj(2, { x: 24, y: 24, color: 'blue' })]);
    const r = renderScene(s);
    expect(maskBox(r.masks.get(2)!, 32).count).toBe(49);
    expect(maskBox(r.masks.get(1)!, 32).count).toBe(100 - 36);
    expect(pixel(r.image, 9, 9)).toEqual([...BASE_RGB.blue]);
  });

  it('reveals an off-view object when the camera pans to it and enlarges objects when it zooms', () => {
    const s = scene([obj(1, { x: 20, y: 20 }), obj(2, { x: 52, y: 20, color: 'green' })]);
    expect(maskBox(renderScene(s).masks.get(2)!, 32).count).toBe(0);
    const panned = { ...s, camera: { ...s.camera, x: 32 } };
    expect(maskBox(renderScene(panned).masks.get(2)!, 32).count).toBe(49);
    expect(maskBox(renderScene(panned).masks.get(1)!, 32).count).toBe(0);
    const zoomed = { ...s, camera: { x: 16, y: 16, width: 16, height: 16 } };
    expect(maskBox(renderScene(zoomed).masks.get(1)!, 32).count).toBe(196);
  });

  it('draws glyphs from the font: a medium letter at scale 1 is the 5x7 bitmap, centred', () => {
    const s = scene([obj(1, { shape: 'glyph', text: 'K', x: 20, y: 20 })]);
    const m = renderScene(s).masks.get(1)!;
    for (let row = 0; row < FONT_HEIGHT; row++) {
      for (let col = 0; col < 7; col++) {
        const ink = col >= 1 && col <= FONT_WIDTH && glyphInk('K', col - 1, row);
        expect(m[(4 + row) * 32 + 4 + col]).toBe(ink ? 1 : 0);
      }
    }
  });

  it('draws stripes and checks in the background, in world coordinates', () => {
    const striped = renderScene(scene([], { background: { pattern: 'striped', color: 'blue', color2: 'yellow' } })).image;
    // Camera top at world y=16: rows 0-1 are band 8 (even), rows 2-3 band 9 (odd).
    expect(pixel(striped, 0, 0)).toEqual([...paleRgb('blue')]);
    expect(pixel(striped, 0, 2)).toEqual([...paleRgb('yellow')]);
    expect(pixel(striped, 31, 4)).toEqual([...paleRgb('blue')]);
    const checks = renderScene(scene([], { background: { pattern: 'checkered', color: 'blue', color2: 'yellow' } })).image;
    expect(pixel(checks, 0, 0)).toEqual([...paleRgb('blue')]);
    expect(pixel(checks, 4, 0)).toEqual([...paleRgb('yellow')]);
    expect(pixel(checks, 4, 4)).toEqual([...paleRgb('blue')]);
  });

  it('draws the styles: outline keeps the boundary, shadow adds an offset shadow, mosaic blocks shapes but not text', () => {
    const base = [obj(1, { x: 19, y: 19, size: 'large' })];
    const outline = renderScene(scene(base, { style: 'outline' }));
    expect(maskBox(outline.masks.get(1)!, 32).count).toBe(36);
    const shadow = renderScene(scene(base, { style: 'shadow' }));
    expect(maskBox(shadow.masks.get(1)!, 32).count).toBe(100);
    const shadowPixels = [...shadow.owner].filter((o) => o === OWNER_SHADOW).length;
    expect(shadowPixels).toBe(19);
    const circle = [obj(1, { shape: 'circle', x: 19, y: 19, size: 'medium' })];
    expect(imagesEqual(renderScene(scene(circle, { style: 'mosaic' })).image, renderScene(scene(circle)).image)).toBe(false);
    const glyph = [obj(1, { shape: 'glyph', text: 'A', x: 19, y: 19 })];
    expect(imagesEqual(renderScene(scene(glyph, { style: 'mosaic' })).image, renderScene(scene(glyph)).image)).toBe(true);
  });

  it('applies the tone to every colour', () => {
    const s = scene([obj(1, {})]);
    for (const tone of ['warm', 'cool', 'dark', 'bright', 'muted'] as const) {
      const img = renderScene({ ...s, tone }).image;
      expect(pixel(img, 4, 4)).toEqual([...tonedPalette(tone).base.red]);
      expect(pixel(img, 0, 0)).toEqual([...tonedPalette(tone).pale.white]);
    }
  });

  it('keeps every tone palette free of near-duplicates, so colours stay nameable', () => {
    for (const tone of ['neutral', 'warm', 'cool', 'dark', 'bright', 'muted'] as const) {
      const all = tonedPalette(tone).all;
      for (let i = 0; i < all.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
          const d = Math.hypot(all[i][0] - all[j][0], all[i][1] - all[j][1], all[i][2] - all[j][2]);
          expect(d, `${tone}: ${all[i]} vs ${all[j]}`).toBeGreaterThan(12);
        }
      }
    }
    expect(OWNER_BACKGROUND).toBe(-1);
  });
});
