// The seeded scene generator. Objects in view sit fully inside the camera window and apart from one
// another (so every object is whole and separable in the picture); a few more lie elsewhere on the
// world plane, for camera moves to reveal.

import { BACKGROUND_COLORS, COLOR_NAMES, type ColorName, TONE_NAMES, type Tone } from './palette.js';
import type { Rng } from './rng.js';
import {
  BASIC_SHAPES, type BasicShape, type Box, boxesTouch, boxInside, cameraBox, DIGITS, LETTERS, type Scene,
  type SceneObject, type Shape, SIZE_UNITS, type Size, type Style, type Texture, VIEW_SIZE, WORLD_SIZE,
} from './scene.js';
import { PLACE_GAP } from './layout.js';

export interface SceneHints {
  /** Objects in view, at least (default 1). */
  minObjects?: number;
  /** Objects in view, at most (default 5). */
  maxObjects?: number;
  /**
   * Glyph objects: 'none', 'some' (each object a glyph with probability 0.2, the default),
   * 'letters' / 'digits' (at least one glyph of that kind in view).
   */
  glyphs?: 'none' | 'some' | 'letters' | 'digits';
  /** Probability of a group of 2-3 identical objects in view (default 0.15). */
  duplicates?: number;
  /** Draw object colours from only this many colours (shared attributes, for logic and counting). */
  colorPool?: number;
  /** Draw basic shapes from only this many shapes. */
  shapePool?: number;
  /** Objects outside the view, [min, max] (default [0, 3]). */
  offView?: readonly [number, number];
  /** Restrict style / tone to the plain defaults (default: any, mostly flat and neutral). */
  plainLook?: boolean;
  /** Styles the source may have (default flat, outline, shadow; material edits avoid outlines, which hide fills). */
  styles?: readonly Style[];
}

const STYLE_WEIGHTS: readonly (readonly [Style, number])[] = [['flat', 8], ['outline', 1], ['shadow', 1], ['mosaic', 1]];
/**
 * Source scenes are not pixelated unless a generator asks (style_change, to undo a mosaic): at
 * 2-unit blocks stripes and small shapes blur together, and instructions would talk about things
 * the picture cannot show.
 */
const DEFAULT_STYLES: readonly Style[] = ['flat', 'outline', 'shadow'];
const TEXTURE_WEIGHTS: readonly (readonly [Texture, number])[] = [['solid', 55], ['striped', 15], ['dotted', 15], ['checkered', 15]];
const PATTERN_WEIGHTS = [['plain', 2], ['striped', 1], ['checkered', 1]] as const;
const PLACE_TRIES = 60;
const SCENE_TRIES = 40;

interface Spec {
  shape: Shape;
  text?: string;
  color: ColorName;
  size: Size;
  texture: Texture;
}

export function generateScene(rng: Rng, hints: SceneHints = {}): Scene {
  const min = hints.minObjects ?? 1;
  const max = hints.maxObjects ?? 5;
  if (!(Number.isInteger(min) && Number.isInteger(max) && 1 <= min && min <= max && max <= 8)) {
    throw new RangeError(`generateScene: expected 1 <= minObjects <= maxObjects <= 8, got ${min}..${max}`);
  }
  for (let attempt = 0; attempt < SCENE_TRIES; attempt++) {
    const scene = tryScene(rng, hints, min, max);
    if (scene) return scene;
  }
  throw new Error(`generateScene: could not place ${min}..${max} objects in ${SCENE_TRIES} tries (hints ${JSON.stringify(hints)})`);
}

function tryScene(rng: Rng, hints: SceneHints, min: number, max: number): Scene | null {
  const step = 4;
  const camera = {
    x: step * rng.int(0, (WORLD_SIZE - VIEW_SIZE) / step),
    y: step * rng.int(0, (WORLD_SIZE - VIEW_SIZE) / step),
    width: VIEW_SIZE,
    height: VIEW_SIZE,
  };
  const pattern = rng.weighted(PATTERN_WEIGHTS);
  const color = rng.pick(BACKGROUND_COLORS);
  const color2 = pattern === 'plain' ? color : rng.pick(BACKGROUND_COLORS.filter((c) => c !== color));
  const styles = STYLE_WEIGHTS.filter(([st]) => (hints.styles ?? DEFAULT_STYLES).includes(st));
  const style: Style = hints.plainLook ? 'flat' : rng.weighted(styles);
  const tone: Tone = hints.plainLook || rng.chance(0.6) ? 'neutral' : rng.pick(TONE_NAMES.filter((t) => t !== 'neutral'));

  // Object colours never repeat a background colour: an object must stand out from its backdrop.
  let colors = COLOR_NAMES.filter((c) => c !== color && c !== color2);
  if (hints.colorPool) colors = rng.sample(colors, Math.min(hints.colorPool, colors.length));
  const shapes: readonly BasicShape[] = hints.shapePool ? rng.sample(BASIC_SHAPES, hints.shapePool) : BASIC_SHAPES;

  const n = rng.int(min, max);
  const specs: Spec[] = [];
  const glyphs = hints.glyphs ?? 'some';
  const forcedGlyph = glyphs === 'letters' || glyphs === 'digits' ? rng.int(0, n - 1) : -1;
  for (let i = 0; i < n; i++) {
    const glyph = i === forcedGlyph || (glyphs !== 'none' && rng.chance(0.2));
    const kind = i === forcedGlyph ? glyphs : rng.chance(0.5) ? 'letters' : 'digits';
    specs.push(randomSpec(rng, colors, shapes, glyph ? (kind === 'digits' ? DIGITS : LETTERS) : null));
  }
  if (n >= 2 && rng.chance(hints.duplicates ?? 0.15)) {
    // A group of identical objects (for counting): copy one spec over the next 1-2 (not over the forced glyph).
    const group = Math.min(n, rng.int(2, 3));
    const start = forcedGlyph === 0 ? 1 : 0;
    for (let i = start + 1; i < Math.min(n, start + group); i++) if (i !== forcedGlyph) specs[i] = { ...specs[start] };
  }

  const view = cameraBox(camera);
  const world: Box = { x0: 0, y0: 0, x1: WORLD_SIZE, y1: WORLD_SIZE };
  const placed: SceneObject[] = [];
  for (const spec of specs) {
    const o = place(rng, spec, placed, view, true);
    if (!o) return null;
    placed.push(o);
  }
  const [offMin, offMax] = hints.offView ?? [0, 3];
  const off = rng.int(offMin, offMax);
  for (let i = 0, got = 0; i < off * 3 && got < off; i++) {
    const glyph = glyphs !== 'none' && rng.chance(0.2);
    const o = place(rng, randomSpec(rng, colors, shapes, glyph ? (rng.chance(0.5) ? LETTERS : DIGITS) : null), placed, world, false, view);
    if (o) {
      placed.push(o);
      got++;
    }
  }
  if (placed.length - off > max) return null;
  const objects = placed.map((o, i) => ({ ...o, id: i + 1 }));
  return { world: { width: WORLD_SIZE, height: WORLD_SIZE }, camera, background: { pattern, color, color2 }, style, tone, objects };
}

function randomSpec(rng: Rng, colors: readonly ColorName[], shapes: readonly BasicShape[], glyphChars: string | null): Spec {
  const color = rng.pick(colors);
  if (glyphChars) {
    return { shape: 'glyph', text: glyphChars[rng.int(0, glyphChars.length - 1)], color, size: rng.pick(['medium', 'large'] as const), texture: 'solid' };
  }
  return { shape: rng.pick(shapes), color, size: rng.pick(['small', 'medium', 'large'] as const), texture: rng.weighted(TEXTURE_WEIGHTS) };
}

/**
 * Finds a spot for the object inside `area` (one unit in from its edge), apart from everything
 * placed; with `avoid`, the box must also stay clear of that box (objects kept out of view).
 */
function place(rng: Rng, spec: Spec, placed: readonly SceneObject[], area: Box, margin: boolean, avoid?: Box): SceneObject | null {
  const s = SIZE_UNITS[spec.size];
  const m = margin ? 1 : 0;
  const lo = { x: area.x0 + m, y: area.y0 + m };
  const hi = { x: area.x1 - m - s, y: area.y1 - m - s };
  if (hi.x < lo.x || hi.y < lo.y) return null;
  for (let t = 0; t < PLACE_TRIES; t++) {
    const x = rng.int(lo.x, hi.x);
    const y = rng.int(lo.y, hi.y);
    const box = { x0: x, y0: y, x1: x + s, y1: y + s };
    if (!boxInside(box, area)) continue;
    if (avoid && boxesTouch(box, avoid)) continue;
    if (placed.some((p) => boxesTouch(box, { x0: p.x, y0: p.y, x1: p.x + SIZE_UNITS[p.size], y1: p.y + SIZE_UNITS[p.size] }, PLACE_GAP))) continue;
    const o: SceneObject = { id: 0, shape: spec.shape, color: spec.color, size: spec.size, texture: spec.texture, x, y };
    if (spec.shape === 'glyph') o.text = spec.text;
    return o;
  }
  return null;
}
