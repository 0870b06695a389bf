import { describe, expect, it } from 'vitest';
import { FONT_CHARS, FONT_HEIGHT, FONT_WIDTH, glyphBitmap } from '../../src/world/font.js';
import { GLYPH_CHARS } from '../../src/world/scene.js';

describe('bitmap font', () => {
  it('draws every letter and digit the scenes use', () => {
    expect([...GLYPH_CHARS].sort()).toEqual([...FONT_CHARS].sort());
    expect(FONT_CHARS).toHaveLength(36);
  });

  it('has 5x7 glyphs that are all distinct, with ink in more than one row and column', () => {
    const seen = new Map<string, string>();
    for (const ch of FONT_CHARS) {
      const bits = glyphBitmap(ch);
      expect(bits).toHaveLength(FONT_WIDTH * FONT_HEIGHT);
      const key = bits.join('');
      expect(seen.get(key), `${ch} looks like ${seen.get(key)}`).toBeUndefined();
      seen.set(key, ch);
      const rows = new Set<number>();
      const cols = new Set<number>();
      bits.forEach((b, i) => {
        if (b) {
          rows.add(Math.floor(i / FONT_WIDTH));
          cols.add(i % FONT_WIDTH);
        }
      });
      expect(rows.size).toBeGreaterThan(3);
      expect(cols.size).toBeGreaterThan(1);
    }
  });

  it('keeps the confusable pairs apart by at least two pixels', () => {
    const d = (a: string, b: string) => glyphBitmap(a).reduce((s, v, i) => s + (v !== glyphBitmap(b)[i] ? 1 : 0), 0);
    for (const [a, b] of [['O', '0'], ['I', '1'], ['S', '5'], ['B', '8'], ['Z', '2'], ['D', 'O']]) {
      expect(d(a, b), `${a} vs ${b}`).toBeGreaterThanOrEqual(2);
    }
  });

  it('names the character it lacks', () => {
    expect(() => glyphBitmap('a')).toThrow(/"a"/);
  });
});
