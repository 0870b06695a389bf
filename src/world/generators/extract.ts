// 21. extract: keep one object and remove every other object in view. Understanding:
// identification.

import { viewObjects } from '../scene.js';
import { type CategoryGenerator, ground, phrase, pickReferable } from './kit.js';

export const extract: CategoryGenerator = {
  category: 'extract',
  hints: { minObjects: 2 },
  generate(scene, rng) {
    const pick = pickReferable(scene, rng);
    if (!pick) return null;
    const { o, ref } = pick;
    const others = viewObjects(scene).filter((q) => q.id !== o.id);
    if (others.length === 0) return null;
    const instruction = phrase(rng, [
      () => `extract the ${ref}`,
      () => `keep only the ${ref} and remove everything else`,
      () => `isolate the ${ref} on the background`,
      () => `cut out the ${ref}: remove all the other objects`,
    ]);
    return {
      instruction,
      ops: others.map((q) => ({ op: 'remove' as const, id: q.id })),
      facts: [...ground(scene, o), { kind: 'count', what: 'other objects', ids: others.map((q) => q.id), value: others.length }],
    };
  },
};
