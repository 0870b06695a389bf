// Reading a VLM judge's answer: strict JSON {"score": [...], "reasoning": ...}; scores as the
// expectation over the score tokens' top log-probabilities where the endpoint returned them.
import { describe, expect, it } from 'vitest';

import type { TokenLogprobs } from '../../src/endpoint/client.js';
import { expectedScores, parseAnswer } from '../../src/judge/answer.js';

describe('parseAnswer', () => {
  it('reads a bare object, one in a code fence, and one with text around it', () => {
    expect(parseAnswer('{"score": [7, 3], "reasoning": "ok"}', 2)).toMatchObject({ ok: true, scores: [7, 3], reasoning: 'ok' });
    expect(parseAnswer('```json\n{"score": [10], "reasoning": "fine"}\n```', 1)).toMatchObject({ ok: true, scores: [10], reasoning: 'fine' });
    expect(parseAnswer('Here: {"score":[0,4.5]} done', 2)).toMatchObject({ ok: true, scores: [0, 4.5], reasoning: '' });
  });

  it('refuses everything else, with the reason', () => {
    const reason = (c: string, n = 2) => {
      const p = parseAnswer(c, n);
      expect(p.ok).toBe(false);
      return (p as { reason: string }).reason;
    };
    expect(reason('')).toBe('the answer was empty');
    expect(reason('   ')).toBe('the answer was empty');
    expect(reason('seven out of ten')).toBe('no JSON object in the answer');
    expect(reason('} {')).toBe('no JSON object in the answer');
    expect(reason('{"score": [7, 3,}')).toMatch(/^the JSON does not parse/);
    expect(reason('{"scores": [7, 3]}')).toBe('"score" is missing');
    expect(reason('{"score": 7}')).toBe('"score" is not a list');
    expect(reason('{"score": [7]}')).toBe('"score" has 1 entries, expected 2');
    expect(reason('{"score": [7, 11]}')).toBe('score 2 is 11, expected a number from 0 to 10');
    expect(reason('{"score": [-1, 3]}')).toBe('score 1 is -1, expected a number from 0 to 10');
    expect(reason('{"score": ["7", 3]}')).toBe('score 1 is "7", expected a number from 0 to 10');
    expect(reason('{"score": [null, 3]}')).toBe('score 1 is null, expected a number from 0 to 10');
  });

  it('records where each score is written', () => {
    const c = '{"score": [7, 10], "reasoning": "r"}';
    const p = parseAnswer(c, 2);
    if (!p.ok) throw new Error('unparsed');
    expect(p.offsets).toEqual([c.indexOf('7'), c.indexOf('10')]);
  });

  it('finds the score list however the JSON is spaced, and each number after it, decimals whole', () => {
    const offsets = (c: string, n: number) => {
      const p = parseAnswer(c, n);
      if (!p.ok) throw new Error(`unparsed: ${p.reason}`);
      return p.offsets;
    };
    // space before the colon, none after it; none at all
    expect(offsets('{"score" :[7]}', 1)).toEqual([11]);
    expect(offsets('{"score":[7]}', 1)).toEqual([10]);
    // a decimal is one number: the next offset is after all of its digits
    expect(offsets('{"score":[4.25,3]}', 2)).toEqual([10, 15]);
    expect(offsets('{"score":[4.5,3]}', 2)).toEqual([10, 14]);
    // digits before the list are not scores
    expect(offsets('v2 {"score": [7]}', 1)).toEqual([14]);
  });

  it('an answer whose score list cannot be located in the text still reads, with no offsets', () => {
    // the key written with a JSON escape: JSON.parse reads "score", the text has no "score": [
    const escaped = parseAnswer('{"\\u0073core":[7]}', 1);
    expect(escaped).toEqual({ ok: true, scores: [7], reasoning: '', offsets: [] });
    // a "score": [ after the object (outside it) with fewer numbers than scores: no offsets either
    expect(parseAnswer('{"\\u0073core":[7]} "score": [', 1)).toEqual({ ok: true, scores: [7], reasoning: '', offsets: [] });
    expect(parseAnswer('{"\\u0073core":[7,3]} "score": [1', 2)).toEqual({ ok: true, scores: [7, 3], reasoning: '', offsets: [] });
  });
});

/** Tokens of an answer: the given pieces in order, with top alternatives where given. */
function tokens(pieces: (string | [string, Record<string, number>])[]): TokenLogprobs[] {
  return pieces.map((p) =>
    typeof p === 'string'
      ? { token: p, logprob: 0, top: [] }
      : { token: p[0], logprob: Math.log(p[1][p[0]] ?? 1e-9), top: Object.entries(p[1]).map(([token, pr]) => ({ token, logprob: Math.log(pr) })) },
  );
}

describe('expectedScores', () => {
  it('is sum_k p(k) k / sum_k p(k) over the whole-number alternatives at each score', () => {
    const lp = tokens(['{"score": [', ['7', { '7': 0.5, '8': 0.3, '6': 0.1, x: 0.1 }], ', ', ['3', { '3': 0.6, '10': 0.4 }], '], "reasoning": "r"}']);
    const content = lp.map((t) => t.token).join('');
    const p = parseAnswer(content, 2);
    if (!p.ok) throw new Error('unparsed');
    const [a, b] = expectedScores(p, lp);
    expect(a).toBeCloseTo((0.5 * 7 + 0.3 * 8 + 0.1 * 6) / 0.9, 12);
    expect(b).toBeCloseTo(0.6 * 3 + 0.4 * 10, 12);
  });

  it('keeps the written value where there are no log-probabilities or the score is not one token', () => {
    const content = '{"score": [10, 3]}';
    const p = parseAnswer(content, 2);
    if (!p.ok) throw new Error('unparsed');
    expect(expectedScores(p, undefined)).toEqual([10, 3]);
    // "10" written as "1" + "0": the first token is not the score
    const split = tokens(['{"score": [', ['1', { '1': 0.9, '2': 0.1 }], '0', ', ', ['3', { '3': 0.5, '4': 0.5 }], ']}']);
    expect(expectedScores(p, split)).toEqual([10, 3.5]);
    // alternatives that are not scores count for nothing
    const none = tokens(['{"score": [', ['10', { '10': 0.5, a: 0.5 }], ', ', ['3', { b: 1 }], ']}']);
    expect(expectedScores(p, none)).toEqual([10, 3]);
  });

  it('keeps the written value where no token starts at the score', () => {
    // "7" shares a token with the text before it
    const lp = tokens(['{"score": [7', ']}']);
    const p = parseAnswer(lp.map((t) => t.token).join(''), 1);
    if (!p.ok) throw new Error('unparsed');
    expect(expectedScores(p, lp)).toEqual([7]);
  });

  it('reads whitespace-padded score tokens and alternatives as their numbers', () => {
    const read = (pieces: Parameters<typeof tokens>[0]) => {
      const lp = tokens(pieces);
      const p = parseAnswer(lp.map((t) => t.token).join(''), 1);
      if (!p.ok) throw new Error('unparsed');
      return expectedScores(p, lp);
    };
    // the score token carries a trailing space
    expect(read(['{"score": [', ['7 ', { '7': 0.5, '8': 0.5 }], ']}'])).toEqual([7.5]);
    // an alternative with a leading space is the number 8
    expect(read(['{"score": [', ['7', { '7': 0.5, ' 8': 0.5 }], ']}'])).toEqual([7.5]);
  });

  it('counts only alternatives that are exactly a whole number from 0 to 10', () => {
    const read = (alts: Record<string, number>) => {
      const lp = tokens(['{"score": [', ['7', alts], ']}']);
      const p = parseAnswer(lp.map((t) => t.token).join(''), 1);
      if (!p.ok) throw new Error('unparsed');
      return expectedScores(p, lp);
    };
    expect(read({ '7': 0.5, '17': 0.5 })).toEqual([7]);
    expect(read({ '7': 0.5, '11': 0.5 })).toEqual([7]);
    expect(read({ '7': 0.5, a7: 0.25, '7x': 0.25 })).toEqual([7]);
  });
});
