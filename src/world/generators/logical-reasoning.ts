// 15. logical_reasoning: remove or recolour the objects a rule selects: all of a shape, all but a
// colour, the odd one out, the even digits, all but the largest, the less common of two shapes,
// every X coloured like Y. Understanding: logic and counting.

import { isDigit, noun, pluralShape } from '../describe.js';
import type { EditDraft, ThinkingFact } from '../edit.js';
import type { EditOp } from '../ops.js';
import type { Rng } from '../rng.js';
import { BASIC_SHAPES, type BasicShape, type Scene, type SceneObject, SIZE_UNITS, viewObjects } from '../scene.js';
import { type CategoryGenerator, firstOf, phrase, referables } from './kit.js';

function removing(scene: Scene, rng: Rng, selected: SceneObject[], rule: string, templates: readonly (() => string)[], extra: ThinkingFact[] = []): EditDraft | null {
  const shown = viewObjects(scene);
  if (selected.length === 0 || selected.length === shown.length) return null;
  return {
    instruction: phrase(rng, templates),
    ops: selected.map((o): EditOp => ({ op: 'remove', id: o.id })),
    facts: [...extra, { kind: 'rule', rule, matches: selected.map((o) => o.id) }],
  };
}

function shapesIn(shown: SceneObject[]): BasicShape[] {
  return BASIC_SHAPES.filter((s) => shown.some((o) => o.shape === s));
}

function allOfShape(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  return firstOf(rng, shapesIn(shown), (s) => {
    const sel = shown.filter((o) => o.shape === s);
    return removing(scene, rng, sel, `remove every ${s}`, [
      () => `remove every ${s}`,
      () => `delete all the ${pluralShape(s)}`,
      () => `get rid of each ${s} in the picture, whatever its color`,
    ], [{ kind: 'count', what: pluralShape(s), ids: sel.map((o) => o.id), value: sel.length }]);
  });
}

function allButColor(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const colors = [...new Set(shown.map((o) => o.color))];
  return firstOf(rng, colors, (c) =>
    removing(scene, rng, shown.filter((o) => o.color !== c), `remove everything that is not ${c}`, [
      () => `remove everything that is not ${c}`,
      () => `keep only the ${c} objects and delete the rest`,
      () => `delete every object whose color is not ${c}`,
    ]),
  );
}

function oddOneOut(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  if (shown.length < 3) return null;
  const keys: [string, (o: SceneObject) => string][] = [
    ['shape', (o) => (o.shape === 'glyph' ? 'glyph' : o.shape)],
    ['color', (o) => o.color],
  ];
  const odd = new Map<number, string>();
  for (const [name, key] of keys) {
    const counts = new Map<string, SceneObject[]>();
    for (const o of shown) counts.set(key(o), [...(counts.get(key(o)) ?? []), o]);
    if (counts.size !== 2) continue;
    const [a, b] = [...counts.values()];
    const single = a.length === 1 ? a[0] : b.length === 1 ? b[0] : null;
    if (single) odd.set(single.id, name);
  }
  if (odd.size !== 1) return null;
  const [[id, by]] = [...odd.entries()];
  const o = shown.find((q) => q.id === id)!;
  const why = by === 'shape' ? `the only ${o.shape === 'glyph' ? 'glyph' : o.shape}` : `the only ${o.color} object`;
  return removing(scene, rng, [o], `remove the object that differs from all others: ${why}`, [
    () => 'remove the odd one out',
    () => 'one object does not match the others; remove it',
    () => `find the object that breaks the pattern by its ${by} and delete it`,
  ]);
}

function digitParity(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const digits = shown.filter((o) => o.shape === 'glyph' && isDigit(o.text));
  return firstOf(rng, ['even', 'odd'] as const, (parity) => {
    const sel = digits.filter((o) => (Number(o.text) % 2 === 0) === (parity === 'even'));
    return removing(scene, rng, sel, `remove every ${parity} digit`, [
      () => `remove every ${parity} digit`,
      () => `delete the digits that are ${parity}`,
      () => `erase each digit that is an ${parity === 'even' ? 'even' : 'odd'} number`,
    ], sel.map((o): ThinkingFact => ({ kind: 'read', id: o.id, text: o.text ?? '' })));
  });
}

function allButExtreme(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  return firstOf(rng, ['largest', 'smallest'] as const, (which) => {
    const sizes = shown.map((o) => SIZE_UNITS[o.size]);
    const target = which === 'largest' ? Math.max(...sizes) : Math.min(...sizes);
    const keep = shown.filter((o) => SIZE_UNITS[o.size] === target);
    if (keep.length !== 1) return null;
    return removing(scene, rng, shown.filter((o) => o.id !== keep[0].id), `keep only the ${which} object`, [
      () => `keep only the ${which} object and remove all the others`,
      () => `remove everything except the ${which} object`,
    ], [{ kind: 'identify', id: keep[0].id, description: `the ${which} object, the ${noun(keep[0])}` }]);
  });
}

function lessCommon(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const shapes = shapesIn(shown);
  const pairs = shapes.flatMap((a, i) => shapes.slice(i + 1).map((b) => [a, b] as const));
  return firstOf(rng, pairs, ([a, b]) => {
    const as = shown.filter((o) => o.shape === a);
    const bs = shown.filter((o) => o.shape === b);
    if (as.length === bs.length) return null;
    const [first, second] = rng.chance(0.5) ? [a, b] : [b, a];
    const sel = as.length < bs.length ? as : bs;
    return removing(scene, rng, sel, `remove the less common of ${pluralShape(a)} and ${pluralShape(b)}`, [
      () => `remove whichever shape is less common: the ${pluralShape(first)} or the ${pluralShape(second)}`,
      () => `count the ${pluralShape(first)} and the ${pluralShape(second)}, then delete all of the kind there are fewer of`,
    ], [
      { kind: 'count', what: pluralShape(a), ids: as.map((o) => o.id), value: as.length },
      { kind: 'count', what: pluralShape(b), ids: bs.map((o) => o.id), value: bs.length },
    ]);
  });
}

function colorLike(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const options = referables(scene).flatMap((r) => shapesIn(shown).map((s) => ({ ...r, s })));
  return firstOf(rng, options, ({ o: model, ref, s }) => {
    const sel = shown.filter((o) => o.shape === s && o.id !== model.id && o.color !== model.color);
    if (sel.length === 0) return null;
    const all = shown.filter((o) => o.shape === s && o.id !== model.id);
    return {
      instruction: phrase(rng, [
        () => `paint every ${s} the same color as the ${ref}`,
        () => `make all the ${pluralShape(s)} match the color of the ${ref}`,
      ]),
      ops: sel.map((o): EditOp => ({ op: 'replace', id: o.id, attribute: 'color', from: o.color, to: model.color })),
      facts: [
        { kind: 'identify', id: model.id, description: `the ${ref}, which is ${model.color}` },
        { kind: 'count', what: pluralShape(s), ids: all.map((o) => o.id), value: all.length },
        { kind: 'rule', rule: `every ${s} becomes ${model.color}`, matches: sel.map((o) => o.id) },
      ],
    };
  });
}

export const logicalReasoning: CategoryGenerator = {
  category: 'logical_reasoning',
  hints: { minObjects: 3, maxObjects: 5, colorPool: 3, shapePool: 3, duplicates: 0.3 },
  generate(scene, rng) {
    return firstOf(rng, [allOfShape, allButColor, oddOneOut, digitParity, allButExtreme, lessCommon, colorLike], (f) => f(scene, rng));
  },
};
