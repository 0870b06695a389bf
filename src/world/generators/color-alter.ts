// 2. color_alter: replace(color) of one object. Understanding: identification.

import { type CategoryGenerator, ground, objectColors, phrase, pickReferable } from './kit.js';

export const colorAlter: CategoryGenerator = {
  category: 'color_alter',
  hints: {},
  generate(scene, rng) {
    const pick = pickReferable(scene, rng);
    if (!pick) return null;
    const { o, ref } = pick;
    const to = rng.pick(objectColors(scene, [o.color]));
    const instruction = phrase(rng, [
      () => `make the ${ref} ${to}`,
      () => `change the color of the ${ref} to ${to}`,
      () => `paint the ${ref} ${to}`,
      () => `recolor the ${ref} so it is ${to}`,
      () => `turn the ${ref} ${to}, keeping everything else the same`,
    ]);
    return {
      instruction,
      ops: [{ op: 'replace', id: o.id, attribute: 'color', from: o.color, to }],
      facts: ground(scene, o),
    };
  },
};
