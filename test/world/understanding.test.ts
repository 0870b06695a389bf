// Understanding Q/A: every answer checked against the scene by an independent reading.

import { describe, expect, it } from 'vitest';
import { fullDescription, pluralShape, regionNoun } from '../../src/world/describe.js';
import { objectRegion } from '../../src/world/layout.js';
import { hashSeed, Rng } from '../../src/world/rng.js';
import { BASIC_SHAPES, boxCenter, objectBox, type Scene, viewObjects } from '../../src/world/scene.js';
import { generateScene } from '../../src/world/scene-gen.js';
import { generateQa, QA_KINDS, type QaPair } from '../../src/world/understanding.js';

function check(scene: Scene, qa: QaPair): void {
  const shown = viewObjects(scene);
  const q = qa.question;
  const where = `${q} -> ${qa.answer}`;
  let m: RegExpMatchArray | null;
  switch (qa.kind) {
    case 'counting': {
      let n: number;
      if (q === 'How many objects are in the picture?') n = shown.length;
      else if ((m = q.match(/^How many (\w+) objects are there\?$/))) n = shown.filter((o) => o.color === m![1]).length;
      else if (q.startsWith('How many letters and digits')) n = shown.filter((o) => o.shape === 'glyph').length;
      else if ((m = q.match(/^How many (\w+) are there\?$/))) {
        const shape = BASIC_SHAPES.find((s) => pluralShape(s) === m![1]);
        expect(shape, q).toBeDefined();
        n = shown.filter((o) => o.shape === shape).length;
      } else throw new Error(`unexpected counting question ${q}`);
      expect(qa.answer, where).toBe(String(n));
      expect(qa.ids).toHaveLength(n);
      return;
    }
    case 'localization': {
      const o = shown.find((x) => x.id === qa.ids[0])!;
      if (q.startsWith('Where is')) expect(qa.answer, where).toBe(regionNoun(objectRegion(scene, o)));
      else {
        expect(qa.answer, where).toBe(fullDescription(o));
        expect(shown.filter((x) => q.includes(`the ${regionNoun(objectRegion(scene, x))}?`))).toHaveLength(1);
      }
      return;
    }
    case 'reading': {
      const glyphs = shown.filter((o) => o.shape === 'glyph');
      if (q.includes('left to right')) {
        const text = [...glyphs].sort((a, b) => boxCenter(objectBox(a)).x - boxCenter(objectBox(b)).x).map((o) => o.text).join('');
        expect(qa.answer, where).toBe(text);
      } else {
        expect(qa.ids).toHaveLength(1);
        expect(qa.answer, where).toBe(glyphs.find((o) => o.id === qa.ids[0])!.text);
      }
      return;
    }
    case 'spatial': {
      if (q.startsWith('Is the')) {
        const [a, b] = qa.ids.map((id) => objectBox(shown.find((o) => o.id === id)!));
        const yes = q.includes('to the left of') ? a.x1 <= b.x0 : a.y1 <= b.y0;
        const no = q.includes('to the left of') ? b.x1 <= a.x0 : b.y1 <= a.y0;
        expect(yes || no).toBe(true);
        expect(qa.answer, where).toBe(yes ? 'yes' : 'no');
      } else {
        expect(qa.answer.startsWith('the ')).toBe(true);
        expect(q).toContain(qa.answer);
      }
    }
  }
}

describe('understanding Q/A', () => {
  it('answers every question correctly, over 400 scenes', () => {
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const scene = generateScene(new Rng(hashSeed('qa', i)), { glyphs: i % 2 ? 'letters' : 'some' });
      const qa = generateQa(scene, new Rng(i), 4);
      expect(qa.length).toBeGreaterThanOrEqual(2);
      expect(new Set(qa.map((x) => x.question)).size).toBe(qa.length);
      for (const pair of qa) {
        check(scene, pair);
        kinds.add(pair.kind);
        expect(pair.question).toMatch(/\?$/);
      }
    }
    expect([...kinds].sort()).toEqual([...QA_KINDS].sort());
  });

  it('is deterministic and respects n', () => {
    const scene = generateScene(new Rng(3));
    expect(generateQa(scene, new Rng(1), 3)).toEqual(generateQa(scene, new Rng(1), 3));
    expect(generateQa(scene, new Rng(1), 0)).toEqual([]);
    expect(() => generateQa(scene, new Rng(1), -1)).toThrow(/n must be a non-negative integer, got -1/);
    expect(generateQa(scene, new Rng(1), 2, ['counting']).every((q) => q.kind === 'counting')).toBe(true);
  });
});
