import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { runCall } from '../../src/ops/registry.js';
import { ropeBackward, ropeForward } from '../../src/ops/rope.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, intTensor, poisoned, randArray, randInts, sampleIndices, tensor } from '../helpers.js';
import { ropeRef } from '../ref/rope.js';

const scope = new Scope();
afterEach(() => scope.dispose());

// [N, H, hd]: hd 64 and 128 (Qwen2.5 / BAGEL), 1 token, 37 tokens, a tiny hd 2 and an hd whose half (20)
// is not a multiple of any vector width
const SHAPES: [number, number, number][] = [
  [37, 3, 64],
  [1, 2, 128],
  [37, 2, 128],
  [5, 1, 2],
  [9, 2, 40],
];

/** positions like a packed sequence: runs of a shared (image) position, text advancing, a big one */
function positions(N: number, seed: number): Int32Array {
  const p = randInts(N, seed, 0, 4096);
  for (let i = 1; i < N; i += 4) p[i] = p[i - 1];
  p[N - 1] = 100_000;
  return p;
}

describe('rope vs float64 reference', () => {
  it('forward, every SIMD path, theta 1e6 and 1e4', () => {
    forEachSimd((level) => {
      for (const [N, H, hd] of SHAPES)
        for (const theta of [1e6, 1e4]) {
          const x = randArray(N * H * hd, 1, 2);
          const pos = positions(N, 2);
          const y = scope.track(poisoned([N, H, hd]));
          ropeForward(scope.track(tensor(x, [N, H, hd])), scope.track(intTensor(pos)), y, theta);
          expectClose(y.toFloat32Array(), ropeRef(x, pos, N, H, hd, theta), { atol: 2e-6, rtol: 1e-5, name: `${level} y ${[N, H, hd]} theta ${theta}` });
        }
    });
  });

  it('large positions (1e5 .. 2^31-1) stay accurate: angles are not computed in float32', () => {
    const N = 6;
    const pos = Int32Array.from([100_000, 131_071, 1_000_000, 77_777_777, 2_147_483_647, 0]);
    const x = randArray(N * 4 * 128, 3);
    const y = scope.track(poisoned([N, 4, 128]));
    ropeForward(scope.track(tensor(x, [N, 4, 128])), scope.track(intTensor(pos)), y, 1e6);
    // float32 angles at pos 1e5 are off by up to ~6e-3 rad (1e5 * 2^-24); double angles keep float rounding
    expectClose(y.toFloat32Array(), ropeRef(x, pos, N, 4, 128, 1e6), { atol: 2e-6, rtol: 1e-5, name: 'large positions' });
  });

  it('the vectorised sincos of the SIMD paths matches libm (scalar path) to float rounding over all quadrants', () => {
    // x = [1, .., 1 | 0, .., 0] per head: y = [cos | sin] of every angle, read straight out
    const N = 2048;
    const hd = 128;
    const pos = randInts(N, 11, -2_000_000_000, 2_000_000_000);
    pos.set([0, 1, 2, 3, -1, 100_000, 2_147_483_647, -2_147_483_648], 0);
    const x = new Float64Array(N * hd);
    for (let n = 0; n < N; n++) x.fill(1, n * hd, n * hd + hd / 2);
    const outs: Float32Array[] = [];
    forEachSimd(() => {
      const y = scope.track(poisoned([N, 1, hd]));
      ropeForward(scope.track(tensor(x, [N, 1, hd])), scope.track(intTensor(pos)), y, 1e6);
      outs.push(y.toFloat32Array());
    });
    for (let k = 1; k < outs.length; k++) expectClose(outs[k], outs[0], { atol: 1.2e-7, rtol: 0, name: `simd level ${k} vs scalar` });
    expectClose(outs[0], ropeRef(x, pos, N, 1, hd, 1e6), { atol: 1e-6, rtol: 0, name: 'scalar vs reference' });
  });

  it('in place (y = x) and backward is the exact inverse', () => {
    const [N, H, hd] = [37, 4, 64];
    const x = randArray(N * H * hd, 4);
    const pos = positions(N, 5);
    const t = scope.track(tensor(x, [N, H, hd]));
    const p = scope.track(intTensor(pos));
    ropeForward(t, p, t, 1e6);
    expectClose(t.toFloat32Array(), ropeRef(x, pos, N, H, hd, 1e6), { atol: 2e-6, name: 'in place' });
    ropeBackward(t, p, t, 1e6);
    expectClose(t.toFloat32Array(), x, { atol: 2e-6, name: 'inverse' });
  });

  it('backward vs finite differences of the reference, every SIMD path', () => {
    forEachSimd((level) => {
      for (const [N, H, hd] of SHAPES) {
        const n = N * H * hd;
        const x = randArray(n, 6);
        const dy = randArray(n, 7);
        const pos = positions(N, 8);
        const dx = scope.track(poisoned([N, H, hd]));
        ropeBackward(scope.track(tensor(dy, [N, H, hd])), scope.track(intTensor(pos)), dx, 1e4);
        const got = dx.toFloat32Array();
        expectClose(got, ropeRef(dy, pos, N, H, hd, 1e4, true), { atol: 2e-6, name: `${level} dx ${[N, H, hd]}` });
        const idx = sampleIndices(n, 16);
        const fd = finiteDiff((xx) => dot(ropeRef(xx, pos, N, H, hd, 1e4), dy), x, idx);
        expectClose(idx.map((i) => got[i]), fd, { atol: 1e-5, rtol: 1e-4, name: `${level} dx vs FD ${[N, H, hd]}` });
      }
    });
  });

  it('async twin', async () => {
    const x = randArray(37 * 2 * 64, 9);
    const pos = positions(37, 10);
    const y = scope.track(poisoned([37, 2, 64]));
    await ropeForward.async(scope.track(tensor(x, [37, 2, 64])), scope.track(intTensor(pos)), y, 1e6);
    expectClose(y.toFloat32Array(), ropeRef(x, pos, 37, 2, 64, 1e6), { atol: 2e-6, name: 'async' });
  });
});

describe('rope argument errors', () => {
  it('names op, argument, expected and received', () => {
    const x = scope.track(Tensor.zeros([37, 2, 64]));
    const pos = scope.track(Tensor.zeros([37], { dtype: 'i32' }));
    expect(() => ropeForward(scope.track(Tensor.zeros([37, 128])), pos, x, 1e6)).toThrow(
      "rope_forward: argument 'x' expected a 3-D tensor, received shape [37, 128]",
    );
    const odd = scope.track(Tensor.zeros([37, 2, 63]));
    expect(() => ropeForward(odd, pos, odd, 1e6)).toThrow(
      "rope_forward: argument 'x' expected shape [N, H, head_dim] with an even head_dim, received shape [37, 2, 63]",
    );
    expect(() => ropeForward(x, scope.track(Tensor.zeros([37])), x, 1e6)).toThrow("rope_forward: argument 'pos' expected dtype i32, received f32 [37]");
    expect(() => ropeForward(x, scope.track(Tensor.zeros([36], { dtype: 'i32' })), x, 1e6)).toThrow(
      "rope_forward: argument 'pos' expected 37 elements (like the N of x), received shape [36]",
    );
    expect(() => ropeBackward(x, pos, scope.track(Tensor.zeros([37, 4, 32])), 1e6)).toThrow(
      "rope_backward: argument 'dx' expected shape [37, 2, 64], received shape [37, 4, 32]",
    );
    expect(() => ropeForward(x, pos, x, 0)).toThrow("rope_forward: argument 'theta' expected a finite number > 0, received 0");
  });

  it('the native adapter re-checks', () => {
    const x = scope.track(Tensor.zeros([4, 2, 6]));
    const pos = scope.track(Tensor.zeros([3], { dtype: 'i32' }));
    expect(() => runCall('rope_forward', { tensors: [x, pos, x], floats: [1e4] })).toThrow(
      "rope_forward: argument 'pos' expected 4 elements, received shape [3]",
    );
  });
});
