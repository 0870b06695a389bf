// 10. text_change: replace(text) of a glyph: a letter for a letter, a digit for a digit.
// Understanding: OCR (read what is written to find it).

import { isDigit, noun } from '../describe.js';
import { DIGITS, LETTERS } from '../scene.js';
import { type CategoryGenerator, ground, phrase, pickReferable } from './kit.js';

export const textChange: CategoryGenerator = {
  category: 'text_change',
  hints: { glyphs: 'letters' },
  generate(scene, rng) {
    const pick = pickReferable(scene, rng, (o) => o.shape === 'glyph');
    if (!pick) return null;
    const { o, ref } = pick;
    const from = o.text ?? '';
    const pool = isDigit(from) ? DIGITS : LETTERS;
    const to = rng.pick([...pool].filter((c) => c !== from));
    const kind = isDigit(from) ? 'digit' : 'letter';
    const instruction = phrase(rng, [
      () => `change the ${ref} to ${to}`,
      () => (ref === noun(o) ? `replace the text "${from}" with "${to}"` : `replace the text of the ${ref} with "${to}"`),
      () => `make the ${ref} read ${to} instead`,
      () => `rewrite the ${ref} as the ${kind} ${to}, same color and size`,
    ]);
    return {
      instruction,
      ops: [{ op: 'replace', id: o.id, attribute: 'text', from, to }],
      facts: [...ground(scene, o), { kind: 'read', id: o.id, text: from }],
    };
  },
};
