// 17. quantity_change: change how many there are of a kind (colour + shape): add k copies in a row
// beside an existing one, or remove some and keep the ones at one end. Understanding: counting.

import { numberWord, pluralNoun, noun } from '../describe.js';
import type { EditDraft, Relation } from '../edit.js';
import { besideCorner, boxOf, canPlace } from '../layout.js';
import type { EditOp } from '../ops.js';
import type { Rng } from '../rng.js';
import { boxCenter, nextObjectId, objectBox, type Scene, type SceneObject, viewObjects } from '../scene.js';
import { type CategoryGenerator, firstOf, phrase, referables } from './kit.js';
import { withPlace } from './new-object.js';

function sameKind(a: SceneObject, b: SceneObject): boolean {
  return a.shape === b.shape && a.color === b.color && a.text === b.text;
}

function kindWords(o: SceneObject, n: number): string {
  return `${o.color} ${n === 1 ? noun(o) : pluralNoun(o)}`;
}

const REL_WORDS: Readonly<Record<Relation, string>> = { 'left of': 'to the left of', 'right of': 'to the right of', above: 'above', below: 'below' };
const SIDE_WORDS: Readonly<Record<Relation, string>> = { 'left of': 'to its left', 'right of': 'to its right', above: 'above it', below: 'below it' };

function addCopies(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const options = referables(scene).flatMap((r) => (['left of', 'right of', 'above', 'below'] as const).flatMap((side) => [1, 2, 3].map((k) => ({ ...r, side, k }))));
  return firstOf(rng, options, ({ o, ref, side, k }) => {
    const group = shown.filter((q) => sameKind(q, o));
    const have = group.length;
    const ops: EditOp[] = [];
    let anchor = objectBox(o);
    let work = scene;
    const id0 = nextObjectId(scene);
    for (let i = 0; i < k; i++) {
      const at = besideCorner(anchor, side, o.size);
      const box = boxOf(at, o.size);
      if (!canPlace(work, box)) return null;
      const copy = withPlace({ shape: o.shape, text: o.text, color: o.color, size: o.size, texture: o.texture }, id0 + i, at.x, at.y);
      ops.push({ op: 'add', object: copy });
      work = { ...work, objects: [...work.objects, copy] };
      anchor = box;
    }
    const want = have + k;
    const what = kindWords(o, 2);
    const instruction = phrase(rng, [
      () => `add ${numberWord(k)} more ${kindWords(o, k)} in a row ${REL_WORDS[side]} the ${ref}`,
      () => `there should be ${numberWord(want)} ${kindWords(o, want)}: add copies of the ${ref} in a row ${SIDE_WORDS[side]}`,
      () => `increase the number of ${what} to ${numberWord(want)} by lining up copies of the ${ref} ${SIDE_WORDS[side]}`,
    ]);
    return {
      instruction,
      ops,
      facts: [
        { kind: 'count', what, ids: group.map((q) => q.id), value: have },
        { kind: 'target_count', what, value: want },
        { kind: 'identify', id: o.id, description: `the ${ref}, copied ${SIDE_WORDS[side]}` },
      ],
    };
  });
}

const ENDS = [
  { word: 'leftmost', key: (o: SceneObject) => boxCenter(objectBox(o)).x },
  { word: 'rightmost', key: (o: SceneObject) => -boxCenter(objectBox(o)).x },
  { word: 'topmost', key: (o: SceneObject) => boxCenter(objectBox(o)).y },
  { word: 'lowest', key: (o: SceneObject) => -boxCenter(objectBox(o)).y },
] as const;

function removeSome(scene: Scene, rng: Rng): EditDraft | null {
  const shown = viewObjects(scene);
  const groups = new Map<string, SceneObject[]>();
  for (const o of shown) {
    const key = `${o.shape}|${o.text ?? ''}|${o.color}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const options = [...groups.values()].filter((g) => g.length >= 2).flatMap((g) => ENDS.flatMap((end) => Array.from({ length: g.length - 1 }, (_, i) => ({ g, end, keep: i + 1 }))));
  return firstOf(rng, options, ({ g, end, keep }) => {
    const sorted = [...g].sort((a, b) => end.key(a) - end.key(b));
    // The kept ones must be clearly at that end: a one-unit margin to the first removed one.
    if (end.key(sorted[keep]) < end.key(sorted[keep - 1]) + 1) return null;
    const removed = sorted.slice(keep);
    const what = kindWords(g[0], 2);
    const kept = keep === 1 ? `the ${end.word} one` : `the ${numberWord(keep)} ${end.word} ones`;
    const instruction = phrase(rng, [
      () => `reduce the number of ${what} to ${numberWord(keep)}, keeping ${kept}`,
      () => `remove ${numberWord(removed.length)} of the ${what} so that only ${kept} ${keep === 1 ? 'remains' : 'remain'}`,
      () => `leave just ${numberWord(keep)} ${kindWords(g[0], keep)} (${kept}) and delete the rest of them`,
    ]);
    return {
      instruction,
      ops: removed.map((o): EditOp => ({ op: 'remove', id: o.id })),
      facts: [
        { kind: 'count', what, ids: g.map((o) => o.id), value: g.length },
        { kind: 'target_count', what, value: keep },
        { kind: 'rule', rule: `keep ${kept}`, matches: removed.map((o) => o.id) },
      ],
    };
  });
}

export const quantityChange: CategoryGenerator = {
  category: 'quantity_change',
  hints: { minObjects: 1, maxObjects: 4, duplicates: 0.6, glyphs: 'none' },
  generate(scene, rng) {
    return firstOf(rng, [removeSome, addCopies], (f) => f(scene, rng));
  },
};
