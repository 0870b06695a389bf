// 7. subject_add: add one fully described object in a named region of the view (one fixed spot
// per region, so the target is exact). Understanding: localization.

import { fullDescription, regionAt, withArticle } from '../describe.js';
import { REGIONS } from '../edit.js';
import { boxOf, canPlace, regionCorner } from '../layout.js';
import { boxCenter, nextObjectId } from '../scene.js';
import { type CategoryGenerator, firstOf, phrase } from './kit.js';
import { randomNewObject, withPlace } from './new-object.js';

export const subjectAdd: CategoryGenerator = {
  category: 'subject_add',
  hints: { maxObjects: 4 },
  generate(scene, rng) {
    const spec = randomNewObject(scene, rng);
    return firstOf(rng, REGIONS, (region) => {
      const at = regionCorner(scene, region, spec.size);
      const box = boxOf(at, spec.size);
      if (!canPlace(scene, box)) return null;
      const o = withPlace(spec, nextObjectId(scene), at.x, at.y);
      const what = fullDescription(o);
      const where = regionAt(region);
      const instruction = phrase(rng, [
        () => `add ${withArticle(what)} ${where}`,
        () => `put ${withArticle(what)} ${where}`,
        () => `place ${withArticle(what)} ${where} of the picture`,
        () => `draw ${withArticle(what)} ${where}`,
      ]);
      return {
        instruction,
        ops: [{ op: 'add', object: o }],
        facts: [{ kind: 'locate', id: o.id, region, center: boxCenter(box) }],
      };
    });
  },
};
