// Agreement statistics against values worked out by hand.
import { describe, expect, it } from 'vitest';

import { mae, pearson, ranks, spearman } from '../../src/judge/stats.js';

const x = [1, 2, 3, 4, 5];
const y = [2, 4, 5, 4, 5];

describe('agreement statistics', () => {
  it('Pearson r: sum dx dy / sqrt(sum dx^2 sum dy^2) = 6 / sqrt(10 * 6)', () => {
    expect(pearson(x, y)).toBeCloseTo(6 / Math.sqrt(60), 14);
    expect(pearson(y, x)).toBeCloseTo(6 / Math.sqrt(60), 14);
    expect(pearson(x, x.map((v) => 3 - 2 * v))).toBeCloseTo(-1, 14);
    expect(pearson([0, 10], [3, 4])).toBeCloseTo(1, 14);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNaN();
  });

  it('ranks: 1-based, ties share their mean rank', () => {
    expect(ranks([2, 4, 5, 4, 5])).toEqual([1, 2.5, 4.5, 2.5, 4.5]);
    expect(ranks([30, 10, 20])).toEqual([3, 1, 2]);
    expect(ranks([7, 7, 7])).toEqual([2, 2, 2]);
    expect(ranks([1, 3, 3, 3, 0])).toEqual([2, 4, 4, 4, 1]);
  });

  it('Spearman rho: Pearson of the ranks = 7 / sqrt(10 * 9)', () => {
    expect(spearman(x, y)).toBeCloseTo(7 / Math.sqrt(90), 14);
    // monotone but not linear: rho 1, r below 1
    const cube = x.map((v) => v ** 3);
    expect(spearman(x, cube)).toBeCloseTo(1, 14);
    expect(pearson(x, cube)).toBeLessThan(0.99);
  });

  it('MAE: mean |x - y| = (1 + 2 + 2 + 0 + 0) / 5', () => {
    expect(mae(x, y)).toBe(1);
    expect(mae([0, 10], [10, 0])).toBe(10);
    expect(mae([2.5, 2.5], [2.5, 2.5])).toBe(0);
  });

  it('refuses lists of different lengths, fewer than 2 pairs, or values that are not finite', () => {
    expect(() => pearson([1, 2], [1])).toThrow(/pearson: expected two lists of the same length, received 2 and 1/);
    expect(() => spearman([1], [1])).toThrow(/spearman: expected at least 2 pairs, received 1/);
    expect(() => mae([1, Number.NaN], [1, 2])).toThrow(/mae: value 1 is NaN/);
    expect(() => mae([1, 2], [1, Infinity])).toThrow(/value 3 is Infinity/);
  });
});
