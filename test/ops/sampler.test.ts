import { afterEach, describe, expect, it } from 'vitest';

import { cfgCombine } from '../../src/ops/sampler.js';
import { Scope, expectClose, poisoned, randArray, tensor } from '../helpers.js';
import { cfgCombineRef } from '../ref/sampler.js';

const scope = new Scope();
afterEach(() => scope.dispose());

describe('cfg_combine vs float64 reference', () => {
  for (const renorm of ['global', 'channel', 'text_channel'] as const)
    for (const [T, C] of [
      [1, 48],
      [37, 129],
      [64, 48],
    ])
      it(`${renorm}, ${T}x${C}, scales (4, 2) and (1.5, 1) with renorm floors 0 and 0.5`, () => {
        for (const [sT, sI, rmin] of [
          [4, 2, 0],
          [1.5, 1, 0.5],
        ]) {
          const v = randArray(T * C, 1, 1);
          const vt = randArray(T * C, 2, 1);
          const vi = randArray(T * C, 3, 1);
          const out = scope.track(poisoned([T, C]));
          cfgCombine(scope.track(tensor(v, [T, C])), scope.track(tensor(vt, [T, C])), scope.track(tensor(vi, [T, C])), out, sT, sI, renorm, rmin);
          expectClose(out.toFloat32Array(), cfgCombineRef(v, vt, vi, C, sT, sI, renorm, rmin), { atol: 2e-5, rtol: 1e-4, name: renorm });
        }
      });

  it('renorm never lets the guided velocity exceed the conditional one in norm (scale <= 1)', () => {
    const T = 16;
    const C = 48;
    const v = randArray(T * C, 4, 0.1);
    const out = scope.track(poisoned([T, C]));
    cfgCombine(scope.track(tensor(v, [T, C])), scope.track(tensor(randArray(T * C, 5, 3), [T, C])), scope.track(tensor(randArray(T * C, 6, 3), [T, C])), out, 4, 2, 'global', 0);
    const o = out.toFloat32Array();
    const n = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));
    expect(n(o)).toBeLessThanOrEqual(n(v) * (1 + 1e-5));
  });

  it('argument errors', () => {
    const a = scope.track(tensor(randArray(48, 1), [1, 48]));
    const b = scope.track(tensor(randArray(47, 1), [47]));
    expect(() => cfgCombine(a, b, a, a, 4, 2, 'global', 0)).toThrow("cfg_combine: argument 'vNoText' expected 48 elements (like 'v'), received shape [47]");
    expect(() => cfgCombine(a, a, a, a, 4, 2, 'bogus' as never, 0)).toThrow("cfg_combine: argument 'renorm' expected 'global' | 'channel' | 'text_channel', received 'bogus'");
    expect(() => cfgCombine(a, a, a, a, 4, 2, 'global', 2)).toThrow("cfg_combine: argument 'renormMin' expected a finite number >= 0 <= 1, received 2");
  });
});
