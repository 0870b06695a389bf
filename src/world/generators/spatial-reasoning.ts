// 14. spatial_reasoning: add an object, or move one, by its relation to another; or swap two.
// Understanding: spatial (left of / right of / above / below, resolved to one exact spot: beside
// the anchor, one unit apart, centred on it).

import { fullDescription, withArticle } from '../describe.js';
import type { EditDraft, Relation } from '../edit.js';
import { RELATIONS } from '../edit.js';
import { besideCorner, boxOf, canPlace, fitsView, isFree } from '../layout.js';
import type { Rng } from '../rng.js';
import { boxCenter, boxesTouch, nextObjectId, objectBox, type Scene, SIZE_UNITS } from '../scene.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';
import { randomNewObject, withPlace } from './new-object.js';

const REL_WORDS: Readonly<Record<Relation, string>> = {
  'left of': 'to the left of',
  'right of': 'to the right of',
  above: 'above',
  below: 'below',
};

function addBeside(scene: Scene, rng: Rng): EditDraft | null {
  const spec = randomNewObject(scene, rng);
  const options = referables(scene).flatMap((r) => RELATIONS.map((rel) => ({ ...r, rel })));
  return firstOf(rng, options, ({ o: anchor, ref, rel }) => {
    const at = besideCorner(objectBox(anchor), rel, spec.size);
    if (!canPlace(scene, boxOf(at, spec.size))) return null;
    const o = withPlace(spec, nextObjectId(scene), at.x, at.y);
    const what = fullDescription(o);
    return {
      instruction: phrase(rng, [
        () => `add ${withArticle(what)} directly ${REL_WORDS[rel]} the ${ref}`,
        () => `put ${withArticle(what)} just ${REL_WORDS[rel]} the ${ref}, right next to it`,
        () => `place ${withArticle(what)} ${REL_WORDS[rel]} the ${ref}`,
      ]),
      ops: [{ op: 'add', object: o }],
      facts: [...ground(scene, anchor), { kind: 'relation', a: o.id, relation: rel, b: anchor.id }],
    };
  });
}

function moveBeside(scene: Scene, rng: Rng): EditDraft | null {
  const refs = referables(scene);
  const options = refs.flatMap((x) => refs.filter((y) => y.o.id !== x.o.id).flatMap((y) => RELATIONS.map((rel) => ({ x, y, rel }))));
  return firstOf(rng, options, ({ x, y, rel }) => {
    const at = besideCorner(objectBox(y.o), rel, x.o.size);
    if (at.x === x.o.x && at.y === x.o.y) return null;
    if (!canPlace(scene, boxOf(at, x.o.size), [x.o.id])) return null;
    return {
      instruction: phrase(rng, [
        () => `move the ${x.ref} so that it sits directly ${REL_WORDS[rel]} the ${y.ref}`,
        () => `put the ${x.ref} right ${REL_WORDS[rel]} the ${y.ref}`,
        () => `reposition the ${x.ref} ${REL_WORDS[rel]} the ${y.ref}, next to it`,
      ]),
      ops: [{ op: 'move', id: x.o.id, from: { x: x.o.x, y: x.o.y }, to: at }],
      facts: [...ground(scene, x.o), ...ground(scene, y.o), { kind: 'relation', a: x.o.id, relation: rel, b: y.o.id }],
    };
  });
}

function swap(scene: Scene, rng: Rng): EditDraft | null {
  const refs = referables(scene);
  const pairs = refs.flatMap((x, i) => refs.slice(i + 1).map((y) => ({ x, y })));
  return firstOf(rng, pairs, ({ x, y }) => {
    // Each takes the other's centre.
    const cx = boxCenter(objectBox(x.o));
    const cy = boxCenter(objectBox(y.o));
    const sx = SIZE_UNITS[x.o.size];
    const sy = SIZE_UNITS[y.o.size];
    const xTo = { x: Math.round(cy.x - sx / 2), y: Math.round(cy.y - sx / 2) };
    const yTo = { x: Math.round(cx.x - sy / 2), y: Math.round(cx.y - sy / 2) };
    const xb = boxOf(xTo, x.o.size);
    const yb = boxOf(yTo, y.o.size);
    const ignore = [x.o.id, y.o.id];
    if (!fitsView(scene, xb) || !fitsView(scene, yb) || !isFree(scene, xb, ignore) || !isFree(scene, yb, ignore)) return null;
    if (boxesTouch(xb, yb, 1)) return null;
    const horizontal = Math.abs(cx.x - cy.x) >= Math.abs(cx.y - cy.y);
    const rel: Relation = horizontal ? (cx.x < cy.x ? 'left of' : 'right of') : cx.y < cy.y ? 'above' : 'below';
    return {
      instruction: phrase(rng, [
        () => `swap the positions of the ${x.ref} and the ${y.ref}`,
        () => `let the ${x.ref} and the ${y.ref} trade places`,
        () => `exchange the places of the ${x.ref} and the ${y.ref}`,
      ]),
      ops: [
        { op: 'move', id: x.o.id, from: { x: x.o.x, y: x.o.y }, to: xTo },
        { op: 'move', id: y.o.id, from: { x: y.o.x, y: y.o.y }, to: yTo },
      ],
      facts: [...ground(scene, x.o), ...ground(scene, y.o), { kind: 'relation', a: x.o.id, relation: rel, b: y.o.id }],
    };
  });
}

export const spatialReasoning: CategoryGenerator = {
  category: 'spatial_reasoning',
  hints: { minObjects: 2, maxObjects: 4 },
  generate(scene, rng) {
    return firstOf(rng, [addBeside, moveBeside, swap], (f) => f(scene, rng));
  },
};
