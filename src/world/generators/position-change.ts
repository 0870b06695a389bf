// 20. position_change: move one object to a named region of the view (the same fixed spot an add
// uses). Understanding: localization.

import { regionAt, regionNoun } from '../describe.js';
import { REGIONS } from '../edit.js';
import { boxOf, canPlace, objectRegion, regionCorner } from '../layout.js';
import { type CategoryGenerator, firstOf, ground, phrase, referables } from './kit.js';

export const positionChange: CategoryGenerator = {
  category: 'position_change',
  hints: { maxObjects: 4 },
  generate(scene, rng) {
    const options = referables(scene).flatMap((r) => REGIONS.filter((g) => g !== objectRegion(scene, r.o)).map((region) => ({ ...r, region })));
    return firstOf(rng, options, ({ o, ref, region }) => {
      const at = regionCorner(scene, region, o.size);
      if (!canPlace(scene, boxOf(at, o.size), [o.id])) return null;
      const instruction = phrase(rng, [
        () => `move the ${ref} to the ${regionNoun(region)}`,
        () => `put the ${ref} ${regionAt(region)}`,
        () => `relocate the ${ref} to the ${regionNoun(region)}`,
        () => `shift the ${ref} over to the ${regionNoun(region)} of the picture`,
      ]);
      return {
        instruction,
        ops: [{ op: 'move', id: o.id, from: { x: o.x, y: o.y }, to: at }],
        facts: ground(scene, o),
      };
    });
  },
};
