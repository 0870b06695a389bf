import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { crossEntropy, mseBackward, mseForward } from '../../src/ops/loss.js';
import { runCall } from '../../src/ops/registry.js';
import { Scope, expectClose, finiteDiff, forEachSimd, intTensor, poisoned, randArray, randInts, sampleIndices, tensor, withThreads } from '../helpers.js';
import { crossEntropyGradRef, crossEntropyRef, mseGradRef, mseRef } from '../ref/loss.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);

/** Runs crossEntropy, returning losses and dlogits, or the thrown error. */
function runCE(logits: ArrayLike<number>, targets: ArrayLike<number>, M: number, V: number, gradScale: number) {
  const losses = scope.track(poisoned([M]));
  const d = scope.track(poisoned([M, V]));
  crossEntropy(scope.track(tensor(logits, [M, V])), scope.track(intTensor(targets)), losses, d, gradScale);
  return { losses: losses.toFloat32Array(), dlogits: d.toFloat32Array() };
}

function caught(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('cross_entropy vs float64 reference', () => {
  // [M, V]: 1 row, 37 rows of 129 classes, a vocab-sized row set (V = 5003, not a multiple of 16)
  const CASES: [number, number][] = [
    [1, 129],
    [37, 129],
    [4, 5003],
    [3, 1],
  ];

  it('losses and dlogits, ignored rows, every SIMD path', () => {
    forEachSimd((level) => {
      for (const [M, V] of CASES) {
        const logits = randArray(M * V, 1, 8);
        const targets = randInts(M, 2, 0, V);
        if (M > 3) targets[2] = -1;
        targets[M - 1] = V - 1;
        const gs = 1 / M;
        const { losses, dlogits } = runCE(logits, targets, M, V, gs);
        expectClose(losses, crossEntropyRef(logits, targets, V), { atol: 1e-5, rtol: 1e-5, name: `${level} loss ${[M, V]}` });
        expectClose(dlogits, crossEntropyGradRef(logits, targets, V, gs), { atol: 1e-7, rtol: 1e-4, name: `${level} dlogits ${[M, V]}` });
        if (M > 3) {
          expect(losses[2]).toBe(0);
          expect(dlogits.subarray(2 * V, 3 * V).every((v) => v === 0)).toBe(true);
        }
      }
    });
  });

  it('dlogits vs finite differences of gradScale * sum(losses)', () => {
    forEachSimd((level) => {
      const [M, V] = [37, 129];
      const logits = randArray(M * V, 3, 4);
      const targets = randInts(M, 4, -1, V); // some -1
      const gs = 0.37;
      const { dlogits } = runCE(logits, targets, M, V, gs);
      const idx = sampleIndices(M * V, 24);
      for (let r = 0; r < M; r++) if (targets[r] >= 0) idx.push(r * V + targets[r]); // the onehot entries too
      const fd = finiteDiff((x) => gs * sum(crossEntropyRef(x, targets, V)), logits, idx);
      expectClose(idx.map((i) => dlogits[i]), fd, { atol: 1e-5, rtol: 1e-3, name: `${level} dlogits vs FD` });
    });
  });

  it('numerically stable: huge and tiny logits, a dominant class', () => {
    forEachSimd((level) => {
      const V = 1000;
      const base = randArray(3 * V, 5, 3);
      const logits = Float64Array.from(base);
      for (let i = 0; i < V; i++) logits[i] += 3e4; // row 0: all shifted by a large constant
      for (let i = V; i < 2 * V; i++) logits[i] -= 5e4; // row 1: all very negative
      logits[2 * V + 17] = 500; // row 2: one class dominates by far (others underflow to 0)
      const targets = [3, 999, 17];
      const lf = logits.map((v) => Math.fround(v));
      const { losses, dlogits } = runCE(lf, targets, 3, V, 1);
      expectClose(losses, crossEntropyRef(lf, targets, V), { atol: 2e-3, rtol: 1e-4, name: `${level} stable loss` });
      expectClose(dlogits, crossEntropyGradRef(lf, targets, V, 1), { atol: 1e-6, rtol: 1e-3, name: `${level} stable dlogits` });
    });
  });

  it('targets out of range: E_ARG naming the row, nothing written', () => {
    const logits = randArray(4 * 10, 6);
    const losses = scope.track(poisoned([4]));
    const d = scope.track(poisoned([4, 10]));
    const e = caught(() => crossEntropy(scope.track(tensor(logits, [4, 10])), scope.track(intTensor([1, 2, 10, 3])), losses, d));
    expect(e.code).toBe('E_ARG');
    expect(e.message).toBe("cross_entropy: argument 'targets' expected values in [-1, 10) (-1 = ignore), received 10 at row 2");
    expect(losses.toFloat32Array().every(Number.isNaN)).toBe(true);
    const e2 = caught(() => crossEntropy(scope.track(tensor(logits, [4, 10])), scope.track(intTensor([1, -2, 0, 3])), losses, d));
    expect(e2.message).toContain('received -2 at row 1');
  });

  it('non-finite logits: E_NAN naming the first bad row, every SIMD path; a NaN in an ignored row is fine', async () => {
    forEachSimd((level) => {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const [M, V] = [37, 129];
        const logits = randArray(M * V, 7);
        logits[5 * V + 128] = bad; // the tail element of row 5 (masked/scalar tail in SIMD paths)
        logits[30 * V + 3] = bad;
        const e = caught(() => runCE(logits, randInts(M, 8, 0, V), M, V, 1));
        expect(e.code, level).toBe('E_NAN');
        expect(e.message, level).toBe("cross_entropy: argument 'logits' has a non-finite value (NaN or Inf) in row 5");
      }
      const logits = randArray(2 * 20, 9);
      logits[25] = Number.NaN;
      const { losses } = runCE(logits, [3, -1], 2, 20, 1);
      expect(losses[1]).toBe(0);
    });
    const logits = randArray(2 * 20, 9);
    logits[3] = Number.NaN;
    await expect(
      crossEntropy.async(scope.track(tensor(logits, [2, 20])), scope.track(intTensor([1, 1])), scope.track(poisoned([2])), scope.track(poisoned([2, 20]))),
    ).rejects.toMatchObject({ code: 'E_NAN' });
  });

  it('shape and dtype errors name op, argument, expected and received', () => {
    const logits = scope.track(Tensor.zeros([4, 10]));
    const t = scope.track(intTensor([0, 1, 2, 3]));
    const l = scope.track(Tensor.zeros([4]));
    const d = scope.track(Tensor.zeros([4, 10]));
    expect(() => crossEntropy(logits, scope.track(Tensor.zeros([4])), l, d)).toThrow("cross_entropy: argument 'targets' expected dtype i32, received f32 [4]");
    expect(() => crossEntropy(logits, scope.track(intTensor([0, 1, 2])), l, d)).toThrow(
      "cross_entropy: argument 'targets' expected 4 elements (like the rows of 'logits'), received shape [3]",
    );
    expect(() => crossEntropy(logits, t, l, scope.track(Tensor.zeros([10, 4])))).toThrow(
      "cross_entropy: argument 'dlogits' expected shape [4, 10], received shape [10, 4]",
    );
    expect(() => crossEntropy(scope.track(Tensor.zeros([40])), t, l, d)).toThrow("cross_entropy: argument 'logits' expected a 2-D tensor, received shape [40]");
    expect(() => crossEntropy(logits, t, l, d, Number.POSITIVE_INFINITY)).toThrow("cross_entropy: argument 'gradScale' expected a finite number, received Infinity");
    expect(() => runCall('cross_entropy', { tensors: [logits, t, scope.track(Tensor.zeros([3])), d], floats: [1] })).toThrow(
      "cross_entropy: argument 'losses' expected 4 elements, received shape [3]",
    );
  });
});

describe('mse vs float64 reference', () => {
  const CASES: [number, number][] = [
    [1, 3],
    [37, 129],
    [64, 48], // tiny preset latent tokens (4x4x3 patches)
  ];

  it('forward and backward (analytic and finite differences) with a token mask, every SIMD path', () => {
    forEachSimd((level) => {
      for (const [N, C] of CASES) {
        const pred = randArray(N * C, 1, 2);
        const target = randArray(N * C, 2, 2);
        const mask = Float64Array.from({ length: N }, (_, i) => (N === 1 || i % 3 !== 0 ? 1 : 0));
        const tp = scope.track(tensor(pred, [N, C]));
        const tt = scope.track(tensor(target, [N, C]));
        const tm = scope.track(tensor(mask, [N]));
        const loss = scope.track(poisoned([1]));
        mseForward(tp, tt, tm, loss);
        expectClose(loss.toFloat32Array(), [mseRef(pred, target, mask, C)], { atol: 1e-6, rtol: 1e-5, name: `${level} mse ${[N, C]}` });
        const dpred = scope.track(poisoned([N, C]));
        mseBackward(tp, tt, tm, dpred, 0.5);
        const got = dpred.toFloat32Array();
        expectClose(got, mseGradRef(pred, target, mask, C, 0.5), { atol: 1e-7, rtol: 1e-4, name: `${level} dpred ${[N, C]}` });
        const idx = sampleIndices(N * C, 16);
        const fd = finiteDiff((p) => 0.5 * mseRef(p, target, mask, C), pred, idx);
        expectClose(idx.map((i) => got[i]), fd, { atol: 1e-6, rtol: 1e-4, name: `${level} dpred vs FD ${[N, C]}` });
      }
    });
  });

  it('all-zero mask: loss 0 and a zero gradient', () => {
    const pred = scope.track(tensor(randArray(37 * 129, 3), [37, 129]));
    const target = scope.track(tensor(randArray(37 * 129, 4), [37, 129]));
    const mask = scope.track(Tensor.zeros([37]));
    const loss = scope.track(poisoned([1]));
    mseForward(pred, target, mask, loss);
    expect(loss.toFloat32Array()[0]).toBe(0);
    const d = scope.track(poisoned([37, 129]));
    mseBackward(pred, target, mask, d);
    expect(d.toFloat32Array().every((v) => v === 0)).toBe(true);
  });

  it('forward loss is bitwise identical for 1 and all threads', () => {
    const [N, C] = [3000, 48];
    const pred = scope.track(tensor(randArray(N * C, 5), [N, C]));
    const target = scope.track(tensor(randArray(N * C, 6), [N, C]));
    const mask = scope.track(tensor(Float64Array.from({ length: N }, (_, i) => i % 5), [N]));
    const vals = [1, 2, 1].map((th) =>
      withThreads(th, () => {
        const l = scope.track(poisoned([1]));
        mseForward(pred, target, mask, l);
        return l.toFloat32Array()[0];
      }),
    );
    expect(new Set(vals).size).toBe(1);
  });

  it('errors name op, argument, expected and received', () => {
    const p = scope.track(Tensor.zeros([37, 129]));
    const m = scope.track(Tensor.zeros([37]));
    expect(() => mseForward(p, scope.track(Tensor.zeros([37, 128])), m, scope.track(Tensor.zeros([1])))).toThrow(
      "mse_forward: argument 'target' expected shape [37, 129], received shape [37, 128]",
    );
    expect(() => mseForward(p, p, scope.track(Tensor.zeros([36])), scope.track(Tensor.zeros([1])))).toThrow(
      "mse_forward: argument 'mask' expected 37 elements (like the rows of 'pred'), received shape [36]",
    );
    expect(() => mseForward(p, p, m, scope.track(Tensor.zeros([2])))).toThrow("mse_forward: argument 'loss' expected 1 elements, received shape [2]");
    expect(() => mseBackward(p, p, scope.track(Tensor.zeros([37], { dtype: 'i32' })), p)).toThrow(
      "mse_backward: argument 'mask' expected dtype f32, received i32 [37]",
    );
    expect(() => runCall('mse_backward', { tensors: [p, p, m, scope.track(Tensor.zeros([3]))], floats: [1] })).toThrow(
      "mse_backward: argument 'dpred' expected 4773 elements, received shape [3]",
    );
  });
});
