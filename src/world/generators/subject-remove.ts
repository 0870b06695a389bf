// 8. subject_remove: remove one object. Understanding: localization.

import { type CategoryGenerator, ground, phrase, pickReferable } from './kit.js';

export const subjectRemove: CategoryGenerator = {
  category: 'subject_remove',
  hints: { minObjects: 2 },
  generate(scene, rng) {
    const pick = pickReferable(scene, rng);
    if (!pick) return null;
    const { o, ref } = pick;
    const instruction = phrase(rng, [
      () => `remove the ${ref}`,
      () => `delete the ${ref}`,
      () => `erase the ${ref} from the picture`,
      () => `take the ${ref} away`,
      () => `get rid of the ${ref}`,
    ]);
    return { instruction, ops: [{ op: 'remove', id: o.id }], facts: ground(scene, o) };
  },
};
