import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { runCall } from '../../src/ops/registry.js';
import { swigluBackward, swigluForward } from '../../src/ops/swiglu.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, poisoned, randArray, sampleIndices, tensor } from '../helpers.js';
import { swigluBackwardRef, swigluRef } from '../ref/swiglu.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const SHAPES: number[][] = [
  [1, 1],
  [1, 129],
  [37, 129],
  [3, 4864], // Qwen2.5-0.5B MLP width
];

describe('swiglu vs float64 reference', () => {
  it('forward and backward (analytic and finite differences), every SIMD path', () => {
    forEachSimd((level) => {
      for (const shape of SHAPES) {
        const n = shape[0] * shape[1];
        const g = randArray(n, 1, 6);
        const u = randArray(n, 2, 2);
        const dh = randArray(n, 3);
        const tg = scope.track(tensor(g, shape));
        const tu = scope.track(tensor(u, shape));
        const h = scope.track(poisoned(shape));
        swigluForward(tg, tu, h);
        expectClose(h.toFloat32Array(), swigluRef(g, u), { name: `${level} h ${shape}` });
        const dgate = scope.track(poisoned(shape));
        const dup = scope.track(poisoned(shape));
        swigluBackward(tg, tu, scope.track(tensor(dh, shape)), dgate, dup);
        const ref = swigluBackwardRef(g, u, dh);
        const gg = dgate.toFloat32Array();
        const gu = dup.toFloat32Array();
        expectClose(gg, ref.dgate, { name: `${level} dgate ${shape}` });
        expectClose(gu, ref.dup, { name: `${level} dup ${shape}` });
        const idx = sampleIndices(n, 12);
        const fdg = finiteDiff((gx) => dot(swigluRef(gx, u), dh), g, idx);
        const fdu = finiteDiff((ux) => dot(swigluRef(g, ux), dh), u, idx);
        expectClose(idx.map((i) => gg[i]), fdg, { atol: 1e-4, rtol: 1e-3, name: `${level} dgate vs FD ${shape}` });
        expectClose(idx.map((i) => gu[i]), fdu, { atol: 1e-4, rtol: 1e-3, name: `${level} dup vs FD ${shape}` });
      }
    });
  });

  it('extreme gates saturate cleanly (no NaN/Inf from exp), NaN gates propagate, every SIMD path', () => {
    const g = Float64Array.from([-1e4, -200, -90, -88, -20, 0, 20, 88, 90, 200, 1e4, 3e38, -3e38, 0.5, -0.5, 1e-30, 7]);
    const u = g.map((_, i) => (i % 3) - 1.25);
    const dh = g.map((_, i) => 0.5 + i / 10);
    const shape = [1, g.length];
    forEachSimd((level) => {
      const h = scope.track(poisoned(shape));
      swigluForward(scope.track(tensor(g, shape)), scope.track(tensor(u, shape)), h);
      expectClose(h.toFloat32Array(), swigluRef(g, u).map((v) => Math.fround(v)), { atol: 1e-6, rtol: 1e-5, name: `${level} extreme h` });
      const dgate = scope.track(poisoned(shape));
      const dup = scope.track(poisoned(shape));
      swigluBackward(scope.track(tensor(g, shape)), scope.track(tensor(u, shape)), scope.track(tensor(dh, shape)), dgate, dup);
      // references rounded to float32 (an overflow to Inf is then expected); the float64 dgate itself
      // is NaN at |g| = 3e38 (Inf * 0), so those two entries are left out
      const ref = swigluBackwardRef(g, u, dh);
      const keep = [...ref.dgate.keys()].filter((i) => !Number.isNaN(ref.dgate[i]));
      const got = dgate.toFloat32Array();
      expectClose(keep.map((i) => got[i]), keep.map((i) => Math.fround(ref.dgate[i])), { atol: 1e-6, rtol: 1e-5, name: `${level} extreme dgate` });
      expectClose(dup.toFloat32Array(), ref.dup.map((v) => Math.fround(v)), { atol: 1e-6, rtol: 1e-5, name: `${level} extreme dup` });
      const nanG = scope.track(tensor([1, Number.NaN, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, Number.NaN], [1, 17]));
      const h2 = scope.track(poisoned([1, 17]));
      swigluForward(nanG, scope.track(tensor(new Array(17).fill(1), [1, 17])), h2);
      const hv = h2.toFloat32Array();
      expect([Number.isNaN(hv[1]), Number.isNaN(hv[16]), Number.isFinite(hv[0])], `${level} NaN propagation`).toEqual([true, true, true]);
    });
  });
});

describe('swiglu argument errors', () => {
  it('names op, argument, expected and received', () => {
    const a = scope.track(Tensor.zeros([37, 129]));
    const b = scope.track(Tensor.zeros([37, 128]));
    expect(() => swigluForward(a, b, a)).toThrow("swiglu_forward: argument 'up' expected shape [37, 129], received shape [37, 128]");
    expect(() => swigluForward(a, a, scope.track(Tensor.zeros([37, 129], { dtype: 'i32' })))).toThrow(
      "swiglu_forward: argument 'h' expected dtype f32, received i32 [37, 129]",
    );
    expect(() => swigluBackward(a, a, a, a, b)).toThrow("swiglu_backward: argument 'dup' expected shape [37, 129], received shape [37, 128]");
    expect(() => runCall('swiglu_forward', { tensors: [a, b, a] })).toThrow("swiglu_forward: argument 'up' expected 4773 elements, received shape [37, 128]");
  });
});
