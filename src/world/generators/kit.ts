// Shared pieces of the category generators.

import type { CategoryName } from '../categories.js';
import { fullDescription, referTo, sentence } from '../describe.js';
import type { EditDraft, ThinkingFact } from '../edit.js';
import { objectRegion } from '../layout.js';
import { COLOR_NAMES, type ColorName } from '../palette.js';
import type { Rng } from '../rng.js';
import type { SceneHints } from '../scene-gen.js';
import { boxCenter, objectBox, type Scene, type SceneObject, viewObjects } from '../scene.js';

export interface CategoryGenerator {
  category: CategoryName;
  /** What the source scene should offer (glyphs for text edits, twins for counting, ...). */
  hints: SceneHints;
  /** A valid edit of the scene, or null when this scene does not allow one (the sampler redraws). */
  generate(scene: Scene, rng: Rng): EditDraft | null;
}

export interface Referable {
  o: SceneObject;
  /** Unique description without article ("red circle"). */
  ref: string;
}

/** Objects in view that a description can single out, optionally filtered. */
export function referables(scene: Scene, filter: (o: SceneObject) => boolean = () => true): Referable[] {
  const out: Referable[] = [];
  for (const o of viewObjects(scene)) {
    if (!filter(o)) continue;
    const ref = referTo(scene, o);
    if (ref) out.push({ o, ref });
  }
  return out;
}

export function pickReferable(scene: Scene, rng: Rng, filter?: (o: SceneObject) => boolean): Referable | null {
  const all = referables(scene, filter);
  return all.length === 0 ? null : rng.pick(all);
}

/** A template picked at random, turned into a sentence. */
export function phrase(rng: Rng, templates: readonly (() => string)[]): string {
  return sentence(rng.pick(templates)());
}

/** Colours an object may take in this scene: not a background colour, not in `exclude`. */
export function objectColors(scene: Scene, exclude: readonly ColorName[] = []): ColorName[] {
  const bg = scene.background;
  return COLOR_NAMES.filter((c) => c !== bg.color && c !== bg.color2 && !exclude.includes(c));
}

export function identify(o: SceneObject): ThinkingFact {
  return { kind: 'identify', id: o.id, description: fullDescription(o) };
}

export function locate(scene: Scene, o: SceneObject): ThinkingFact {
  return { kind: 'locate', id: o.id, region: objectRegion(scene, o), center: boxCenter(objectBox(o)) };
}

/** identify + locate: what grounding an object reference needs. */
export function ground(scene: Scene, o: SceneObject): ThinkingFact[] {
  return [identify(o), locate(scene, o)];
}

/** Tries a list of options in random order; the first that yields a result wins. */
export function firstOf<T, R>(rng: Rng, options: readonly T[], fn: (option: T) => R | null): R | null {
  for (const opt of rng.shuffle(options)) {
    const r = fn(opt);
    if (r !== null) return r;
  }
  return null;
}
