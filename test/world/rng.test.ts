import { describe, expect, it } from 'vitest';
import { hashSeed, Rng } from '../../src/world/rng.js';

describe('Rng', () => {
  it('repeats exactly for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.next());
    const xb = Array.from({ length: 100 }, () => b.next());
    const xc = Array.from({ length: 100 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('gives uniform floats in [0, 1) and integers over the whole inclusive range', () => {
    const r = new Rng(7);
    const counts = new Array(6).fill(0);
    let sum = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 60_000; i++) {
      const x = r.next();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      sum += x;
      counts[r.int(0, 5)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(sum / 60_000).toBeCloseTo(0.5, 2);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('draws gaussians with mean 0 and variance 1', () => {
    const r = new Rng(3);
    const xs = Array.from({ length: 50_000 }, () => r.gaussian());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(v - 1)).toBeLessThan(0.03);
  });

  it('forks streams that do not depend on later draws of the parent', () => {
    const a = new Rng(5);
    const fa = a.fork('scene');
    const b = new Rng(5);
    const fb = b.fork('scene');
    b.next();
    expect(fa.next()).toBe(fb.next());
    expect(new Rng(5).fork('scene').next()).not.toBe(new Rng(5).fork('edit').next());
  });

  it('hashes part lists without collisions between different splits of the same text', () => {
    expect(hashSeed('ab', 'c')).not.toBe(hashSeed('a', 'bc'));
    expect(hashSeed(1, 'x')).not.toBe(hashSeed('1', 'x'));
    expect(hashSeed(1, 2, 3)).toBe(hashSeed(1, 2, 3));
    const seen = new Set(Array.from({ length: 10_000 }, (_, i) => hashSeed('s', i)));
    expect(seen.size).toBe(10_000);
  });

  it('samples without repeats, shuffles as a permutation, and rejects bad arguments by name', () => {
    const r = new Rng(9);
    const s = r.sample([1, 2, 3, 4, 5], 3);
    expect(new Set(s).size).toBe(3);
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(() => r.int(3, 1)).toThrow(/lo=3 hi=1/);
    expect(() => r.pick([])).toThrow(/non-empty/);
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
  });
});
