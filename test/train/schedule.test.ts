// The learning-rate schedule against its definition (src/train/schedule.ts), written here in another
// form: warmup is the straight line through (−1, 0) and (W − 1, lr); the cosine is
// minLr + (lr − minLr) cos²(π p / 2), which is the same curve as (1 + cos π p) / 2.
import { describe, expect, it } from 'vitest';

import { type ScheduleConfig, learningRate } from '../../src/train/schedule.js';

const lr = 1e-3;
const minLr = 1e-4;
const cosine = (W: number, T: number): ScheduleConfig => ({ lr, minLr, warmupSteps: W, totalSteps: T, kind: 'cosine' });
const cos2 = (p: number) => minLr + (lr - minLr) * Math.cos((Math.PI * p) / 2) ** 2;

describe('learning-rate schedule', () => {
  it('cosine with warmup: the first step, the end of warmup, the middle and the end in closed form', () => {
    const s = cosine(10, 110); // warmup steps 0..9, decay over steps 9..109 (100 intervals)
    expect(learningRate(s, 0)).toBeCloseTo(lr / 10, 15);
    expect(learningRate(s, 4)).toBeCloseTo((5 * lr) / 10, 15);
    expect(learningRate(s, 9)).toBeCloseTo(lr, 15);
    expect(learningRate(s, 10)).toBeCloseTo(cos2(1 / 100), 15);
    expect(learningRate(s, 34)).toBeCloseTo(cos2(25 / 100), 15);
    expect(learningRate(s, 59)).toBeCloseTo((lr + minLr) / 2, 15);
    expect(learningRate(s, 84)).toBeCloseTo(cos2(75 / 100), 15);
    expect(learningRate(s, 108)).toBeCloseTo(cos2(99 / 100), 15);
    // minLr exactly at the last update, and after it
    expect(learningRate(s, 109)).toBe(minLr);
    expect(learningRate(s, 200)).toBe(minLr);
  });

  it('cosine: rises through warmup, then never rises again, one value per step', () => {
    const s = cosine(7, 40);
    const v = Array.from({ length: 40 }, (_, i) => learningRate(s, i));
    for (let i = 1; i < 7; i++) expect(v[i]).toBeGreaterThan(v[i - 1]);
    for (let i = 7; i < 40; i++) expect(v[i]).toBeLessThan(v[i - 1]);
    expect(Math.max(...v)).toBe(lr);
  });

  it('cosine without warmup starts at the peak and ends at minLr', () => {
    const s = cosine(0, 21);
    expect(learningRate(s, 0)).toBe(lr);
    expect(learningRate(s, 10)).toBeCloseTo((lr + minLr) / 2, 15);
    expect(learningRate(s, 5)).toBeCloseTo(cos2(5 / 20), 15);
    expect(learningRate(s, 20)).toBe(minLr);
  });

  it('cosine with one warmup step: the decay starts at step 0', () => {
    const s = cosine(1, 11);
    expect(learningRate(s, 0)).toBe(lr);
    expect(learningRate(s, 1)).toBeCloseTo(cos2(1 / 10), 15);
    expect(learningRate(s, 10)).toBe(minLr);
  });

  it('a run that ends at the peak stays there (nothing after warmup to decay over)', () => {
    expect(learningRate(cosine(5, 5), 4)).toBe(lr);
    expect(learningRate(cosine(0, 1), 0)).toBe(lr);
  });

  it('constant: the warmup line, then lr at every step', () => {
    const s: ScheduleConfig = { ...cosine(4, 50), kind: 'constant' };
    expect([0, 1, 2, 3].map((i) => learningRate(s, i))).toEqual([lr / 4, lr / 2, (3 * lr) / 4, lr]);
    for (const i of [4, 5, 25, 49, 80]) expect(learningRate(s, i)).toBe(lr);
    expect(learningRate({ ...s, warmupSteps: 0 }, 0)).toBe(lr);
  });
});
