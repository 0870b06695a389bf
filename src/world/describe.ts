// Words for the world: object nouns and adjectives, referring expressions that pick out exactly one
// object in view, backgrounds, regions. Instructions and questions are built from these.

import type { Region } from './edit.js';
import type { Background, Scene, SceneObject, Shape, Size, Texture } from './scene.js';
import { boxCenter, DIGITS, objectBox, viewObjects } from './scene.js';

export const SIZE_WORD: Readonly<Record<Size, string>> = { small: 'small', medium: 'medium-sized', large: 'large' };
export const TEXTURE_WORD: Readonly<Record<Texture, string>> = {
  solid: 'solid', striped: 'striped', dotted: 'dotted', checkered: 'checkered',
};

const PLURAL: Readonly<Record<Exclude<Shape, 'glyph'>, string>> = {
  circle: 'circles', square: 'squares', triangle: 'triangles', diamond: 'diamonds', cross: 'crosses', ring: 'rings',
};

export function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch.length === 1 && DIGITS.includes(ch);
}

/** "circle", or "letter A" / "digit 7" for glyphs. */
export function noun(o: Pick<SceneObject, 'shape' | 'text'>): string {
  if (o.shape === 'glyph') return `${isDigit(o.text) ? 'digit' : 'letter'} ${o.text}`;
  return o.shape;
}

export function pluralShape(shape: Exclude<Shape, 'glyph'>): string {
  return PLURAL[shape];
}

/** Plural noun of an object's kind: "circles", "letter As". */
export function pluralNoun(o: Pick<SceneObject, 'shape' | 'text'>): string {
  return o.shape === 'glyph' ? `${noun(o)}s` : pluralShape(o.shape);
}

/** Every attribute: "large striped red circle" (solid texture is left unsaid). */
export function fullDescription(o: Pick<SceneObject, 'shape' | 'text' | 'size' | 'texture' | 'color'>): string {
  const tex = o.texture === 'solid' ? '' : `${TEXTURE_WORD[o.texture]} `;
  return `${SIZE_WORD[o.size]} ${tex}${o.color} ${noun(o)}`;
}

type Attr = 'size' | 'texture' | 'color';
/** Attribute sets tried in order, shortest first, for a description that fits one object only. */
const DESCRIPTOR_SETS: readonly (readonly Attr[])[] = [
  [], ['color'], ['size'], ['texture'], ['size', 'color'], ['texture', 'color'], ['size', 'texture', 'color'],
];

function sameKind(a: SceneObject, b: SceneObject): boolean {
  return a.shape === b.shape && (a.shape !== 'glyph' || a.text === b.text);
}

function words(o: SceneObject, attrs: readonly Attr[]): string {
  const parts: string[] = [];
  if (attrs.includes('size')) parts.push(SIZE_WORD[o.size]);
  if (attrs.includes('texture')) parts.push(TEXTURE_WORD[o.texture]);
  if (attrs.includes('color')) parts.push(o.color);
  parts.push(noun(o));
  return parts.join(' ');
}

const EXTREMES = [
  { word: 'leftmost', key: (o: SceneObject) => boxCenter(objectBox(o)).x },
  { word: 'rightmost', key: (o: SceneObject) => -boxCenter(objectBox(o)).x },
  { word: 'topmost', key: (o: SceneObject) => boxCenter(objectBox(o)).y },
  { word: 'lowest', key: (o: SceneObject) => -boxCenter(objectBox(o)).y },
] as const;

/**
 * The shortest description (without article) that fits this object and no other object in view:
 * "circle", "red circle", "large striped red circle", else "leftmost red circle". Null when even
 * position does not single it out.
 */
export function referTo(scene: Scene, o: SceneObject): string | null {
  const others = viewObjects(scene).filter((q) => q.id !== o.id && sameKind(q, o));
  for (const attrs of DESCRIPTOR_SETS) {
    const clash = others.some((q) => attrs.every((a) => q[a] === o[a]));
    if (!clash) return words(o, attrs);
  }
  // Identical twins: tell them apart by where they are, among objects of the same colour and kind.
  const twins = [o, ...others.filter((q) => q.color === o.color)];
  for (const { word, key } of EXTREMES) {
    const k = key(o);
    if (twins.every((q) => q.id === o.id || key(q) >= k + 1)) return `${word} ${words(o, ['color'])}`;
  }
  return null;
}

const REGION_AT: Readonly<Record<Region, string>> = {
  'top left': 'in the top left corner',
  top: 'at the top',
  'top right': 'in the top right corner',
  left: 'on the left side',
  center: 'in the center',
  right: 'on the right side',
  'bottom left': 'in the bottom left corner',
  bottom: 'at the bottom',
  'bottom right': 'in the bottom right corner',
};

const REGION_NOUN: Readonly<Record<Region, string>> = {
  'top left': 'top left corner',
  top: 'top middle',
  'top right': 'top right corner',
  left: 'left side',
  center: 'center',
  right: 'right side',
  'bottom left': 'bottom left corner',
  bottom: 'bottom middle',
  'bottom right': 'bottom right corner',
};

/** "in the top left corner", "at the top". */
export function regionAt(r: Region): string {
  return REGION_AT[r];
}

/** "top left corner", "center" (after "the"). */
export function regionNoun(r: Region): string {
  return REGION_NOUN[r];
}

/** "plain yellow", "red and white stripes", "a blue and pink checkerboard". */
export function backgroundPhrase(b: Background): string {
  switch (b.pattern) {
    case 'plain':
      return `plain ${b.color}`;
    case 'striped':
      return `${b.color} and ${b.color2} stripes`;
    case 'checkered':
      return withArticle(`${b.color} and ${b.color2} checkerboard`);
  }
}

/** "a red circle", "an orange cross". */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function numberWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}

/** Capitalises the first letter and ends with a full stop (or keeps a question mark). */
export function sentence(text: string): string {
  const t = text.trim();
  const body = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.?!]$/.test(body) ? body : `${body}.`;
}

/** Lower-cases the first letter and drops the final full stop, to embed a sentence in another. */
export function clause(text: string): string {
  const t = text.trim().replace(/\.$/, '');
  return t.charAt(0).toLowerCase() + t.slice(1);
}
