// The word-level vocabulary of the synthetic world: the CoT grammar's words (every value, number
// and keyword it can print), every category name of the composition tables, and the words of a
// sample of the world's instructions, CoTs and understanding questions and answers. Deterministic
// in its options, so a data set and a checkpoint agree on ids.

import { allCategoryNames } from '../cot/composition.js';
import { cotForEdit } from '../cot/build.js';
import { grammarWords } from '../cot/grammar.js';
import { CATEGORY_NAMES, type CategoryName, UNDERSTANDING_SKILLS } from '../world/categories.js';
import { hashSeed, Rng } from '../world/rng.js';
import { generateEdit } from '../world/sample.js';
import { generateQa } from '../world/understanding.js';
import { WordTokenizer } from './tokenizer.js';

export interface WorldVocabOptions {
  /** Seed of the sample of edits the corpus is drawn from (default 0). */
  seed?: number;
  /** Edits per category in the corpus (default 200). */
  perCategory?: number;
  /** Understanding questions per edit (default 4). */
  qaPerEdit?: number;
  categories?: readonly CategoryName[];
  /** Corpus pieces must occur this often to get an id (default 1). */
  minCount?: number;
}

/** The closed part of the vocabulary: grammar words, category names, understanding skills. */
export function closedWords(): string[] {
  return [...grammarWords(), ...allCategoryNames(), ...UNDERSTANDING_SKILLS];
}

/** The texts of the corpus: instruction, CoT of every variant, and questions and answers per edit. */
export function* worldCorpus(opts: WorldVocabOptions = {}): Generator<string> {
  const seed = opts.seed ?? 0;
  const per = opts.perCategory ?? 200;
  const qa = opts.qaPerEdit ?? 4;
  for (const category of opts.categories ?? CATEGORY_NAMES) {
    for (let i = 0; i < per; i++) {
      const s = hashSeed('vocab', seed, category, i);
      const { edit } = generateEdit(category, s);
      yield edit.instruction;
      for (const v of ['think', 'triplet', 'meta'] as const) yield cotForEdit(edit, v);
      for (const q of generateQa(edit.source, new Rng(hashSeed(s, 'qa')), qa)) {
        yield q.question;
        yield q.answer;
      }
    }
  }
}

// Building the corpus generates thousands of edits (seconds); the tokenizer is immutable and a pure
// function of its options, so each process builds it once per options.
const built = new Map<string, WordTokenizer>();

export function buildWorldTokenizer(opts: WorldVocabOptions = {}): WordTokenizer {
  const key = JSON.stringify([opts.seed ?? 0, opts.perCategory ?? 200, opts.qaPerEdit ?? 4, opts.categories ?? null, opts.minCount ?? 1]);
  let tok = built.get(key);
  if (!tok) {
    tok = WordTokenizer.fromCorpus(worldCorpus(opts), closedWords(), opts.minCount ?? 1);
    built.set(key, tok);
  }
  return tok;
}
