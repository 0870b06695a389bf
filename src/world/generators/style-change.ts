// 6. style_change: replace(style), a global change to how everything is drawn. Understanding: style.

import { type Style, STYLES } from '../scene.js';
import { type CategoryGenerator, phrase } from './kit.js';

export const STYLE_WORD: Readonly<Record<Style, string>> = {
  flat: 'flat',
  outline: 'outline line-art',
  shadow: 'drop-shadow',
  mosaic: 'pixel mosaic',
};

const TEMPLATES: Readonly<Record<Style, readonly ((from: string) => string)[]>> = {
  flat: [
    () => 'render the picture in a plain flat style',
    (from) => `remove the ${from} effect and draw everything flat`,
    () => 'redraw the scene with simple flat filled shapes',
  ],
  outline: [
    () => 'redraw the picture as line art, outlines only',
    () => 'turn every object into an outline drawing with a hollow inside',
    () => 'convert the image to an outline style',
  ],
  shadow: [
    () => 'add a drop shadow under every object',
    () => 'render the scene in a drop-shadow style',
    () => 'give each object a dark shadow falling down and to the right',
  ],
  mosaic: [
    () => 'turn the image into a coarse pixel mosaic',
    () => 'pixelate the picture into big square blocks',
    () => 'render the scene in a blocky mosaic style',
  ],
};

export const styleChange: CategoryGenerator = {
  category: 'style_change',
  hints: { minObjects: 2, styles: STYLES },
  generate(scene, rng) {
    const from = scene.style;
    const to = rng.pick(STYLES.filter((s) => s !== from));
    const instruction = phrase(rng, TEMPLATES[to].map((t) => () => t(STYLE_WORD[from])));
    return {
      instruction,
      ops: [{ op: 'replace_global', attribute: 'style', from, to }],
      facts: [{ kind: 'global', attribute: 'style', from: STYLE_WORD[from], to: STYLE_WORD[to] }],
    };
  },
};
