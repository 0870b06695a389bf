// Every category, 1,000 random scenes each: the edit is valid (the target is the ops applied to the
// source, scenes sound, every op visible), non-trivial (pixels change), and means what its
// instruction says, checked per category against the scenes independently of the generator.

import { describe, expect, it } from 'vitest';
import { CATEGORIES, CATEGORY_NAMES, type CategoryName, parseCategories, SUBSETS } from '../../src/world/categories.js';
import { editProblems } from '../../src/world/check.js';
import { noun, regionAt, regionNoun } from '../../src/world/describe.js';
import type { Edit } from '../../src/world/edit.js';
import { countDifferentPixels } from '../../src/world/image.js';
import { regionOf } from '../../src/world/layout.js';
import { applyOps, type EditOp, metaTaskOf } from '../../src/world/ops.js';
import { renderScene } from '../../src/world/render.js';
import { hashSeed } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import {
  type Box, boxCenter, boxesTouch, boxInside, cameraBox, findObject, inView, objectBox, type Scene, type SceneObject,
  scenesEqual, SIZES, SIZE_UNITS, viewObjects,
} from '../../src/world/scene.js';
import { SceneSchema } from '../../src/world/schema.js';

const N = 1000;

function only<T extends EditOp['op']>(edit: Edit, op: T): Extract<EditOp, { op: T }> {
  expect(edit.ops).toHaveLength(1);
  expect(edit.ops[0].op).toBe(op);
  return edit.ops[0] as Extract<EditOp, { op: T }>;
}

function obj(scene: Scene, id: number): SceneObject {
  const o = findObject(scene, id);
  expect(o, `object ${id}`).toBeDefined();
  return o!;
}

/** True when the box cannot move one more unit (dx, dy) without leaving the view or hitting an object. */
function blocked(scene: Scene, o: SceneObject, dx: number, dy: number): boolean {
  const b = objectBox(o);
  const next: Box = { x0: b.x0 + dx, y0: b.y0 + dy, x1: b.x1 + dx, y1: b.y1 + dy };
  if (!boxInside(next, cameraBox(scene.camera))) return true;
  return viewObjects(scene).some((q) => q.id !== o.id && boxesTouch(objectBox(q), next));
}

const lower = (e: Edit) => e.instruction.toLowerCase();
const kindOf = (o: SceneObject) => `${o.shape}|${o.color}|${o.text ?? ''}`;

/** Category-specific meaning: what each category's edit must do, checked on the scenes. */
const MEANING: Record<CategoryName, (e: Edit) => void> = {
  background_change(e) {
    const op = only(e, 'replace_global');
    expect(op.attribute).toBe('background');
    expect(e.target.objects).toEqual(e.source.objects);
    if (op.attribute === 'background') for (const o of viewObjects(e.source)) expect([op.to.color, op.to.color2]).not.toContain(o.color);
  },
  color_alter(e) {
    const op = only(e, 'replace');
    expect(op.attribute).toBe('color');
    expect(lower(e)).toContain(String(op.to));
  },
  material_alter(e) {
    const op = only(e, 'replace');
    expect(op.attribute).toBe('texture');
    const word = { solid: /solid|plain/, striped: /stripe/, dotted: /dot/, checkered: /checker/ }[op.to as 'solid'];
    expect(lower(e)).toMatch(word);
  },
  motion_change(e) {
    const op = only(e, 'move');
    const dx = Math.sign(op.to.x - op.from.x);
    const dy = Math.sign(op.to.y - op.from.y);
    expect(Math.abs(dx) + Math.abs(dy)).toBe(1);
    expect(blocked(e.target, obj(e.target, op.id), dx, dy)).toBe(true);
    expect(lower(e)).toMatch(dy > 0 ? /fall|drop/ : dy < 0 ? /jump|leap/ : /slide/);
  },
  subject_resize(e) {
    const op = only(e, 'replace');
    expect(op.attribute).toBe('size');
    const c0 = boxCenter(objectBox(obj(e.source, op.id)));
    const c1 = boxCenter(objectBox(obj(e.target, op.id)));
    expect(Math.abs(c0.x - c1.x)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c0.y - c1.y)).toBeLessThanOrEqual(0.5);
    expect(lower(e)).toContain(op.to === 'medium' ? 'medium' : String(op.to));
  },
  style_change(e) {
    const op = only(e, 'replace_global');
    expect(op.attribute).toBe('style');
    expect(e.target.objects).toEqual(e.source.objects);
  },
  subject_add(e) {
    const op = only(e, 'add');
    expect(e.target.objects).toHaveLength(e.source.objects.length + 1);
    expect(inView(e.target, op.object)).toBe(true);
    expect(e.instruction).toContain(noun(op.object));
    expect(lower(e)).toContain(op.object.color);
    expect(lower(e)).toContain(regionNoun(regionOf(e.target, boxCenter(objectBox(op.object)))).split(' ')[0]);
  },
  subject_remove(e) {
    const op = only(e, 'remove');
    expect(e.instruction).toContain(noun(obj(e.source, op.id)));
  },
  subject_replace(e) {
    const op = only(e, 'replace');
    expect(op.attribute).toBe('shape');
    expect(lower(e)).toContain(String(op.to));
    expect(e.instruction).toContain(noun(obj(e.source, op.id)));
  },
  text_change(e) {
    const op = only(e, 'replace');
    expect(op.attribute).toBe('text');
    expect(/\d/.test(String(op.from))).toBe(/\d/.test(String(op.to)));
    expect(e.instruction).toMatch(new RegExp(`\\b${op.to}\\b`));
  },
  tone_transfer(e) {
    const op = only(e, 'replace_global');
    expect(op.attribute).toBe('tone');
    expect(e.target.objects).toEqual(e.source.objects);
  },
  temporal_reasoning(e) {
    const op = e.ops[0];
    expect(e.ops).toHaveLength(1);
    const steps = e.facts.find((f) => f.kind === 'temporal');
    expect(steps?.kind).toBe('temporal');
    const k = steps!.kind === 'temporal' ? steps!.steps : 0;
    if (op.op === 'move') {
      const s = SIZE_UNITS[obj(e.source, op.id).size];
      expect(Math.abs(op.to.x - op.from.x) + Math.abs(op.to.y - op.from.y)).toBe(k * s);
    } else if (op.op === 'replace' && op.attribute === 'text') {
      expect(Math.abs(Number(op.to) - Number(op.from))).toBe(k);
    } else if (op.op === 'replace' && op.attribute === 'size') {
      expect(SIZES.indexOf(op.from) - SIZES.indexOf(op.to)).toBe(k);
    } else {
      expect(op.op).toBe('remove');
      expect(SIZES.indexOf(obj(e.source, (op as { id: number }).id).size) + 1).toBe(k);
    }
  },
  causal_reasoning(e) {
    expect(e.facts.some((f) => f.kind === 'cause')).toBe(true);
    if (e.ops[0].op === 'replace_global') {
      expect(e.ops).toHaveLength(1);
      expect(e.ops[0].attribute).toBe('tone');
      return;
    }
    const dirs = new Set(e.ops.map((op) => (op.op === 'move' ? `${Math.sign(op.to.x - op.from.x)},${Math.sign(op.to.y - op.from.y)}` : 'x')));
    expect(dirs.size).toBe(1);
    const [dx, dy] = [...dirs][0].split(',').map(Number);
    for (const op of e.ops) expect(blocked(e.target, obj(e.target, (op as { id: number }).id), dx, dy)).toBe(true);
  },
  spatial_reasoning(e) {
    const rel = e.facts.find((f) => f.kind === 'relation');
    expect(rel?.kind).toBe('relation');
    if (rel?.kind !== 'relation') return;
    if (e.ops.length === 2) {
      // A swap: each takes the other's centre.
      const [a, b] = e.ops.map((op) => (op as { id: number }).id);
      const ca = boxCenter(objectBox(obj(e.source, a)));
      const cb = boxCenter(objectBox(obj(e.target, b)));
      expect(Math.abs(ca.x - cb.x)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(ca.y - cb.y)).toBeLessThanOrEqual(0.5);
      return;
    }
    const a = objectBox(obj(e.target, rel.a));
    const b = objectBox(obj(e.target, rel.b));
    const gap = { 'left of': b.x0 - a.x1, 'right of': a.x0 - b.x1, above: b.y0 - a.y1, below: a.y0 - b.y1 }[rel.relation];
    expect(gap).toBe(1);
    const horizontal = rel.relation === 'left of' || rel.relation === 'right of';
    const ca = boxCenter(a);
    const cb = boxCenter(b);
    expect(Math.abs(horizontal ? ca.y - cb.y : ca.x - cb.x)).toBeLessThanOrEqual(0.5);
  },
  logical_reasoning(e) {
    const kinds = new Set(e.ops.map((op) => (op.op === 'replace' ? `replace ${op.attribute}` : op.op)));
    expect(kinds.size).toBe(1);
    expect(['remove', 'replace color']).toContain([...kinds][0]);
    const rule = e.facts.find((f) => f.kind === 'rule' || f.kind === 'count');
    expect(rule).toBeDefined();
    expect(viewObjects(e.target).length).toBeGreaterThan(0);
  },
  multi_instruction(e) {
    expect(e.ops.length).toBeGreaterThanOrEqual(2);
    expect(e.instruction).toMatch(/then|after that|finally|1\)| and /);
    const ids = e.ops.flatMap((op) => ('id' in op ? [op.id] : op.op === 'add' ? [op.object.id] : []));
    const perObject = new Map<number, number>();
    for (const id of ids) perObject.set(id, (perObject.get(id) ?? 0) + 1);
    for (const [id, n] of perObject) expect(n, `object ${id} touched by two steps`).toBe(1);
    const globals = e.ops.flatMap((op) => (op.op === 'replace_global' ? [op.attribute] : []));
    expect(new Set(globals).size).toBe(globals.length);
  },
  quantity_change(e) {
    const count = e.facts.find((f) => f.kind === 'count');
    const want = e.facts.find((f) => f.kind === 'target_count');
    expect(count?.kind === 'count' && want?.kind === 'target_count').toBe(true);
    if (count?.kind !== 'count' || want?.kind !== 'target_count') return;
    const kinds = new Set(count.ids.map((id) => kindOf(obj(e.source, id))));
    expect(kinds.size).toBe(1);
    const kind = [...kinds][0];
    expect(viewObjects(e.source).filter((o) => kindOf(o) === kind)).toHaveLength(count.value);
    expect(viewObjects(e.target).filter((o) => kindOf(o) === kind)).toHaveLength(want.value);
    expect(e.instruction).toMatch(new RegExp(`\\b(${want.value}|${['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'][want.value]}|${Math.abs(want.value - count.value)}|${['zero', 'one', 'two', 'three', 'four'][Math.abs(want.value - count.value)]})\\b`));
    const op = new Set(e.ops.map((o) => o.op));
    expect(op.size).toBe(1);
    if (op.has('add')) for (const o of e.ops) expect(kindOf((o as Extract<EditOp, { op: 'add' }>).object)).toBe(kind);
  },
  camera_pan(e) {
    const op = only(e, 'camera');
    expect([op.to.width, op.to.height]).toEqual([op.from.width, op.from.height]);
    const dx = op.to.x - op.from.x;
    const dy = op.to.y - op.from.y;
    expect(dx === 0 || dy === 0).toBe(true);
    expect([8, 16]).toContain(Math.abs(dx + dy));
    expect(lower(e)).toMatch(dx < 0 ? /left/ : dx > 0 ? /right/ : dy < 0 ? /\bup\b|top/ : /down|bottom/);
  },
  camera_zoom(e) {
    const op = only(e, 'camera');
    expect([0.5, 1.5, 2]).toContain(op.to.width / op.from.width);
    expect(op.to.height / op.from.height).toBe(op.to.width / op.from.width);
    expect(lower(e)).toMatch(op.to.width < op.from.width ? /zoom in|zoom the camera in|closer|crop|move the camera in/ : /zoom out|pull the camera back/);
  },
  position_change(e) {
    const op = only(e, 'move');
    const region = regionOf(e.target, boxCenter(objectBox(obj(e.target, op.id))));
    expect([regionNoun(region), regionAt(region)].some((w) => lower(e).includes(w))).toBe(true);
  },
  extract(e) {
    const kept = viewObjects(e.target);
    expect(kept).toHaveLength(1);
    expect(e.ops.every((op) => op.op === 'remove')).toBe(true);
    expect(e.instruction).toContain(noun(kept[0]));
  },
};

describe('categories', () => {
  it('are the 21 of DESIGN.md, each with meta-tasks and understanding as data', () => {
    expect(CATEGORY_NAMES).toHaveLength(21);
    for (const name of CATEGORY_NAMES) {
      expect(CATEGORIES[name].metaTasks.length).toBeGreaterThan(0);
      expect(CATEGORIES[name].understanding.length).toBeGreaterThan(0);
    }
    expect(CATEGORIES.camera_pan.metaTasks).toEqual(['camera_motion']);
    expect(CATEGORIES.text_change.understanding).toEqual(['ocr']);
  });

  it('define the ablation subsets and parse lists of subsets and names', () => {
    expect(SUBSETS['3meta']).toEqual(['subject_add', 'subject_remove', 'subject_replace']);
    expect(SUBSETS['5meta']).toHaveLength(6);
    const metas = new Set(SUBSETS['5meta'].flatMap((c) => CATEGORIES[c].metaTasks));
    expect([...metas].sort()).toEqual(['add', 'camera_motion', 'position_change', 'remove', 'replace']);
    expect(parseCategories('full')).toEqual([...CATEGORY_NAMES]);
    expect(parseCategories('3meta, text_change,subject_add')).toEqual(['subject_add', 'subject_remove', 'subject_replace', 'text_change']);
    expect(() => parseCategories('4meta')).toThrow(/unknown name "4meta"/);
    expect(() => parseCategories(' ')).toThrow(/expected a subset/);
  });

  describe.each(CATEGORY_NAMES)('%s', (category) => {
    it(`generates valid, non-trivial edits that mean what they say for ${N} random scenes`, () => {
      const openings = new Set<string>();
      const metaSets = new Set<string>();
      let attempts = 0;
      for (let i = 0; i < N; i++) {
        const seed = hashSeed('categories-test', category, i);
        const got = generateEdit(category, seed);
        attempts += got.attempts;
        const e = got.edit;
        const where = `${category} seed ${seed}: ${e.instruction}`;
        // Valid: target = ops(source); both scenes pass the schema; bookkeeping agrees with the table.
        expect(scenesEqual(applyOps(e.source, e.ops), e.target), where).toBe(true);
        expect(SceneSchema.safeParse(e.source).success, where).toBe(true);
        expect(SceneSchema.safeParse(e.target).success, where).toBe(true);
        expect(e.metaTasks, where).toEqual(e.ops.map(metaTaskOf));
        for (const m of e.metaTasks) expect(CATEGORIES[category].metaTasks, where).toContain(m);
        expect(e.instruction, where).toMatch(/^[A-Z1].*[.?]$/);
        expect(e.instruction, where).not.toMatch(/undefined|null|NaN|\[object|  /);
        expect(e.instruction, where).not.toMatch(/\ba [aeiou]/);
        // Non-trivial: the picture changes.
        expect(countDifferentPixels(renderScene(e.source).image, renderScene(e.target).image), where).toBeGreaterThanOrEqual(3);
        MEANING[category](e);
        openings.add(e.instruction.split(' ').slice(0, 2).join(' '));
        metaSets.add([...new Set(e.metaTasks)].sort().join('+'));
        // Full validity check (every op visible, nothing cut by the frame) on a sample of them.
        if (i % 10 === 0) expect(editProblems(e, 32, 32), where).toEqual([]);
      }
      // Several phrasings, and every meta-task the category composes actually occurs.
      expect(openings.size, [...openings].join(' | ')).toBeGreaterThanOrEqual(category === 'tone_transfer' || category === 'style_change' ? 4 : 2);
      const seen = new Set([...metaSets].flatMap((s) => s.split('+')));
      expect([...seen].sort()).toEqual([...CATEGORIES[category].metaTasks].sort());
      // The generator rarely needs a second scene.
      expect(attempts / N).toBeLessThan(1.5);
    });
  });

  it('generates the same edit for the same seed and different ones for different seeds', () => {
    for (const category of CATEGORY_NAMES) {
      const a = generateEdit(category, 77).edit;
      const b = generateEdit(category, 77).edit;
      const c = generateEdit(category, 78).edit;
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
      expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    }
  });

  it('generates valid edits at other canvas sizes too (16, 64, 128x96)', () => {
    for (const [width, height] of [[16, 16], [64, 64], [128, 96]]) {
      for (const category of CATEGORY_NAMES) {
        const { edit } = generateEdit(category, 5, { width, height });
        expect(editProblems(edit, width, height)).toEqual([]);
      }
    }
  });
});
