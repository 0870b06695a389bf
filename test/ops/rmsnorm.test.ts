import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { runCall } from '../../src/ops/registry.js';
import { rmsnormBackward, rmsnormForward } from '../../src/ops/rmsnorm.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, poisoned, randArray, sampleIndices, tensor, withThreads } from '../helpers.js';
import { rmsnormBackwardRef, rmsnormRef } from '../ref/rmsnorm.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const EPS = 1e-6;
// row norm (1 row, 37 rows, 129 channels, 896 = Qwen2.5-0.5B hidden) and per-head norm (hd 64 and 128)
const SHAPES: number[][] = [
  [1, 129],
  [37, 129],
  [3, 896],
  [37, 3, 64],
  [5, 2, 128],
  [1, 1, 1],
];

describe('rmsnorm vs float64 reference', () => {
  it('forward: y and rstd, every SIMD path, awkward shapes', () => {
    forEachSimd((level) => {
      for (const shape of SHAPES) {
        const D = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b, 1);
        const x = randArray(n, 1, 3);
        const w = randArray(D, 2, 2);
        const y = scope.track(poisoned(shape));
        const rstd = scope.track(poisoned([n / D]));
        rmsnormForward(scope.track(tensor(x, shape)), scope.track(tensor(w, [D])), y, rstd, EPS);
        const ref = rmsnormRef(x, w, EPS);
        expectClose(y.toFloat32Array(), ref.y, { name: `${level} y ${shape}` });
        expectClose(rstd.toFloat32Array(), ref.rstd, { name: `${level} rstd ${shape}` });
      }
    });
  });

  it('forward in place (y = x)', () => {
    const x = randArray(37 * 129, 3);
    const w = randArray(129, 4);
    const tx = scope.track(tensor(x, [37, 129]));
    rmsnormForward(tx, scope.track(tensor(w, [129])), tx, scope.track(poisoned([37])), EPS);
    expectClose(tx.toFloat32Array(), rmsnormRef(x, w, EPS).y, { name: 'in place' });
  });

  it('backward: dx and dw vs analytic reference and finite differences, every SIMD path', () => {
    forEachSimd((level) => {
      for (const shape of SHAPES) {
        const D = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b, 1);
        const x = randArray(n, 5, 2);
        const w = randArray(D, 6, 2);
        const dy = randArray(n, 7);
        const tx = scope.track(tensor(x, shape));
        const tw = scope.track(tensor(w, [D]));
        const rstd = scope.track(poisoned([n / D]));
        rmsnormForward(tx, tw, scope.track(poisoned(shape)), rstd, EPS);
        const dx = scope.track(poisoned(shape));
        const dw = scope.track(poisoned([D]));
        rmsnormBackward(tx, tw, rstd, scope.track(tensor(dy, shape)), dx, dw);
        const ref = rmsnormBackwardRef(x, w, dy, EPS);
        expectClose(dx.toFloat32Array(), ref.dx, { atol: 1e-4, name: `${level} dx ${shape}` });
        expectClose(dw.toFloat32Array(), ref.dw, { atol: 1e-4, name: `${level} dw ${shape}` });
        // finite differences of the float64 forward
        const ix = sampleIndices(n, 12);
        const fdx = finiteDiff((xx) => dot(rmsnormRef(xx, w, EPS).y, dy), x, ix);
        const gx = dx.toFloat32Array();
        expectClose(ix.map((i) => gx[i]), fdx, { atol: 1e-4, rtol: 1e-3, name: `${level} dx vs FD ${shape}` });
        const iw = sampleIndices(D, 8);
        const fdw = finiteDiff((ww) => dot(rmsnormRef(x, ww, EPS).y, dy), w, iw);
        const gw = dw.toFloat32Array();
        expectClose(iw.map((i) => gw[i]), fdw, { atol: 1e-4, rtol: 1e-3, name: `${level} dw vs FD ${shape}` });
      }
    });
  });

  it('backward accumulateDw adds onto dw; dw is bitwise identical for 1 and all threads', () => {
    const shape = [700, 3, 64]; // 2100 rows: many dw blocks
    const n = 700 * 3 * 64;
    const x = randArray(n, 8);
    const w = randArray(64, 9);
    const dy = randArray(n, 10);
    const tx = scope.track(tensor(x, shape));
    const tw = scope.track(tensor(w, [64]));
    const tdy = scope.track(tensor(dy, shape));
    const rstd = scope.track(poisoned([2100]));
    rmsnormForward(tx, tw, scope.track(poisoned(shape)), rstd, EPS);
    const dx = scope.track(poisoned(shape));
    const runs = [1, 2, 1].map((threads) =>
      withThreads(threads, () => {
        const dw = scope.track(poisoned([64]));
        rmsnormBackward(tx, tw, rstd, tdy, dx, dw);
        return Array.from(dw.toFloat32Array());
      }),
    );
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    const ref = rmsnormBackwardRef(x, w, dy, EPS);
    expectClose(runs[0], ref.dw, { atol: 1e-3, name: 'dw many rows' });
    const prior = randArray(64, 11);
    const dw = scope.track(tensor(prior, [64]));
    rmsnormBackward(tx, tw, rstd, tdy, dx, dw, true);
    expectClose(dw.toFloat32Array(), ref.dw.map((v, i) => v + prior[i]), { atol: 1e-3, name: 'dw accumulate' });
  });

  it('async twin gives the same result', async () => {
    const x = randArray(37 * 129, 12);
    const w = randArray(129, 13);
    const y = scope.track(poisoned([37, 129]));
    await rmsnormForward.async(scope.track(tensor(x, [37, 129])), scope.track(tensor(w, [129])), y, scope.track(poisoned([37])), EPS);
    expectClose(y.toFloat32Array(), rmsnormRef(x, w, EPS).y, { name: 'async y' });
  });
});

describe('rmsnorm argument errors', () => {
  it('names op, argument, expected and received', () => {
    const x = scope.track(Tensor.zeros([37, 129]));
    const w = scope.track(Tensor.zeros([129]));
    const w64 = scope.track(Tensor.zeros([64]));
    const y = scope.track(Tensor.zeros([37, 129]));
    const r = scope.track(Tensor.zeros([37]));
    expect(() => rmsnormForward(x, w64, y, r)).toThrow("rmsnorm_forward: argument 'x' expected a last dimension of 64 (like 'w'), received shape [37, 129]");
    expect(() => rmsnormForward(x, w, y, scope.track(Tensor.zeros([36])))).toThrow(
      "rmsnorm_forward: argument 'rstd' expected 37 elements (like the rows of x), received shape [36]",
    );
    expect(() => rmsnormForward(x, w, scope.track(Tensor.zeros([129, 37])), r)).toThrow(
      "rmsnorm_forward: argument 'y' expected shape [37, 129], received shape [129, 37]",
    );
    const xi = scope.track(Tensor.zeros([37, 129], { dtype: 'i32' }));
    expect(() => rmsnormForward(xi, w, y, r)).toThrow("rmsnorm_forward: argument 'x' expected dtype f32, received i32 [37, 129]");
    expect(() => rmsnormForward(x, w, y, r, Number.NaN)).toThrow("rmsnorm_forward: argument 'eps' expected a finite number >= 0, received NaN");
    expect(() => rmsnormBackward(x, w, r, y, y, w64)).toThrow("rmsnorm_backward: argument 'dw' expected shape [129], received shape [64]");
    expect(() => rmsnormBackward(x, w, r, y, y, w, 1 as never)).toThrow("rmsnorm_backward: argument 'accumulateDw' expected a boolean, received 1");
  });

  it('the native adapter re-checks (no crash when TypeScript is bypassed)', () => {
    const x = scope.track(Tensor.zeros([37, 129]));
    const w = scope.track(Tensor.zeros([64]));
    const y = scope.track(Tensor.zeros([37, 129]));
    const r = scope.track(Tensor.zeros([37]));
    let err: (Error & { code?: string }) | undefined;
    try {
      runCall('rmsnorm_forward', { tensors: [x, w, y, r], floats: [1e-6] });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('E_ARG');
    expect(err?.message).toContain("rmsnorm_forward: argument 'x' expected last dimension 64");
  });
});
