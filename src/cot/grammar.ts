// The CoT grammar's words: structural tokens, keywords, and the closed sets of the world's values.
// A CoT is a sequence of whitespace-separated words (word-level tokens); the printer joins them with
// single spaces and the parser splits on any whitespace. Everything here is data, shared by the
// printer, the parser, the builder and the tokenizer's vocabulary.

import { META_TASKS, type MetaTask } from '../world/ops.js';
import { COLOR_NAMES, TONE_NAMES } from '../world/palette.js';
import { BACKGROUND_PATTERNS, BASIC_SHAPES, DIGITS, LETTERS, SIZES, STYLES, TEXTURES, VIEW_SIZE } from '../world/scene.js';

export const COT_VARIANTS = ['none', 'think', 'triplet', 'meta'] as const;
export type CotVariant = (typeof COT_VARIANTS)[number];

export function isCotVariant(v: string): v is CotVariant {
  return (COT_VARIANTS as readonly string[]).includes(v);
}

/** Section tags. */
export const TAG = {
  summaryOpen: '<summary>',
  summaryClose: '</summary>',
  thinkingOpen: '<thinking>',
  thinkingClose: '</thinking>',
  traversalOpen: '<traversal>',
  traversalClose: '</traversal>',
  thinkOpen: '<think>',
  thinkClose: '</think>',
  resultOpen: '<result>',
  resultClose: '</result>',
} as const;
export const TAGS: readonly string[] = Object.values(TAG);

/** Punctuation of the grammar. */
export const SYM = {
  colon: ':',
  semi: ';',
  comma: ',',
  open: '[',
  close: ']',
  at: '@',
  arrow: '->',
  eq: '=',
} as const;

/** Words a thinking statement's free text may not hold: they end the statement or start a reference. */
export const THINKING_STOPS: ReadonlySet<string> = new Set<string>([...TAGS, SYM.semi, SYM.open, SYM.close, SYM.at]);
/** Words an object description may not hold. */
export const DESCRIPTION_STOPS: ReadonlySet<string> = new Set<string>([...TAGS, SYM.semi, SYM.open, SYM.close, SYM.at, SYM.comma, SYM.arrow]);
/** Words a replaced value (`replace color red -> blue`) may not hold. */
export const VALUE_STOPS: ReadonlySet<string> = new Set<string>([...TAGS, SYM.semi, SYM.open, SYM.close, SYM.at, SYM.comma, SYM.arrow]);

/** Summary heads: `<summary> task : CATEGORY </summary>` (triplet), `<summary> meta : a , b </summary>`. */
export const SUMMARY_TASK = 'task';
export const SUMMARY_META = 'meta';

export const GLOBAL_TARGETS = ['background', 'style', 'tone', 'camera'] as const;
export type GlobalTarget = (typeof GLOBAL_TARGETS)[number];

/** Object actions of the target traversal. */
export const ACTION = { keep: 'keep', remove: 'remove', add: 'add', replace: 'replace', move: 'move' } as const;

/**
 * Attributes a `replace` may name. The world understands the first five; the others exist so that
 * annotations of real photographs (materials, poses, one subject for another) stay in the grammar.
 */
export const WORLD_ATTRIBUTES = ['color', 'texture', 'size', 'shape', 'text'] as const;
export type WorldAttribute = (typeof WORLD_ATTRIBUTES)[number];
export const OPEN_ATTRIBUTES = ['material', 'object', 'pose', 'expression', 'state'] as const;
export const ATTRIBUTES: readonly string[] = [...WORLD_ATTRIBUTES, ...OPEN_ATTRIBUTES];

export const CAMERA_WORDS = { pan: 'pan', zoom: 'zoom', in: 'in', out: 'out' } as const;
export const PAN_DIRECTIONS = ['left', 'right', 'up', 'down'] as const;
export type PanDirection = (typeof PAN_DIRECTIONS)[number];
/** Zoom factors the grammar spells (the world zooms 2x in, 1.5x and 2x out). */
export const ZOOM_FACTORS = ['1.25', '1.5', '2', '3', '4'] as const;

/** Glyph nouns: `letter K`, `digit 7`. */
export const GLYPH_NOUNS = { letter: 'letter', digit: 'digit' } as const;

/** Keys a thinking statement starts with. */
export const THINK_KEYS = [
  'see', 'identify', 'locate', 'count', 'want', 'read', 'relation', 'physics', 'temporal', 'cause', 'rule',
  'camera', 'leave', 'enter', 'background', 'style', 'tone', 'note',
] as const;
export type ThinkKey = (typeof THINK_KEYS)[number];

/** Words the thinking statements use beyond free text (kept in the vocabulary). */
export const THINK_WORDS = ['objects', 'object', 'steps', 'stop', 'none', 'floor', 'ceiling', 'wall'] as const;

/** Fixed phrases of the `think` variant's generic reasoning. */
export const THINK_LEAD = ['the', 'user', 'asks', ':'] as const;
export const THINK_BRIDGE = ['so', 'the', 'picture', 'should', 'end', 'up', 'like', 'this', ':'] as const;

/** Coordinates of the grammar: integer view units relative to the source camera's top-left corner. */
export const COORD_MIN = -VIEW_SIZE;
export const COORD_MAX = 2 * VIEW_SIZE;

export function isIntegerWord(w: string): boolean {
  return /^-?\d+$/.test(w);
}

export function isFactorWord(w: string): boolean {
  return /^\d+(\.\d+)?$/.test(w) && Number(w) > 0;
}

export function isMetaTask(w: string): w is MetaTask {
  return (META_TASKS as readonly string[]).includes(w);
}

export const WORLD_WORDS = {
  colors: COLOR_NAMES,
  tones: TONE_NAMES,
  styles: STYLES,
  sizes: SIZES,
  textures: TEXTURES,
  patterns: BACKGROUND_PATTERNS,
  shapes: BASIC_SHAPES,
  letters: LETTERS.split(''),
  digits: DIGITS.split(''),
} as const;

/**
 * Every word the grammar itself can print for the world (without free text from facts or
 * instructions), in a fixed order: the closed part of the tokenizer's vocabulary.
 */
export function grammarWords(): string[] {
  const words: string[] = [
    ...TAGS,
    ...Object.values(SYM),
    SUMMARY_TASK,
    SUMMARY_META,
    ...META_TASKS,
    ...GLOBAL_TARGETS,
    ...Object.values(ACTION),
    ...ATTRIBUTES,
    ...Object.values(CAMERA_WORDS),
    ...PAN_DIRECTIONS,
    ...ZOOM_FACTORS,
    ...Object.values(GLYPH_NOUNS),
    ...THINK_KEYS,
    ...THINK_WORDS,
    ...THINK_LEAD,
    ...THINK_BRIDGE,
    ...COLOR_NAMES,
    ...TONE_NAMES,
    ...STYLES,
    ...SIZES,
    ...TEXTURES,
    ...BACKGROUND_PATTERNS,
    ...BASIC_SHAPES,
    ...LETTERS.split(''),
    ...DIGITS.split(''),
  ];
  for (let n = COORD_MIN; n <= COORD_MAX; n++) words.push(String(n));
  const seen = new Set<string>();
  return words.filter((w) => (seen.has(w) ? false : (seen.add(w), true)));
}

/**
 * Splits free text (an instruction, a rule from the world) into grammar words: runs of letters and
 * digits (with inner hyphens or apostrophes) and single punctuation marks.
 * "the smallest object, the triangle" -> [the, smallest, object, ",", the, triangle].
 */
export function freeWords(text: string): string[] {
  return text.match(/[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]/g) ?? [];
}
