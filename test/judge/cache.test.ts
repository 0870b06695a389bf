// The answer cache: keyed by a hash of the request's parts, appended as answers come, a torn last
// line skipped, reread by a new process.
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AnswerCache, cacheKey, sha256 } from '../../src/judge/cache.js';

describe('AnswerCache', () => {
  it('keys are the sha256 of the parts in order', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(cacheKey(['m', 'p1', 'text', 'h1'])).toBe(sha256(JSON.stringify(['m', 'p1', 'text', 'h1'])));
    expect(cacheKey(['a', 'b'])).not.toBe(cacheKey(['b', 'a']));
  });

  it('puts, gets, counts, and survives a new reader with a torn last line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'metacot-cache-')), 'sub', 'c.jsonl');
    const c = new AnswerCache(file);
    expect(c.size).toBe(0);
    expect(c.get('k1')).toBeUndefined();
    expect(c.hits).toBe(0);
    await c.put('k1', { content: '{"score": [1]}' });
    await c.put('k2', { content: '{"score": [2]}', logprobs: [{ token: '2', logprob: -0.1, top: [] }] });
    expect(c.writes).toBe(2);
    expect(c.get('k1')).toEqual({ content: '{"score": [1]}' });
    expect(c.hits).toBe(1);
    appendFileSync(file, '{"key": "k3", "content": "{\\"sco');
    appendFileSync(file, '\n{"key": 5, "content": "x"}\n\n');
    const d = new AnswerCache(file);
    expect(d.size).toBe(2);
    expect(d.get('k2')).toEqual({ content: '{"score": [2]}', logprobs: [{ token: '2', logprob: -0.1, top: [] }] });
    expect(d.get('k3')).toBeUndefined();
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('{"key":"k1","content":"{\\"score\\": [1]}"}');
  });

  it('skips a line whose content is not a string: only whole answers are loaded', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'metacot-cache-')), 'c.jsonl');
    appendFileSync(file, '{"key":"k4"}\n{"key":"k5","content":7}\n{"key":"k6","content":"{}"}\n');
    const c = new AnswerCache(file);
    expect(c.get('k4')).toBeUndefined();
    expect(c.get('k5')).toBeUndefined();
    expect(c.get('k6')).toEqual({ content: '{}' });
    expect(c.size).toBe(1);
  });
});
