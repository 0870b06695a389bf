import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { add, biasAdd, biasGrad, fill, randn, siluBackward, siluForward } from '../../src/ops/elementwise.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, poisoned, randArray, sampleIndices, tensor } from '../helpers.js';
import { biasAddRef, biasGradRef, siluGradRef, siluRef } from '../ref/elementwise.js';

const scope = new Scope();
afterEach(() => scope.dispose());

describe('elementwise ops vs float64 references', () => {
  it('fill and add (alpha, beta, in place), 1 and 129*37 elements', () => {
    for (const n of [1, 129 * 37, 100_003]) {
      const a = randArray(n, 1);
      const b = randArray(n, 2);
      const ta = scope.track(tensor(a, [n]));
      const tb = scope.track(tensor(b, [n]));
      const out = scope.track(poisoned([n]));
      add(ta, tb, out, 0.5, -2);
      expectClose(out.toFloat32Array(), a.map((v, i) => 0.5 * v - 2 * b[i]), { name: `add n=${n}` });
      add(ta, tb, ta); // in place
      expectClose(ta.toFloat32Array(), a.map((v, i) => v + b[i]), { name: 'add in place' });
      fill(out, 3.25);
      expect(out.toFloat32Array().every((v) => v === 3.25)).toBe(true);
    }
  });

  it('silu forward and backward (finite differences)', () => {
    forEachSimd(() => {
      const n = 129 * 37;
      const x = randArray(n, 3, 4);
      const dy = randArray(n, 4);
      const tx = scope.track(tensor(x, [37, 129]));
      const y = scope.track(poisoned([37, 129]));
      siluForward(tx, y);
      expectClose(y.toFloat32Array(), siluRef(x), { name: 'silu' });
      const dx = scope.track(poisoned([37, 129]));
      siluBackward(tx, scope.track(tensor(dy, [37, 129])), dx);
      const idx = sampleIndices(n, 20);
      const fd = finiteDiff((xx) => dot(siluRef(xx), dy), x, idx);
      const got = dx.toFloat32Array();
      expectClose(idx.map((i) => got[i]), fd, { atol: 1e-4, rtol: 1e-3, name: 'silu dx vs FD' });
      expectClose(got, siluGradRef(x, dy), { name: 'silu dx' });
      // accumulate adds onto what is there
      siluBackward(tx, scope.track(tensor(dy, [37, 129])), dx, true);
      expectClose(dx.toFloat32Array(), siluGradRef(x, dy).map((v) => 2 * v), { name: 'silu dx accumulate' });
    });
  });

  it('bias add and bias grad (finite differences), 1 row and 37x129', () => {
    for (const [N, D] of [
      [1, 129],
      [37, 129],
      [513, 64],
    ]) {
      const x = randArray(N * D, 5);
      const b = randArray(D, 6);
      const out = scope.track(poisoned([N, D]));
      biasAdd(scope.track(tensor(x, [N, D])), scope.track(tensor(b, [D])), out);
      expectClose(out.toFloat32Array(), biasAddRef(x, b), { name: 'bias_add' });
      const dy = randArray(N * D, 7);
      const db = scope.track(poisoned([D]));
      biasGrad(scope.track(tensor(dy, [N, D])), db);
      const fd = finiteDiff((bb) => dot(biasAddRef(x, bb), dy), b, sampleIndices(D, 10));
      const got = db.toFloat32Array();
      expectClose(sampleIndices(D, 10).map((i) => got[i]), fd, { atol: 1e-3, rtol: 1e-3, name: 'db vs FD' });
      expectClose(got, biasGradRef(dy, D), { atol: 1e-4, name: 'bias_grad' });
    }
  });

  it('randn: deterministic per (seed, stream, index), independent of length, moments ~N(0,1)', () => {
    const a = scope.track(poisoned([100_001]));
    const b = scope.track(poisoned([1000]));
    randn(a, 42, 7);
    randn(b, 42, 7);
    const av = a.toFloat32Array();
    const bv = b.toFloat32Array();
    expect(Array.from(bv)).toEqual(Array.from(av.subarray(0, 1000)));
    let m = 0;
    let v = 0;
    for (const x of av) m += x;
    m /= av.length;
    for (const x of av) v += (x - m) ** 2;
    v /= av.length;
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(Math.abs(v - 1)).toBeLessThan(0.02);
    const c = scope.track(poisoned([1000]));
    randn(c, 42, 8);
    expect(Array.from(c.toFloat32Array())).not.toEqual(Array.from(bv));
    randn(c, 42, 7, 3, 0.5);
    expectClose(c.toFloat32Array(), bv.map((z) => 3 + 0.5 * z), { name: 'randn mean/std' });
  });
});

describe('elementwise argument errors', () => {
  it('names the op, the argument, what was expected and what came', () => {
    const a = scope.track(Tensor.zeros([4, 3]));
    const b = scope.track(Tensor.zeros([5]));
    expect(() => add(a, b, a)).toThrow("add: argument 'b' expected 12 elements (like 'a'), received shape [5]");
    const i = scope.track(Tensor.zeros([12], { dtype: 'i32' }));
    expect(() => add(a, i, a)).toThrow("add: argument 'b' expected dtype f32, received i32 [12]");
    expect(() => fill(a, Number.NaN)).toThrow("fill: argument 'value' expected a finite number, received NaN");
    expect(() => randn(a, -1)).toThrow("randn: argument 'seed' expected an integer >= 0");
    expect(() => biasAdd(a, b, a)).toThrow(/bias_add: argument 'x'/);
  });
});
