import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../../src/world/categories.js';
import { applyOps, applyOpsLenient, diffScenes, type EditOp, metaTaskOf, OpError, opSummary, resizedCorner } from '../../src/world/ops.js';
import { generateEdit } from '../../src/world/sample.js';
import { scenesEqual } from '../../src/world/scene.js';
import { obj, scene } from './helpers.js';

describe('edit ops', () => {
  it('map to the five meta-tasks', () => {
    const s = scene([obj(1, {})]);
    const ops: EditOp[] = [
      { op: 'add', object: obj(2, { x: 30 }) },
      { op: 'remove', id: 1 },
      { op: 'replace', id: 2, attribute: 'color', from: 'red', to: 'blue' },
      { op: 'replace_global', attribute: 'tone', from: 'neutral', to: 'warm' },
      { op: 'move', id: 2, from: { x: 30, y: 20 }, to: { x: 34, y: 20 } },
      { op: 'camera', from: s.camera, to: { ...s.camera, x: 20 } },
    ];
    expect(ops.map(metaTaskOf)).toEqual(['add', 'remove', 'replace', 'replace', 'position_change', 'camera_motion']);
    const t = applyOps(s, ops);
    expect(t.objects).toEqual([obj(2, { x: 34, color: 'blue' })]);
    expect(t.tone).toBe('warm');
    expect(t.camera.x).toBe(20);
    expect(s.objects).toEqual([obj(1, {})]);
    for (const op of ops) expect(opSummary(op).length).toBeGreaterThan(5);
  });

  it('refuse ops that do not fit the scene, naming the op and what was expected', () => {
    const s = scene([obj(1, {})]);
    expect(() => applyOps(s, [{ op: 'remove', id: 9 }])).toThrow(OpError);
    expect(() => applyOps(s, [{ op: 'remove', id: 9 }])).toThrow(/op 0 \(remove\) refers to object id 9.*ids: 1/);
    expect(() => applyOps(s, [{ op: 'replace', id: 1, attribute: 'color', from: 'blue', to: 'green' }])).toThrow(/expected object 1 to be blue, got red/);
    expect(() => applyOps(s, [{ op: 'add', object: obj(1, {}) }])).toThrow(/already holds/);
    expect(() => applyOps(s, [{ op: 'replace', id: 1, attribute: 'text', from: 'A', to: 'B' }])).toThrow(/not a glyph/);
    expect(() => applyOps(s, [{ op: 'move', id: 1, from: { x: 0, y: 0 }, to: { x: 1, y: 1 } }])).toThrow(/expected object 1 at \(0, 0\), got \(20, 20\)/);
    const glyph = scene([obj(1, { shape: 'glyph', text: 'A' })]);
    expect(() => applyOps(glyph, [{ op: 'replace', id: 1, attribute: 'size', from: 'medium', to: 'small' }])).toThrow(/glyphs are medium or large/);
  });

  it('apply leniently: skip what does not fit, keep the rest, say why', () => {
    const s = scene([obj(1, {})]);
    const { scene: t, skipped } = applyOpsLenient(s, [
      { op: 'remove', id: 5 },
      { op: 'replace', id: 1, attribute: 'color', from: 'red', to: 'green' },
    ]);
    expect(t.objects[0].color).toBe('green');
    expect(skipped).toHaveLength(1);
    expect(skipped[0].index).toBe(0);
    expect(skipped[0].reason).toMatch(/id 5/);
  });

  it('keep the centre on a resize, and a resize and its inverse cancel', () => {
    for (const [a, b] of [['small', 'medium'], ['small', 'large'], ['medium', 'large']] as const) {
      const o = obj(1, { size: a, x: 20, y: 20 });
      const there = { ...o, ...resizedCorner(o, b), size: b };
      const back = resizedCorner(there, a);
      expect(back).toEqual({ x: 20, y: 20 });
    }
  });

  it('diffScenes recovers ops that rebuild the target exactly, for every category', () => {
    for (const category of CATEGORY_NAMES) {
      for (let i = 0; i < 40; i++) {
        const { edit } = generateEdit(category, 1000 + i);
        const diff = diffScenes(edit.source, edit.target);
        expect(diff.length, `${category} ${i}`).toBeGreaterThan(0);
        expect(scenesEqual(applyOps(edit.source, diff), edit.target), `${category} ${i}`).toBe(true);
        // Independence, which the scorer's leave-one-out attribution relies on.
        for (let k = 0; k < diff.length; k++) {
          expect(applyOpsLenient(edit.source, diff.filter((_, j) => j !== k)).skipped, `${category} ${i}`).toEqual([]);
        }
        expect(diffScenes(edit.source, edit.source)).toEqual([]);
      }
    }
  });

  it('diffScenes gives independent ops: leaving any one out still applies cleanly', () => {
    const s = scene([obj(1, {}), obj(2, { x: 34, color: 'blue', size: 'small' })]);
    const t = applyOps(s, [
      { op: 'replace', id: 2, attribute: 'size', from: 'small', to: 'large' },
      { op: 'move', id: 2, from: { x: 32, y: 18 }, to: { x: 36, y: 30 } },
      { op: 'remove', id: 1 },
      { op: 'add', object: obj(3, { x: 17, y: 36, shape: 'circle' }) },
      { op: 'replace_global', attribute: 'style', from: 'flat', to: 'outline' },
    ]);
    const diff = diffScenes(s, t);
    expect(diff.map((o) => o.op)).toEqual(['replace_global', 'remove', 'move', 'replace', 'add']);
    for (let i = 0; i < diff.length; i++) {
      expect(applyOpsLenient(s, diff.filter((_, j) => j !== i)).skipped).toEqual([]);
    }
  });
});
