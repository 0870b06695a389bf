// WorldPrompts (src/train/rl-prompts.ts): train-split world edits, a pure function of (seed, step),
// the category drawn from the given list, rendered at the model's image size.
import { describe, expect, it } from 'vitest';

import { WorldPrompts } from '../../src/train/rl-prompts.js';
import type { CategoryName } from '../../src/world/categories.js';
import { parseCategories } from '../../src/world/categories.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';
import { splitOf } from '../../src/world/splits.js';

describe('WorldPrompts', () => {
  const cats = parseCategories('full').slice(0, 3) as CategoryName[];

  it('draws train-split edits only, from the listed categories, rendered at the image size', () => {
    const wp = new WorldPrompts(7, cats, 16, 0.9);
    const seen = new Set<string>();
    for (let step = 0; step < 6; step++)
      for (const p of wp.promptsAt(step, 4)) {
        const [category, s] = p.id.split('/');
        expect(p.category).toBe(category);
        expect(cats).toContain(category);
        seen.add(category);
        expect(splitOf(Number(s), 0.9)).toBe('train');
        const { edit } = generateEdit(category as CategoryName, Number(s), { width: 16 });
        expect(p.instruction).toBe(edit.instruction);
        expect(p.sourceScene).toEqual(edit.source);
        expect(p.targetScene).toEqual(edit.target);
        expect(p.source.width).toBe(16);
        expect(Array.from(p.source.data)).toEqual(Array.from(renderScene(edit.source, { width: 16 }).image.data));
      }
    expect(seen.size).toBe(3);
  });

  it('is a pure function of (seed, step): the same again, others elsewhere', () => {
    const a = new WorldPrompts(7, cats, 16, 0.1);
    const b = new WorldPrompts(7, cats, 16, 0.1);
    const ids = (w: WorldPrompts, step: number) => w.promptsAt(step, 5).map((p) => p.id);
    expect(ids(b, 3)).toEqual(ids(a, 3));
    expect(ids(a, 3)).not.toEqual(ids(a, 4));
    expect(ids(new WorldPrompts(8, cats, 16, 0.1), 3)).not.toEqual(ids(a, 3));
    expect(new Set(ids(a, 3)).size).toBe(5);
  });

  it('refuses an empty category list', () => {
    expect(() => new WorldPrompts(1, [], 16, 0.1)).toThrow(new RangeError("WorldPrompts: argument 'categories' expected at least one category, received none"));
  });
});

describe('WorldPrompts: the definition of each prompt', () => {
  it('category from the rl-category stream, the edit the first train-split seed of the rl-prompts stream', async () => {
    const { hashSeed } = await import('../../src/world/rng.js');
    const { sampleSeed } = await import('../../src/world/splits.js');
    const cats = parseCategories('full') as CategoryName[];
    const wp = new WorldPrompts(3, cats, 16, 0.9);
    let skipped = 0;
    for (let step = 0; step < 8; step++)
      wp.promptsAt(step, 3).forEach((p, i) => {
        const category = cats[hashSeed('rl-category', 3, step, i) % cats.length];
        let k = 0;
        while (splitOf(sampleSeed(hashSeed('rl-prompts', 3, step, i), category, k), 0.9) !== 'train') k++;
        skipped += k;
        expect(p.id).toBe(`${category}/${sampleSeed(hashSeed('rl-prompts', 3, step, i), category, k)}`);
      });
    // with 90% eval, most prompts skip eval seeds first (the search goes 0, 1, 2, ...)
    expect(skipped).toBeGreaterThan(0);
  });
});
