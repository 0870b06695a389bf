// Before / after comparison with paired, stratified bootstrap intervals (src/eval/compare.ts).
import { describe, expect, it } from 'vitest';

import type { BenchResult, BenchRow } from '../../src/eval/benchmark.js';
import { compareRuns } from '../../src/eval/compare.js';
import { rng } from '../helpers.js';

function result(rows: { category: string; seed: number; v: number[] }[]): BenchResult {
  return {
    summary: { categories: {}, benchmark: { ins: 0, con: 0, nat: 0, art: 0, overall: 0 } } as unknown as BenchResult['summary'],
    cotParseRate: null,
    seconds: 0,
    rows: rows.map((r) => ({ category: r.category, seed: r.seed, scores: { ins: r.v[0], con: r.v[1], nat: r.v[2], art: r.v[3], overall: r.v[4] } }) as unknown as BenchRow),
  };
}

describe('compareRuns', () => {
  it('point estimates: category means, the benchmark as the mean of category means, paired differences', () => {
    const before = result([
      { category: 'a', seed: 1, v: [1, 2, 3, 4, 5] },
      { category: 'a', seed: 2, v: [3, 2, 3, 4, 7] },
      { category: 'b', seed: 9, v: [6, 6, 6, 6, 6] },
    ]);
    // the after run lists its rows in another order: pairing is by (category, seed)
    const after = result([
      { category: 'b', seed: 9, v: [8, 6, 6, 6, 6] },
      { category: 'a', seed: 2, v: [4, 2, 3, 4, 7] },
      { category: 'a', seed: 1, v: [1, 2, 3, 4, 9] },
    ]);
    const c = compareRuns(before, after, { resamples: 300 });
    expect(c.n).toBe(3);
    expect(c.categories.a.ins.before.mean).toBe(2);
    expect(c.categories.a.ins.after.mean).toBe(2.5);
    expect(c.categories.a.ins.diff.mean).toBe(0.5);
    expect(c.categories.a.overall.diff.mean).toBe(2);
    expect(c.categories.b.ins.diff).toEqual({ mean: 2, lo: 2, hi: 2 });
    expect(c.benchmark.ins.before.mean).toBe((2 + 6) / 2);
    expect(c.benchmark.ins.diff.mean).toBe((0.5 + 2) / 2);
    // a pair that did not change has a zero-width interval; one that varies, a non-zero one inside its range
    expect(c.categories.a.con.diff).toEqual({ mean: 0, lo: 0, hi: 0 });
    expect(c.categories.a.ins.diff.lo).toBe(0);
    expect(c.categories.a.ins.diff.hi).toBe(1);
    expect(c.benchmark.overall.diff.lo).toBeGreaterThanOrEqual(0);
    expect(c.benchmark.overall.diff.hi).toBeLessThanOrEqual(4);
  });

  it('on many samples the interval of a mean is mean +- 1.96 sd / sqrt(n)', () => {
    const r = rng(3);
    const n = 400;
    const xs = Array.from({ length: n }, () => r() * 10);
    const before = result(xs.map((x, i) => ({ category: 'a', seed: i, v: [x, 0, 0, 0, 0] })));
    const after = result(xs.map((x, i) => ({ category: 'a', seed: i, v: [x + 1, 0, 0, 0, 0] })));
    const c = compareRuns(before, after, { resamples: 2000, seed: 5 });
    const m = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / n);
    const half = (1.96 * sd) / Math.sqrt(n);
    const iv = c.categories.a.ins.before;
    expect(iv.mean).toBeCloseTo(m, 10);
    expect((iv.hi - iv.lo) / (2 * half)).toBeGreaterThan(0.9);
    expect((iv.hi - iv.lo) / (2 * half)).toBeLessThan(1.1);
    expect(Math.abs((iv.hi + iv.lo) / 2 - m)).toBeLessThan(0.15 * half);
    // a constant shift: the paired difference is exactly 1, whatever the resample
    expect(c.categories.a.ins.diff.lo).toBeCloseTo(1, 10);
    expect(c.categories.a.ins.diff.hi).toBeCloseTo(1, 10);
  });

  it('one pair per category: the benchmark interval resamples all pairs together', () => {
    const rows = (d: number) => Array.from({ length: 20 }, (_, i) => ({ category: `c${i}`, seed: i, v: [i % 3 ? 1 + d * (i % 5) : 1, 0, 0, 0, 0] }));
    const c = compareRuns(result(rows(0)), result(rows(1)), { resamples: 500 });
    expect(c.stratified).toBe(false);
    expect(c.categories.c1.ins.diff).toEqual({ mean: 1, lo: 1, hi: 1 });
    const d = c.benchmark.ins.diff;
    expect(d.mean).toBeCloseTo(rows(1).reduce((a, r, i) => a + r.v[0] - rows(0)[i].v[0], 0) / 20, 10);
    expect(d.hi - d.lo).toBeGreaterThan(0.5);
    expect(d.lo).toBeLessThan(d.mean);
    expect(d.hi).toBeGreaterThan(d.mean);
    const two = (k: number) => result([...rows(k), ...rows(k).map((r) => ({ ...r, seed: r.seed + 100 }))]);
    expect(compareRuns(two(0), two(1), { resamples: 50 }).stratified).toBe(true);
  });

  it('refuses runs that do not share their eval seeds, and a bad resample count', () => {
    const a = result([{ category: 'a', seed: 1, v: [1, 1, 1, 1, 1] }]);
    const b = result([{ category: 'a', seed: 2, v: [1, 1, 1, 1, 1] }]);
    expect(() => compareRuns(a, b)).toThrow('compareRuns: the after run has no row for a seed 1 (the runs must share their eval seeds)');
    const c = result([{ category: 'a', seed: 1, v: [1, 1, 1, 1, 1] }, { category: 'a', seed: 2, v: [1, 1, 1, 1, 1] }]);
    expect(() => compareRuns(a, c)).toThrow('compareRuns: the runs have 1 and 2 rows');
    expect(() => compareRuns(a, a, { resamples: 0 })).toThrow("compareRuns: option 'resamples' expected a positive integer, received 0");
  });
});
