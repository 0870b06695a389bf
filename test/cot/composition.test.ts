// The meta-task composition tables as data: their sizes, their agreement with the world's own
// category table, lookups, and the consistency check the annotator uses.
import { describe, expect, it } from 'vitest';
import {
  allCategoryNames, BENCHMARKS, compositionOf, compositionProblems, COMPOSITIONS, findComposition,
} from '../../src/cot/composition.js';
import { CATEGORIES, CATEGORY_NAMES, UNDERSTANDING_SKILLS } from '../../src/world/categories.js';
import { META_TASKS } from '../../src/world/ops.js';

describe('composition tables', () => {
  it('hold 21 world categories, GEdit-Bench 11, ImgEdit 9, RISEBench 4', () => {
    expect(COMPOSITIONS.world).toHaveLength(21);
    expect(COMPOSITIONS.gedit.map((c) => c.name)).toEqual([
      'background_change', 'color_alter', 'material_alter', 'motion_change', 'ps_human', 'style_change',
      'subject-add', 'subject-remove', 'subject-replace', 'text_change', 'tone_transfer',
    ]);
    expect(COMPOSITIONS.imgedit.map((c) => c.name)).toEqual(['add', 'remove', 'replace', 'adjust', 'background', 'style', 'action', 'extract', 'compose']);
    expect(COMPOSITIONS.rise.map((c) => c.name)).toEqual(['temporal', 'causal', 'spatial', 'logical']);
  });

  it('the world table is the world\'s own (meta-tasks and understanding)', () => {
    expect(COMPOSITIONS.world.map((c) => c.name)).toEqual([...CATEGORY_NAMES]);
    for (const c of COMPOSITIONS.world) {
      expect(c.metaTasks).toEqual(CATEGORIES[c.world].metaTasks);
      expect(c.understanding).toEqual(CATEGORIES[c.world].understanding);
    }
  });

  it('every row is well formed: known meta-tasks without repeats, known skills, a world stand-in', () => {
    for (const b of BENCHMARKS) {
      for (const c of COMPOSITIONS[b]) {
        expect(c.metaTasks.length, c.name).toBeGreaterThan(0);
        expect(new Set(c.metaTasks).size, c.name).toBe(c.metaTasks.length);
        for (const m of c.metaTasks) expect(META_TASKS).toContain(m);
        for (const u of c.understanding) expect(UNDERSTANDING_SKILLS).toContain(u);
        expect(CATEGORY_NAMES).toContain(c.world);
        expect(c.note.length).toBeGreaterThan(5);
      }
    }
    // Together the real benchmarks use every meta-task: the five are a basis they need in full.
    expect(new Set([...COMPOSITIONS.gedit, ...COMPOSITIONS.imgedit, ...COMPOSITIONS.rise].flatMap((c) => c.metaTasks))).toEqual(new Set(META_TASKS));
  });

  it('looks categories up bare or qualified, and fails naming the choices', () => {
    expect(findComposition('subject-add')?.benchmark).toBe('gedit');
    expect(findComposition('extract')?.benchmark).toBe('world');
    expect(findComposition('imgedit:extract')?.benchmark).toBe('imgedit');
    expect(findComposition('rise:spatial')?.metaTasks).toContain('camera_motion');
    expect(findComposition('gedit:add')).toBeUndefined();
    expect(() => compositionOf('repaint')).toThrow(/unknown category "repaint"; expected one of world:background_change, .*rise:logical$/);
    expect(allCategoryNames()).toContain('ps_human');
  });

  it('compositionProblems: empty when the meta-tasks fit, one line per misfit otherwise', () => {
    expect(compositionProblems(['add', 'add'], 'quantity_change')).toEqual([]);
    expect(compositionProblems(['replace', 'remove', 'remove'], 'color_alter')).toEqual(['remove is not a meta-task of world:color_alter (expected replace)']);
    expect(compositionProblems([], 'subject-add')).toEqual(['the edit changes nothing, but gedit:subject-add is composed of add']);
    expect(compositionProblems(['add'], 'nope')).toEqual(['unknown category "nope": no composition to check against']);
  });
});
