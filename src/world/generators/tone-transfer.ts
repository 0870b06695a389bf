// 11. tone_transfer: replace(tone), a global colour grade. Understanding: tone.

import { type Tone, TONE_NAMES } from '../palette.js';
import { type CategoryGenerator, phrase } from './kit.js';

const TEMPLATES: Readonly<Record<Tone, readonly string[]>> = {
  neutral: ['remove the color grade and restore neutral colors', 'return the picture to its natural, neutral colors'],
  warm: ['give the picture a warm tone', 'apply a warm, golden color grade', 'make the colors warmer'],
  cool: ['give the image a cool, bluish tone', 'apply a cold color grade', 'make the colors cooler'],
  dark: ['darken the whole image', 'make the scene dim, as if the light were fading', 'lower the brightness of the picture'],
  bright: ['brighten the whole image', 'make the picture lighter and washed out', 'raise the brightness of everything'],
  muted: ['desaturate the colors', 'give the picture a muted, faded look', 'tone down the saturation'],
};

export const toneTransfer: CategoryGenerator = {
  category: 'tone_transfer',
  hints: {},
  generate(scene, rng) {
    const from = scene.tone;
    const to = rng.pick(TONE_NAMES.filter((t) => t !== from));
    return {
      instruction: phrase(rng, TEMPLATES[to].map((t) => () => t)),
      ops: [{ op: 'replace_global', attribute: 'tone', from, to }],
      facts: [{ kind: 'global', attribute: 'tone', from, to }],
    };
  },
};
