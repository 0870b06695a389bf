import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../src/world/categories.js';
import { opObjectIds } from '../../src/world/ops.js';
import { generateEdit } from '../../src/world/sample.js';
import { viewObjects } from '../../src/world/scene.js';
import { targetTraversal } from '../../src/world/traversal.js';

describe('target traversal', () => {
  it('lists every object in view with its ops, and every op exactly once, for every category', () => {
    for (const category of CATEGORY_NAMES) {
      for (let i = 0; i < 30; i++) {
        const { edit } = generateEdit(category, 500 + i);
        const t = targetTraversal(edit);
        const ids = t.objects.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const o of viewObjects(edit.source)) expect(ids).toContain(o.id);
        for (const o of viewObjects(edit.target)) expect(ids).toContain(o.id);
        const listed = [...t.globals, ...t.objects.flatMap((e) => e.ops)];
        expect(listed).toHaveLength(edit.ops.length);
        for (const op of edit.ops) expect(listed).toContain(op);
        for (const e of t.objects) {
          if (e.status === 'keep' || e.status === 'enters view' || e.status === 'leaves view') expect(e.ops).toEqual([]);
          else expect(e.ops.length).toBeGreaterThan(0);
          for (const op of e.ops) expect(opObjectIds(op)).toContain(e.id);
        }
        if (category === 'camera_pan' || category === 'camera_zoom') expect(t.globals.map((g) => g.op)).toEqual(['camera']);
      }
    }
  });

  it('marks adds, removes and camera reveals', () => {
    const add = targetTraversal(generateEdit('subject_add', 1).edit);
    expect(add.objects.filter((e) => e.status === 'add')).toHaveLength(1);
    const rm = targetTraversal(generateEdit('subject_remove', 1).edit);
    expect(rm.objects.filter((e) => e.status === 'remove')).toHaveLength(1);
    let moves = 0;
    for (let i = 0; i < 50; i++) {
      const t = targetTraversal(generateEdit('camera_pan', i).edit);
      moves += t.objects.filter((e) => e.status === 'enters view' || e.status === 'leaves view').length;
    }
    expect(moves).toBeGreaterThan(10);
  });
});
