// 3. material_alter: replace(texture) of one object (glyphs are always solid). Understanding:
// identification.

import { TEXTURES, type Texture } from '../scene.js';
import { type CategoryGenerator, ground, phrase, pickReferable } from './kit.js';

const SURFACE: Readonly<Record<Texture, string>> = {
  solid: 'a plain solid fill',
  striped: 'horizontal stripes',
  dotted: 'a pattern of dots',
  checkered: 'a checker pattern',
};

export const materialAlter: CategoryGenerator = {
  category: 'material_alter',
  hints: { glyphs: 'none', styles: ['flat', 'shadow', 'mosaic'] },
  generate(scene, rng) {
    const pick = pickReferable(scene, rng, (o) => o.shape !== 'glyph');
    if (!pick) return null;
    const { o, ref } = pick;
    const to = rng.pick(TEXTURES.filter((t) => t !== o.texture));
    const instruction =
      to === 'solid'
        ? phrase(rng, [
            () => `remove the ${o.texture} pattern from the ${ref} and make it solid`,
            () => `make the ${ref} a plain solid color`,
            () => `give the ${ref} ${SURFACE.solid}`,
          ])
        : phrase(rng, [
            () => `give the ${ref} a ${to} texture`,
            () => `make the ${ref} ${to}`,
            () => `change the surface of the ${ref} to ${SURFACE[to]}`,
            () => `cover the ${ref} with ${SURFACE[to]}`,
          ]);
    return {
      instruction,
      ops: [{ op: 'replace', id: o.id, attribute: 'texture', from: o.texture, to }],
      facts: ground(scene, o),
    };
  },
};
