// 5. subject_resize: replace(size) of one object, its centre kept. Understanding: identification.

import { SIZE_WORD } from '../describe.js';
import { boxOf, canPlace } from '../layout.js';
import { resizedCorner } from '../ops.js';
import { SIZES, SIZE_UNITS } from '../scene.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';

export const subjectResize: CategoryGenerator = {
  category: 'subject_resize',
  hints: {},
  generate(scene, rng) {
    const options = referables(scene).flatMap((r) =>
      SIZES.filter((s) => s !== r.o.size && !(r.o.shape === 'glyph' && s === 'small')).map((to) => ({ ...r, to })),
    );
    return firstOf(rng, options, ({ o, ref, to }) => {
      if (!canPlace(scene, boxOf(resizedCorner(o, to), to), [o.id])) return null;
      const bigger = SIZE_UNITS[to] > SIZE_UNITS[o.size];
      const word = SIZE_WORD[to];
      const instruction = phrase(rng, [
        () => `make the ${ref} ${word}`,
        () => `resize the ${ref} to ${to === 'medium' ? 'medium size' : word}`,
        () => (bigger ? `enlarge the ${ref} so that it is ${word}` : `shrink the ${ref} so that it is ${word}`),
        () => `change the size of the ${ref} to ${word}, keeping its center in place`,
      ]);
      return {
        instruction,
        ops: [{ op: 'replace', id: o.id, attribute: 'size', from: o.size, to }],
        facts: ground(scene, o),
      };
    });
  },
};
