// The word-level tokenizer: exact round trips on the world's texts (CoTs, instructions, questions),
// glued punctuation, character fallback, unknown words, the special tokens, a deterministic
// vocabulary, and the JSON form saved with checkpoints.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cotForEdit } from '../../src/cot/build.js';
import { grammarWords } from '../../src/cot/grammar.js';
import {
  GLUE, loadTokenizer, readTokenizer, SPECIAL_TOKENS, WordTokenizer, wordTokens, writeTokenizer,
} from '../../src/data/tokenizer.js';
import { buildWorldTokenizer, worldCorpus } from '../../src/data/vocab.js';
import { CATEGORY_NAMES } from '../../src/world/categories.js';
import { hashSeed, Rng } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import { generateQa } from '../../src/world/understanding.js';

let tok: WordTokenizer;
let dir = '';

beforeAll(async () => {
  tok = buildWorldTokenizer({ perCategory: 30 });
  dir = await mkdtemp(join(tmpdir(), 'metacot-tok-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const norm = (s: string) => s.trim().split(/\s+/).join(' ');

describe('word-level tokenizer', () => {
  it('starts with the special tokens, then the grammar, in a fixed order', () => {
    expect(Object.values(SPECIAL_TOKENS).map((t) => tok.idOf(t))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tok.special).toEqual({ pad: 0, unk: 1, imStart: 2, imEnd: 3, visionStart: 4, visionEnd: 5 });
    expect(tok.tokenOf(6)).toBe(grammarWords()[0]);
    for (const w of grammarWords()) expect(tok.idOf(w), w).toBeDefined();
  });

  it('round-trips the world\'s texts on fresh edits exactly, CoTs as single words', () => {
    let checked = 0;
    let whole = 0;
    for (const category of CATEGORY_NAMES) {
      for (let i = 0; i < 8; i++) {
        const s = hashSeed('tokenizer-test', category, i);
        const { edit } = generateEdit(category, s);
        const texts = [edit.instruction, ...(['think', 'triplet', 'meta'] as const).map((v) => cotForEdit(edit, v))];
        for (const q of generateQa(edit.source, new Rng(s), 3)) texts.push(q.question, q.answer);
        for (const t of texts) {
          const ids = tok.encode(t);
          expect(tok.decode(ids), t).toBe(norm(t));
          expect(ids).not.toContain(tok.special.unk);
          checked++;
        }
        // a CoT whose words the vocabulary holds is one token per word (rare words of the world's
        // rules are spelled out instead, and still round-trip)
        const cot = cotForEdit(edit, 'meta');
        const words = cot.split(' ');
        if (words.every((w) => tok.idOf(w) !== undefined)) {
          expect(tok.encode(cot)).toHaveLength(words.length);
          whole++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(whole).toBeGreaterThan(0.95 * CATEGORY_NAMES.length * 8);
  });

  it('glues punctuation, falls back to characters, and marks what it cannot spell', () => {
    expect(wordTokens('Paint it red.', () => true)).toEqual(['Paint', 'it', 'red.']);
    expect(wordTokens('Paint it red.', (w) => !w.includes('.'))).toEqual(['Paint', 'it', 'red', `${GLUE}.`]);
    const ids = tok.encode('Paint the letter T yellow, then read "A7"!');
    expect(ids.map((i) => tok.tokenOf(i))).toEqual(['Paint', 'the', 'letter', 'T', 'yellow', '##,', 'then', 'read', '"', '##A', '##7', '##"', '##!']);
    expect(tok.decode(ids)).toBe('Paint the letter T yellow, then read "A7"!');
    // an unseen ASCII word is spelled out, not lost
    const zebra = tok.encode('zebra');
    expect(zebra.map((i) => tok.tokenOf(i))).toEqual(['z', '##e', '##b', '##r', '##a']);
    expect(tok.decode(zebra)).toBe('zebra');
    // outside ASCII there is no fallback
    expect(tok.encode('café')).toContain(tok.special.unk);
    expect(tok.unknown('café')).toEqual(['##é']);
    // special tokens are single ids inside text
    expect(tok.encode('<|im_start|> hi <|im_end|>')).toEqual([tok.special.imStart, ...tok.encode('hi'), tok.special.imEnd]);
  });

  it('builds the same vocabulary from the same corpus, a different one from another', () => {
    const a = buildWorldTokenizer({ perCategory: 5, seed: 3 });
    const b = buildWorldTokenizer({ perCategory: 5, seed: 3 });
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(buildWorldTokenizer({ perCategory: 5, seed: 4 }).toJSON().tokens).not.toEqual(a.toJSON().tokens);
    // after the specials, the given words and the 2 x 94 printable characters: corpus words, most frequent first
    const t = WordTokenizer.fromCorpus(['bb bb aa', 'cc bb aa dd'], ['zz']);
    expect(t.toJSON().tokens.slice(6)).toEqual(['zz', ...t.toJSON().tokens.slice(7, 7 + 188), 'bb', 'aa', 'cc', 'dd']);
  });

  it('saves to JSON atomically and loads back the same ids', async () => {
    const file = join(dir, 'tokenizer.json');
    await writeTokenizer(file, tok);
    const back = await readTokenizer(file);
    expect(back.size).toBe(tok.size);
    expect(back.special).toEqual(tok.special);
    const text = [...worldCorpus({ perCategory: 1, seed: 11 })].join(' ');
    expect(back.encode(text)).toEqual(tok.encode(text));
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ type: 'metacot-word', version: 1, glue: '##' });
  });

  it('refuses malformed JSON forms with a reason', () => {
    const good = tok.toJSON();
    expect(() => loadTokenizer(null)).toThrow(/expected a JSON object, got null/);
    expect(() => loadTokenizer({ ...good, version: 2 })).toThrow(/version must be 1, got 2/);
    expect(() => loadTokenizer({ ...good, tokens: good.tokens.filter((t) => t !== '<|im_end|>') })).toThrow(/special token <\|im_end\|>/);
    expect(() => loadTokenizer({ ...good, tokens: [...good.tokens, 'red'] })).toThrow(/token "red" appears twice/);
    expect(() => loadTokenizer({ ...good, special: { ...good.special, imStart: '<s>' } })).toThrow(/special.imStart must be <\|im_start\|>, got "<s>"/);
    expect(() => loadTokenizer({ model: { type: 'BPE' } })).toThrow(/tokenizer.json \(model.type BPE\) is not supported yet/);
    expect(() => tok.tokenOf(tok.size)).toThrow(/id must be an integer in 0\.\./);
  });
});
