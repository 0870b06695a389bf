// 1. background_change: replace(background). Understanding: segmentation (what is background and
// what is an object; the objects must come through untouched).

import { backgroundPhrase } from '../describe.js';
import { BACKGROUND_COLORS } from '../palette.js';
import { type Background, BACKGROUND_PATTERNS, viewObjects } from '../scene.js';
import { type CategoryGenerator, phrase } from './kit.js';

export const backgroundChange: CategoryGenerator = {
  category: 'background_change',
  hints: {},
  generate(scene, rng) {
    const from = scene.background;
    const shown = viewObjects(scene);
    const used = new Set(shown.map((o) => o.color));
    // Background colours must not equal any object's colour, or that object would vanish into it.
    const colors = BACKGROUND_COLORS.filter((c) => !used.has(c));
    if (colors.length < 2) return null;
    let to: Background | null = null;
    for (let t = 0; t < 20 && !to; t++) {
      const pattern = rng.pick(BACKGROUND_PATTERNS);
      const color = rng.pick(colors);
      const color2 = pattern === 'plain' ? color : rng.pick(colors.filter((c) => c !== color));
      const cand = { pattern, color, color2 };
      if (JSON.stringify(cand) !== JSON.stringify(from)) to = cand;
    }
    if (!to) return null;
    const words = backgroundPhrase(to);
    const instruction = phrase(rng, [
      () => `change the background to ${words}`,
      () => `replace the background with ${words}`,
      () => `give the picture a background of ${words}`,
      () => `swap the backdrop for ${words}, leaving every object as it is`,
      () => `put the objects on a background of ${words}`,
    ]);
    return {
      instruction,
      ops: [{ op: 'replace_global', attribute: 'background', from: { ...from }, to }],
      facts: [
        { kind: 'count', what: 'objects in front of the background', ids: shown.map((o) => o.id), value: shown.length },
        { kind: 'global', attribute: 'background', from: backgroundPhrase(from), to: words },
      ],
    };
  },
};
