// The world's values as grammar words and back: object descriptions (`medium solid red circle`,
// `large solid white letter K`), shapes, backgrounds, styles, tones, camera moves. Readers return
// either the value or the index of the first word that does not fit and what was expected there, so
// the parser can point at it.

import type { ColorName, Tone } from '../world/palette.js';
import { COLOR_NAMES, TONE_NAMES } from '../world/palette.js';
import {
  type Background, BACKGROUND_PATTERNS, BASIC_SHAPES, type Camera, DIGITS, GLYPH_CHARS, LETTERS, type SceneObject, type Shape,
  type Size, SIZES, type Style, STYLES, type Texture, TEXTURES,
} from '../world/scene.js';
import type { CameraAction } from './ast.js';
import { GLYPH_NOUNS, type PanDirection, type WorldAttribute } from './grammar.js';

/** What an object looks like, without identity or position. */
export interface ObjectLook {
  shape: Shape;
  /** Present exactly when shape === 'glyph'. */
  text?: string;
  color: ColorName;
  size: Size;
  texture: Texture;
}

/** A shape with its character, for glyphs. */
export interface ShapeValue {
  shape: Shape;
  text?: string;
}

export type Read<T> = { ok: true; value: T } | { ok: false; index: number; expected: string };

const fail = <T>(index: number, expected: string): Read<T> => ({ ok: false, index, expected });
const ok = <T>(value: T): Read<T> => ({ ok: true, value });

function oneOf(list: readonly string[], name: string): string {
  return `${name} (${list.join(', ')})`;
}

export const EXPECT = {
  color: oneOf(COLOR_NAMES, 'a colour'),
  size: oneOf(SIZES, 'a size'),
  texture: oneOf(TEXTURES, 'a texture'),
  style: oneOf(STYLES, 'a style'),
  tone: oneOf(TONE_NAMES, 'a tone'),
  pattern: oneOf(BACKGROUND_PATTERNS, 'a background pattern'),
  noun: `a shape (${BASIC_SHAPES.join(', ')}) or "letter X" / "digit N"`,
  letter: 'a capital letter A-Z',
  digit: 'a digit 0-9',
  char: 'one letter or digit (A-Z, 0-9)',
} as const;

const is = <T extends string>(list: readonly T[], w: string | undefined): w is T => w !== undefined && (list as readonly string[]).includes(w);

export function nounWords(v: ShapeValue): string[] {
  if (v.shape !== 'glyph') return [v.shape];
  const text = v.text ?? '';
  return [DIGITS.includes(text) && text.length === 1 ? GLYPH_NOUNS.digit : GLYPH_NOUNS.letter, text];
}

/** Reads a noun starting at words[at]: `circle` (1 word) or `letter K` (2 words). */
export function readNoun(words: readonly string[], at = 0): Read<ShapeValue & { length: number }> {
  const w = words[at];
  if (is(BASIC_SHAPES, w)) return ok({ shape: w, length: 1 });
  if (w === GLYPH_NOUNS.letter || w === GLYPH_NOUNS.digit) {
    const ch = words[at + 1];
    const chars = w === GLYPH_NOUNS.letter ? LETTERS : DIGITS;
    if (ch === undefined || ch.length !== 1 || !chars.includes(ch)) return fail(at + 1, w === GLYPH_NOUNS.letter ? EXPECT.letter : EXPECT.digit);
    return ok({ shape: 'glyph', text: ch, length: 2 });
  }
  return fail(at, EXPECT.noun);
}

/** A whole word run that must be exactly one noun. */
export function readShapeValue(words: readonly string[]): Read<ShapeValue> {
  const r = readNoun(words);
  if (!r.ok) return r;
  if (words.length !== r.value.length) return fail(r.value.length, 'the end of the shape');
  return ok(r.value.shape === 'glyph' ? { shape: 'glyph', text: r.value.text } : { shape: r.value.shape });
}

/** `size texture color noun`: every attribute, always in this order (solid is said too). */
export function lookWords(o: ObjectLook): string[] {
  return [o.size, o.texture, o.color, ...nounWords(o)];
}

export function readLook(words: readonly string[]): Read<ObjectLook> {
  if (!is(SIZES, words[0])) return fail(0, EXPECT.size);
  if (!is(TEXTURES, words[1])) return fail(1, EXPECT.texture);
  if (!is(COLOR_NAMES, words[2])) return fail(2, EXPECT.color);
  const n = readNoun(words, 3);
  if (!n.ok) return n;
  if (words.length !== 3 + n.value.length) return fail(3 + n.value.length, 'the end of the description ("@")');
  const look: ObjectLook = { shape: n.value.shape, color: words[2], size: words[0], texture: words[1] };
  if (n.value.shape === 'glyph') {
    if (words[0] === 'small') return fail(0, 'medium or large (glyphs are never small)');
    if (words[1] !== 'solid') return fail(1, 'solid (glyphs are always solid)');
    look.text = n.value.text;
  }
  return ok(look);
}

export function lookOf(o: SceneObject): ObjectLook {
  const look: ObjectLook = { shape: o.shape, color: o.color, size: o.size, texture: o.texture };
  if (o.shape === 'glyph') look.text = o.text;
  return look;
}

export function sameLook(a: ObjectLook, b: ObjectLook): boolean {
  return a.shape === b.shape && a.color === b.color && a.size === b.size && a.texture === b.texture && (a.shape !== 'glyph' || a.text === b.text);
}

export function backgroundWords(b: Background): string[] {
  return b.pattern === 'plain' ? ['plain', b.color] : [b.pattern, b.color, b.color2];
}

export function readBackground(words: readonly string[]): Read<Background> {
  const pattern = words[0];
  if (!is(BACKGROUND_PATTERNS, pattern)) return fail(0, EXPECT.pattern);
  if (!is(COLOR_NAMES, words[1])) return fail(1, EXPECT.color);
  if (pattern === 'plain') {
    if (words.length !== 2) return fail(2, 'the end of a plain background (one colour)');
    return ok({ pattern, color: words[1], color2: words[1] });
  }
  if (!is(COLOR_NAMES, words[2])) return fail(2, `a second ${EXPECT.color}`);
  if (words[2] === words[1]) return fail(2, `a second colour different from ${words[1]}`);
  if (words.length !== 3) return fail(3, `the end of a ${pattern} background (two colours)`);
  return ok({ pattern, color: words[1], color2: words[2] });
}

function single<T extends string>(list: readonly T[], expected: string) {
  return (words: readonly string[]): Read<T> => {
    if (!is(list, words[0])) return fail(0, expected);
    if (words.length !== 1) return fail(1, 'the end of the value (one word)');
    return ok(words[0]);
  };
}

export const readStyle = single<Style>(STYLES, EXPECT.style);
export const readTone = single<Tone>(TONE_NAMES, EXPECT.tone);
export const readColor = single<ColorName>(COLOR_NAMES, EXPECT.color);
export const readSize = single<Size>(SIZES, EXPECT.size);
export const readTexture = single<Texture>(TEXTURES, EXPECT.texture);
export const readChar = single<string>(GLYPH_CHARS.split(''), EXPECT.char);

/** Checks the words of a replaced object attribute's value. */
export function readAttributeValue(attribute: WorldAttribute, words: readonly string[]): Read<string | ShapeValue> {
  switch (attribute) {
    case 'color':
      return readColor(words);
    case 'size':
      return readSize(words);
    case 'texture':
      return readTexture(words);
    case 'text':
      return readChar(words);
    case 'shape':
      return readShapeValue(words);
  }
}

export function globalValueReader(target: 'background' | 'style' | 'tone'): (words: readonly string[]) => Read<unknown> {
  return target === 'background' ? readBackground : target === 'style' ? readStyle : readTone;
}

/** The camera move from one window to another, as the grammar says it (relative to the old view). */
export function cameraAction(from: Camera, to: Camera): CameraAction {
  // `+ 0` turns -0 into 0, so the numbers print and read back identically.
  const dx = to.x - from.x + 0;
  const dy = to.y - from.y + 0;
  if (to.width === from.width && to.height === from.height) {
    if (dx === 0 && dy === 0) return { kind: 'keep' };
    const moves: { dir: PanDirection; n: number }[] = [];
    if (dx !== 0) moves.push({ dir: dx < 0 ? 'left' : 'right', n: Math.abs(dx) });
    if (dy !== 0) moves.push({ dir: dy < 0 ? 'up' : 'down', n: Math.abs(dy) });
    if (moves.some((m) => !Number.isInteger(m.n))) throw new RangeError(`cameraAction: expected a whole-unit pan, got (${dx}, ${dy})`);
    return { kind: 'pan', moves };
  }
  const r = to.width / from.width;
  if (Math.abs(to.height / from.height - r) > 1e-12) {
    throw new RangeError(`cameraAction: expected a zoom that keeps the aspect ratio, got ${from.width}x${from.height} -> ${to.width}x${to.height}`);
  }
  const dir = r < 1 ? 'in' : 'out';
  const factor = r < 1 ? 1 / r : r;
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) throw new RangeError(`cameraAction: expected a whole-unit window corner, got (${dx}, ${dy})`);
  const action: CameraAction = { kind: 'zoom', dir, factor, x: dx, y: dy };
  // The factor must print and read back exactly, or the CoT would not say the exact window.
  if (cameraTarget(from, action).width !== to.width || cameraTarget(from, action).height !== to.height) {
    throw new RangeError(`cameraAction: zoom factor ${factor} does not give ${to.width}x${to.height} from ${from.width}x${from.height}`);
  }
  return action;
}

/** The window a camera action leads to from `from`. */
export function cameraTarget(from: Camera, a: CameraAction): Camera {
  switch (a.kind) {
    case 'keep':
      return { ...from };
    case 'pan': {
      let x = from.x;
      let y = from.y;
      for (const m of a.moves) {
        if (m.dir === 'left') x -= m.n;
        else if (m.dir === 'right') x += m.n;
        else if (m.dir === 'up') y -= m.n;
        else y += m.n;
      }
      return { x, y, width: from.width, height: from.height };
    }
    case 'zoom': {
      const s = a.dir === 'in' ? 1 / a.factor : a.factor;
      return { x: from.x + a.x, y: from.y + a.y, width: from.width * s, height: from.height * s };
    }
  }
}
