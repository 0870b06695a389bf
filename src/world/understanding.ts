// Understanding data over the world's scenes: question/answer pairs for counting, localization,
// reading text and spatial relations. Mixed into SFT for the understanding expert; answers are
// exact because they are read off the scene, not the pixels.

import { fullDescription, pluralShape, regionNoun, sentence } from './describe.js';
import { referables } from './generators/kit.js';
import { objectRegion } from './layout.js';
import { REGIONS } from './edit.js';
import type { Rng } from './rng.js';
import { BASIC_SHAPES, boxCenter, objectBox, type Scene, type SceneObject, viewObjects } from './scene.js';
import { COLOR_NAMES } from './palette.js';

export const QA_KINDS = ['counting', 'localization', 'reading', 'spatial'] as const;
export type QaKind = (typeof QA_KINDS)[number];

export interface QaPair {
  kind: QaKind;
  question: string;
  /** Short exact answer: a number ("3"), a region ("top left corner"), text ("A7"), "yes"/"no", or a description. */
  answer: string;
  /** Objects the answer is about. */
  ids: number[];
}

function counting(scene: Scene, rng: Rng): QaPair | null {
  const shown = viewObjects(scene);
  const variants: (() => QaPair)[] = [
    () => ({ kind: 'counting', question: 'How many objects are in the picture?', answer: String(shown.length), ids: shown.map((o) => o.id) }),
    () => {
      // Shapes absent from the scene too: "zero" is a valid and useful answer.
      const s = rng.pick(BASIC_SHAPES);
      const sel = shown.filter((o) => o.shape === s);
      return { kind: 'counting', question: `How many ${pluralShape(s)} are there?`, answer: String(sel.length), ids: sel.map((o) => o.id) };
    },
    () => {
      const c = rng.chance(0.75) && shown.length > 0 ? rng.pick(shown).color : rng.pick(COLOR_NAMES);
      const sel = shown.filter((o) => o.color === c);
      return { kind: 'counting', question: `How many ${c} objects are there?`, answer: String(sel.length), ids: sel.map((o) => o.id) };
    },
    () => {
      const sel = shown.filter((o) => o.shape === 'glyph');
      return { kind: 'counting', question: 'How many letters and digits are written in the picture?', answer: String(sel.length), ids: sel.map((o) => o.id) };
    },
  ];
  return rng.pick(variants)();
}

function localization(scene: Scene, rng: Rng): QaPair | null {
  if (rng.chance(0.5)) {
    const refs = referables(scene);
    if (refs.length === 0) return null;
    const { o, ref } = rng.pick(refs);
    return { kind: 'localization', question: `Where is the ${ref}?`, answer: regionNoun(objectRegion(scene, o)), ids: [o.id] };
  }
  // The reverse: name the one object whose centre lies in a region.
  const shown = viewObjects(scene);
  const region = rng.pick(REGIONS);
  const inside = shown.filter((o) => objectRegion(scene, o) === region);
  if (inside.length !== 1) return null;
  return { kind: 'localization', question: `What object is in the ${regionNoun(region)}?`, answer: fullDescription(inside[0]), ids: [inside[0].id] };
}

function reading(scene: Scene, rng: Rng): QaPair | null {
  const glyphs = viewObjects(scene).filter((o) => o.shape === 'glyph');
  if (glyphs.length === 0) return null;
  const variants: (() => QaPair | null)[] = [
    () => {
      const xs = glyphs.map((o) => boxCenter(objectBox(o)).x).sort((a, b) => a - b);
      if (xs.some((x, i) => i > 0 && x - xs[i - 1] < 1)) return null;
      const ordered = [...glyphs].sort((a, b) => boxCenter(objectBox(a)).x - boxCenter(objectBox(b)).x);
      return {
        kind: 'reading',
        question: 'What text do the letters and digits spell, read from left to right?',
        answer: ordered.map((o) => o.text).join(''),
        ids: ordered.map((o) => o.id),
      };
    },
    () => {
      const o = rng.pick(glyphs);
      if (glyphs.filter((q) => q.color === o.color).length !== 1) return null;
      return { kind: 'reading', question: `Which character is written in ${o.color}?`, answer: o.text ?? '', ids: [o.id] };
    },
    () => {
      const o = rng.pick(glyphs);
      const region = objectRegion(scene, o);
      if (glyphs.filter((q) => objectRegion(scene, q) === region).length !== 1) return null;
      return { kind: 'reading', question: `What character is written in the ${regionNoun(region)}?`, answer: o.text ?? '', ids: [o.id] };
    },
  ];
  return rng.pick(variants)();
}

/** 'yes'/'no' for "is a left of / above b", or null when the boxes overlap along that axis. */
function relation(a: SceneObject, b: SceneObject, axis: 'x' | 'y'): 'yes' | 'no' | null {
  const ba = objectBox(a);
  const bb = objectBox(b);
  if (axis === 'x') return ba.x1 <= bb.x0 ? 'yes' : bb.x1 <= ba.x0 ? 'no' : null;
  return ba.y1 <= bb.y0 ? 'yes' : bb.y1 <= ba.y0 ? 'no' : null;
}

function spatial(scene: Scene, rng: Rng): QaPair | null {
  const refs = referables(scene);
  if (refs.length < 2) return null;
  const [a, b] = rng.sample(refs, 2);
  const axis = rng.pick(['x', 'y'] as const);
  const ans = relation(a.o, b.o, axis);
  if (!ans) return null;
  if (rng.chance(0.5)) {
    const rel = axis === 'x' ? 'to the left of' : 'above';
    return { kind: 'spatial', question: `Is the ${a.ref} ${rel} the ${b.ref}?`, answer: ans, ids: [a.o.id, b.o.id] };
  }
  const which = axis === 'x' ? 'further left' : 'higher up';
  const winner = ans === 'yes' ? a : b;
  return { kind: 'spatial', question: `Which is ${which}, the ${a.ref} or the ${b.ref}?`, answer: `the ${winner.ref}`, ids: [winner.o.id] };
}

const MAKERS: Readonly<Record<QaKind, (scene: Scene, rng: Rng) => QaPair | null>> = { counting, localization, reading, spatial };

/**
 * Up to n question/answer pairs about the scene, kinds drawn in turn, no question repeated.
 * Fewer come back only when the scene offers fewer (no text to read, one object only).
 */
export function generateQa(scene: Scene, rng: Rng, n: number, kinds: readonly QaKind[] = QA_KINDS): QaPair[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`generateQa: n must be a non-negative integer, got ${n}`);
  const out: QaPair[] = [];
  const asked = new Set<string>();
  for (let tries = 0; out.length < n && tries < n * 12; tries++) {
    const kind = kinds[(out.length + tries) % kinds.length];
    const qa = MAKERS[kind](scene, rng);
    if (!qa || asked.has(qa.question)) continue;
    asked.add(qa.question);
    out.push({ ...qa, question: sentence(qa.question) });
  }
  return out;
}
