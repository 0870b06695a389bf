// 9. subject_replace: replace(shape): the object becomes another kind of thing, same colour, size,
// texture and place. Understanding: identification.

import { withArticle } from '../describe.js';
import { BASIC_SHAPES } from '../scene.js';
import { type CategoryGenerator, ground, phrase, pickReferable } from './kit.js';

export const subjectReplace: CategoryGenerator = {
  category: 'subject_replace',
  hints: {},
  generate(scene, rng) {
    const pick = pickReferable(scene, rng, (o) => o.shape !== 'glyph');
    if (!pick) return null;
    const { o, ref } = pick;
    const to = rng.pick(BASIC_SHAPES.filter((s) => s !== o.shape));
    const instruction = phrase(rng, [
      () => `replace the ${ref} with ${withArticle(`${o.color} ${to}`)}`,
      () => `turn the ${ref} into a ${to}`,
      () => `change the ${ref} into a ${to} of the same color and size`,
      () => `swap the ${ref} for a ${to}`,
    ]);
    return {
      instruction,
      ops: [{ op: 'replace', id: o.id, attribute: 'shape', from: o.shape, to }],
      facts: ground(scene, o),
    };
  },
};
