// Text tokenizers. The engine talks to a TextTokenizer; the word-level tokenizer here covers the
// synthetic world's grammar and language (its vocabulary is built from the grammar and from text the
// world produces, see vocab.ts), and a BPE tokenizer loaded from a Hugging Face tokenizer.json can
// implement the same interface later (Qwen2's vocabulary already holds the four special tokens).
//
// Word-level scheme: text splits on whitespace into chunks; a chunk that is a vocabulary word is one
// token; any other chunk splits into pieces (runs of letters/digits with inner - or ', single other
// characters), the first piece as is and the others marked "##" (glued to the piece before, no
// space). So "stripes." is [stripes, ##.] while the CoT's spaced "a ." is [a, .], and decode(encode(t))
// gives t back (whitespace normalised to single spaces) whenever every piece is in the vocabulary.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../world/atomic.js';

export const SPECIAL_TOKENS = {
  pad: '<|pad|>',
  unk: '<|unk|>',
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
  visionStart: '<|vision_start|>',
  visionEnd: '<|vision_end|>',
} as const;
export type SpecialName = keyof typeof SPECIAL_TOKENS;
export type SpecialIds = Readonly<Record<SpecialName, number>>;

export interface TextTokenizer {
  /** Which implementation (the `type` of its JSON form). */
  readonly type: string;
  /** Number of ids; the model's vocab must be at least this. */
  readonly size: number;
  readonly special: SpecialIds;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  idOf(token: string): number | undefined;
  tokenOf(id: number): string;
  /** JSON form, saved with a checkpoint; loadTokenizer reads it back. */
  toJSON(): unknown;
}

export const GLUE = '##';

export interface WordTokenizerJson {
  type: 'metacot-word';
  version: 1;
  glue: typeof GLUE;
  special: Record<SpecialName, string>;
  /** Token strings in id order. */
  tokens: string[];
}

/** Pieces of a chunk that is not a vocabulary word. */
export function chunkPieces(chunk: string): string[] {
  return chunk.match(/[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*|[^\sA-Za-z0-9]/gu) ?? [];
}

function glued(piece: string, first: boolean): string {
  return first ? piece : GLUE + piece;
}

/**
 * The tokens the word-level scheme makes of a text, given which tokens the vocabulary holds. A
 * piece the vocabulary lacks falls back to its characters (glued), so any printable ASCII text is
 * encodable without <|unk|> as long as the single characters are in the vocabulary.
 */
export function wordTokens(text: string, known: (token: string) => boolean): string[] {
  return chunkTokens(text, known, (p, first) => {
    const tok = glued(p, first);
    return known(tok) || p.length === 1 ? [tok] : spelled(p, first);
  });
}

/**
 * The tokens a corpus text contributes to a new vocabulary: whole pieces, except strings of capitals
 * and digits (the text glyphs spell, "A7") which go in as characters rather than one-off words.
 */
function corpusTokens(text: string, known: (token: string) => boolean): string[] {
  return chunkTokens(text, known, (p, first) =>
    /^[A-Z0-9]{2,}$/.test(p) && !known(glued(p, first)) ? spelled(p, first) : [glued(p, first)],
  );
}

/** A text's whitespace chunks: a known chunk as itself, any other through its pieces (first: the chunk's first piece). */
function chunkTokens(text: string, known: (token: string) => boolean, piece: (p: string, first: boolean) => string[]): string[] {
  const out: string[] = [];
  for (const chunk of text.split(/\s+/)) {
    if (chunk === '') continue;
    if (!chunk.startsWith(GLUE) && known(chunk)) out.push(chunk);
    else chunkPieces(chunk).forEach((p, k) => out.push(...piece(p, k === 0)));
  }
  return out;
}

/** a piece as its single characters (the first glued like the piece) */
const spelled = (p: string, first: boolean): string[] => [...p].map((c, j) => glued(c, first && j === 0));

/** Printable ASCII characters, alone and glued: the fallback that makes any ASCII text encodable. */
export function characterTokens(): string[] {
  const chars: string[] = [];
  for (let c = 33; c < 127; c++) chars.push(String.fromCharCode(c));
  return [...chars, ...chars.map((c) => GLUE + c)];
}

export class WordTokenizer implements TextTokenizer {
  readonly type = 'metacot-word';
  readonly special: SpecialIds;
  private readonly ids = new Map<string, number>();

  constructor(private readonly tokens: readonly string[]) {
    tokens.forEach((t, i) => {
      if (this.ids.has(t)) throw new RangeError(`WordTokenizer: token ${JSON.stringify(t)} appears twice (ids ${this.ids.get(t)} and ${i})`);
      if (t === '' || /\s/.test(t)) throw new RangeError(`WordTokenizer: token ${i} must be a non-empty word without whitespace, got ${JSON.stringify(t)}`);
      this.ids.set(t, i);
    });
    const special = {} as Record<SpecialName, number>;
    for (const [name, tok] of Object.entries(SPECIAL_TOKENS) as [SpecialName, string][]) {
      const id = this.ids.get(tok);
      if (id === undefined) throw new RangeError(`WordTokenizer: the vocabulary must hold the special token ${tok}`);
      special[name] = id;
    }
    this.special = special;
  }

  /**
   * Builds a vocabulary: the special tokens, then `words` in the order given (the grammar), the
   * printable ASCII characters (alone and glued), then every other piece of the corpus that occurs at least minCount times, most frequent first (ties
   * alphabetical), so the same corpus gives the same ids.
   */
  static fromCorpus(corpus: Iterable<string>, words: readonly string[] = [], minCount = 1): WordTokenizer {
    const tokens: string[] = [];
    const have = new Set<string>();
    const add = (t: string) => {
      if (!have.has(t) && t !== '' && !/\s/.test(t)) {
        have.add(t);
        tokens.push(t);
      }
    };
    Object.values(SPECIAL_TOKENS).forEach(add);
    words.forEach(add);
    characterTokens().forEach(add);
    const counts = new Map<string, number>();
    for (const text of corpus) {
      for (const t of corpusTokens(text, (w) => have.has(w))) if (!have.has(t)) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    [...counts.entries()]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .forEach(([t]) => add(t));
    return new WordTokenizer(tokens);
  }

  get size(): number {
    return this.tokens.length;
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  tokenOf(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new RangeError(`WordTokenizer.tokenOf: id must be an integer in 0..${this.tokens.length - 1}, got ${id}`);
    return t;
  }

  encode(text: string): number[] {
    return wordTokens(text, (w) => this.ids.has(w)).map((t) => this.ids.get(t) ?? this.special.unk);
  }

  /** Tokens of a text that the vocabulary does not hold (what encode turns into <|unk|>). */
  unknown(text: string): string[] {
    return wordTokens(text, (w) => this.ids.has(w)).filter((t) => !this.ids.has(t));
  }

  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      const t = this.tokenOf(id);
      if (t.startsWith(GLUE) && t.length > GLUE.length) out += t.slice(GLUE.length);
      else out += out === '' ? t : ` ${t}`;
    }
    return out;
  }

  toJSON(): WordTokenizerJson {
    return { type: 'metacot-word', version: 1, glue: GLUE, special: { ...SPECIAL_TOKENS }, tokens: [...this.tokens] };
  }
}

/** Reads a tokenizer from its JSON form, whichever implementation wrote it. */
export function loadTokenizer(json: unknown): TextTokenizer {
  if (json === null || typeof json !== 'object') throw new TypeError(`loadTokenizer: expected a JSON object, got ${json === null ? 'null' : typeof json}`);
  const j = json as Record<string, unknown>;
  if (j.type === 'metacot-word') {
    if (j.version !== 1) throw new RangeError(`loadTokenizer: metacot-word version must be 1, got ${JSON.stringify(j.version)}`);
    if (j.glue !== GLUE) throw new RangeError(`loadTokenizer: metacot-word glue must be ${JSON.stringify(GLUE)}, got ${JSON.stringify(j.glue)}`);
    if (!Array.isArray(j.tokens) || !j.tokens.every((t) => typeof t === 'string')) {
      throw new TypeError('loadTokenizer: metacot-word "tokens" must be an array of strings');
    }
    const special = j.special as Record<string, unknown> | undefined;
    for (const [name, tok] of Object.entries(SPECIAL_TOKENS)) {
      if (special?.[name] !== tok) throw new RangeError(`loadTokenizer: special.${name} must be ${tok}, got ${JSON.stringify(special?.[name])}`);
    }
    return new WordTokenizer(j.tokens as string[]);
  }
  const model = j.model as Record<string, unknown> | undefined;
  if (model && typeof model.type === 'string') {
    // A Hugging Face tokenizer.json: the interface is ready for it, the BPE implementation is not written yet.
    throw new RangeError(`loadTokenizer: Hugging Face tokenizer.json (model.type ${model.type}) is not supported yet; expected type "metacot-word"`);
  }
  throw new RangeError(`loadTokenizer: unknown tokenizer type ${JSON.stringify(j.type)}; expected "metacot-word"`);
}

export async function readTokenizer(path: string): Promise<TextTokenizer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`readTokenizer: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return loadTokenizer(JSON.parse(text));
  } catch (err) {
    throw new Error(`readTokenizer: ${path}: ${(err as Error).message}`);
  }
}

/** Writes the tokenizer's JSON atomically (`metacot cot vocab`; checkpoints carry the same JSON in their header). */
export async function writeTokenizer(path: string, tok: TextTokenizer): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(tok.toJSON())}\n`);
}
