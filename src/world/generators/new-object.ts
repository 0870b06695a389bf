// Drawing a fresh object for add edits: attributes that show up on this background, and a full
// description a reader can draw from.

import type { Rng } from '../rng.js';
import { BASIC_SHAPES, DIGITS, LETTERS, type Scene, type SceneObject, type Size, TEXTURES } from '../scene.js';
import { objectColors } from './kit.js';

export type NewObjectSpec = Omit<SceneObject, 'id' | 'x' | 'y'>;

export function randomNewObject(scene: Scene, rng: Rng, sizes: readonly Size[] = ['small', 'medium', 'large']): NewObjectSpec {
  const color = rng.pick(objectColors(scene));
  const glyphSizes = sizes.filter((s) => s !== 'small');
  if (glyphSizes.length > 0 && rng.chance(0.15)) {
    const chars = rng.chance(0.5) ? LETTERS : DIGITS;
    return { shape: 'glyph', text: chars[rng.int(0, chars.length - 1)], color, size: rng.pick(glyphSizes), texture: 'solid' };
  }
  const texture = rng.chance(0.6) ? 'solid' : rng.pick(TEXTURES.filter((t) => t !== 'solid'));
  return { shape: rng.pick(BASIC_SHAPES), color, size: rng.pick(sizes), texture };
}

export function withPlace(spec: NewObjectSpec, id: number, x: number, y: number): SceneObject {
  const o: SceneObject = { id, shape: spec.shape, color: spec.color, size: spec.size, texture: spec.texture, x, y };
  if (spec.shape === 'glyph') o.text = spec.text;
  return o;
}
