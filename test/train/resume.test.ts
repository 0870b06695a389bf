// What a resume compares: the first differing path of two JSON values, and the refusal that names it.
import { describe, expect, it } from 'vitest';

import { RESUMABLE_CHANGES, checkResumable, firstDifference } from '../../src/train/resume.js';

describe('firstDifference', () => {
  it('null for equal values (key order aside), else the path of the first difference in key order', () => {
    expect(firstDifference({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeNull();
    expect(firstDifference(Number.NaN, Number.NaN)).toBeNull();
    expect(firstDifference({ a: 1, b: 2 }, { a: 1, b: 3 })).toBe('b');
    expect(firstDifference({ z: 1, a: { y: 1, x: 2 } }, { z: 2, a: { y: 1, x: 3 } })).toBe('a.x');
    expect(firstDifference({ a: [1, 2, 3] }, { a: [1, 5, 3] })).toBe('a.1');
    expect(firstDifference({ a: 1 }, { a: 1, b: undefined })).toBeNull();
    expect(firstDifference({ a: 1 }, { a: 1, b: 0 })).toBe('b');
    expect(firstDifference({ a: [] }, { a: {} })).toBe('a');
    expect(firstDifference({ a: null }, { a: {} })).toBe('a');
    expect(firstDifference({ a: {} }, { a: null })).toBe('a');
    expect(firstDifference(1, 2)).toBe('');
    expect(firstDifference(null, {})).toBe('');
  });
});

describe('checkResumable', () => {
  const saved = { seed: 1, data: { variant: 'meta' }, sft: { steps: 10, logEvery: 1, checkpointEvery: 5, lr: 0.1, opt: { beta1: 0.9 } } };
  it('accepts the same state, and changes to steps, logEvery and checkpointEvery only', () => {
    expect(RESUMABLE_CHANGES).toEqual(['steps', 'checkpointEvery', 'logEvery']);
    expect(() => checkResumable('ck', saved, { ...saved, sft: { ...saved.sft, steps: 99, logEvery: 7, checkpointEvery: 3 } }, 'sft')).not.toThrow();
    // undefined fields are what the checkpoint would not store
    expect(() => checkResumable('ck', saved, { ...saved, extra: undefined }, 'sft')).not.toThrow();
  });

  it('refuses any other difference, naming the field and both values', () => {
    expect(() => checkResumable('ck.st', saved, { ...saved, sft: { ...saved.sft, lr: 0.2 } }, 'sft')).toThrow(
      "--resume: checkpoint 'ck.st' was written by a run with sft.lr = 0.1, this run has 0.2; resuming would not continue that run (start a new one in another --out)",
    );
    expect(() => checkResumable('ck', saved, { ...saved, sft: { ...saved.sft, opt: { beta1: 0.8 } } }, 'sft')).toThrow(/sft\.opt\.beta1 = 0\.9, this run has 0\.8/);
    expect(() => checkResumable('ck', saved, { ...saved, seed: 2 }, 'sft')).toThrow(/with seed = 1, this run has 2/);
    expect(() => checkResumable('ck', saved, { ...saved, data: { variant: 'none' } }, 'sft')).toThrow(/data\.variant = "meta", this run has "none"/);
    expect(() => checkResumable('ck', saved, { seed: 1, data: { variant: 'meta' }, sft: saved.sft, more: 1 }, 'sft')).toThrow(/with more = \(absent\), this run has 1/);
    expect(() => checkResumable('ck', { ...saved, sft: 5 }, saved, 'sft')).toThrow(/with sft = 5, this run has \{/);
    expect(() => checkResumable('ck', null, saved, 'sft')).toThrow(/with state = null, this run has \{"seed":1/);
  });
});

describe('checkResumable: saved states that are not objects', () => {
  const saved = { seed: 1, data: { variant: 'meta' }, sft: { steps: 10, logEvery: 1, checkpointEvery: 5, lr: 0.1 } };
  it('a null trainer state is named as that field; a non-object saved state as the whole state', () => {
    expect(() => checkResumable('ck', { ...saved, sft: null }, saved, 'sft')).toThrow(
      "--resume: checkpoint 'ck' was written by a run with sft = null, this run has {\"lr\":0.1}; resuming would not continue that run (start a new one in another --out)",
    );
    expect(() => checkResumable('ck', 5, saved, 'sft')).toThrow(/^--resume: checkpoint 'ck' was written by a run with state = 5, this run has \{"seed":1,/);
    expect(() => checkResumable('ck', 'meta', saved, 'sft')).toThrow(/with state = "meta", this run has \{"seed":1,/);
  });
});
