// Before / after comparison with paired, stratified bootstrap intervals (src/eval/compare.ts).
import { describe, expect, it } from 'vitest';

import type { BenchResult, BenchRow } from '../../src/eval/benchmark.js';
import { compareRuns } from '../../src/eval/compare.js';
import { Rng } from '../../src/world/rng.js';
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

describe('compareRuns: the bootstrap itself', () => {
  it('one resample is enough to run', () => {
    const a = result([{ category: 'a', seed: 1, v: [1, 2, 3, 4, 5] }, { category: 'a', seed: 2, v: [3, 2, 3, 4, 7] }]);
    const c = compareRuns(a, a, { resamples: 1 });
    expect(c.resamples).toBe(1);
    expect(c.categories.a.con.before).toEqual({ mean: 2, lo: 2, hi: 2 });
  });

  it('the interval is the nearest-rank 2.5% / 97.5% percentile of the resampled means (index round(q (B - 1)))', () => {
    // one category of n pairs: a resample draws n pair indices from Rng(seed), in order
    const n = 7;
    const xs = [0.3, 2, 5, 1.1, 9, 4, 6.5];
    const before = result(xs.map((x, i) => ({ category: 'a', seed: i, v: [x, 0, 0, 0, 0] })));
    for (const B of [20, 40, 301]) {
      const rng = new Rng(11);
      const stats = Array.from({ length: B }, () => {
        let s = 0;
        for (let k = 0; k < n; k++) s += xs[Math.floor(rng.next() * n)];
        return s / n;
      }).sort((p, q) => p - q);
      const c = compareRuns(before, before, { resamples: B, seed: 11 });
      const iv = c.categories.a.ins.before;
      expect(iv.lo, `B=${B} lo`).toBeCloseTo(stats[Math.round(0.025 * (B - 1))], 12);
      expect(iv.hi, `B=${B} hi`).toBeCloseTo(stats[Math.round(0.975 * (B - 1))], 12);
      // one category: the benchmark is that category, resample by resample
      expect(c.stratified).toBe(true);
      expect(c.benchmark.ins).toEqual(c.categories.a.ins);
    }
  });

  it('stratified: the benchmark interval is over the mean of the category means of each resample', () => {
    const rows = (d: number) => [
      ...[1, 4, 2].map((x, i) => ({ category: 'p', seed: i, v: [x + d * i, 0, 0, 0, 0] })),
      ...[7, 3].map((x, i) => ({ category: 'q', seed: i, v: [x, 0, 0, 0, 0] })),
    ];
    const c = compareRuns(result(rows(0)), result(rows(1)), { resamples: 400, seed: 2 });
    expect(c.stratified).toBe(true);
    for (const side of ['before', 'after', 'diff'] as const) {
      const iv = c.benchmark.ins[side];
      expect(Number.isFinite(iv.lo) && Number.isFinite(iv.hi), side).toBe(true);
      expect(iv.lo).toBeLessThanOrEqual(iv.mean);
      expect(iv.hi).toBeGreaterThanOrEqual(iv.mean);
    }
    // q did not change, p's diff is in [0, 2]: the benchmark diff (mean of the two) is in [0, 1], not a point
    expect(c.benchmark.ins.diff.mean).toBeCloseTo((1 + 0) / 2, 12);
    expect(c.benchmark.ins.diff.lo).toBeGreaterThanOrEqual(0);
    expect(c.benchmark.ins.diff.hi).toBeLessThanOrEqual(1);
    expect(c.benchmark.ins.diff.hi).toBeGreaterThan(c.benchmark.ins.diff.lo);
  });

  it('a single one-pair category is enough to pool the benchmark resampling; each side resamples its own scores', () => {
    // category a has 3 pairs, b one: not stratified. Before is 1 everywhere, so its interval is the point 1
    const before = result([...[0, 1, 2].map((i) => ({ category: 'a', seed: i, v: [1, 0, 0, 0, 0] })), { category: 'b', seed: 0, v: [1, 0, 0, 0, 0] }]);
    const after = result([...[0, 1, 2].map((i) => ({ category: 'a', seed: i, v: [1 + 2 * i, 0, 0, 0, 0] })), { category: 'b', seed: 0, v: [3, 0, 0, 0, 0] }]);
    const c = compareRuns(before, after, { resamples: 300, seed: 4 });
    expect(c.stratified).toBe(false);
    expect(c.benchmark.ins.before).toEqual({ mean: 1, lo: 1, hi: 1 });
    expect(c.benchmark.ins.diff.hi).toBeGreaterThan(c.benchmark.ins.diff.lo);
    expect(c.benchmark.ins.after.lo).toBeGreaterThanOrEqual(1);
    expect(c.benchmark.ins.after.hi).toBeLessThanOrEqual(5);
    expect(c.benchmark.ins.after.hi - c.benchmark.ins.diff.hi).toBeCloseTo(1, 12);
  });
});
