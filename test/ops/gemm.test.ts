import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { gemm, gemmGrouped } from '../../src/ops/gemm.js';
import {
  Scope,
  dot,
  expectClose,
  finiteDiff,
  forEachSimd,
  poisoned,
  randArray,
  sampleIndices,
  tensor,
  withThreads,
} from '../helpers.js';
import { gemmRef, linearRef } from '../ref/gemm.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

// [M, N, K]: 1s, primes, non-multiples of every micro-tile (AVX-512 6x64 / 8x48 / 14x32, AVX2 6x16,
// portable 4x16), min(M, N) <= 4 (the skinny path), small products (A read in place), and a larger
// one that packs A and B with K across the KC block (384), M across MC (288), N across NC (1024).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 129],
  [37, 1, 129],
  [37, 129, 1],
  [2, 3, 5],
  [15, 33, 17],
  [37, 65, 129],
  [129, 37, 257],
  [257, 129, 37],
  [13, 31, 600],
  [29, 1100, 7],
  [1030, 19, 9],
  [4, 300, 70],
  [300, 3, 70],
  [300, 200, 400],
];

const tol = (K: number) => ({ atol: 2e-6 * K + 1e-6, rtol: 1e-4 });

function runCase(
  level: string,
  transA: boolean,
  transB: boolean,
  [M, N, K]: [number, number, number],
  alpha: number,
  beta: number,
  seed: number,
): void {
  const a = randArray(M * K, seed);
  const b = randArray(K * N, seed + 1);
  const c0 = randArray(M * N, seed + 2);
  const ta = scope.track(tensor(a, transA ? [K, M] : [M, K]));
  const tb = scope.track(tensor(b, transB ? [N, K] : [K, N]));
  // beta = 0 must not read C: poison it. Otherwise C holds data that the result must blend in.
  const tc = scope.track(beta === 0 ? poisoned([M, N]) : tensor(c0, [M, N]));
  gemm(ta, tb, tc, { transA, transB, alpha, beta });
  const want = gemmRef(a, b, c0, { transA, transB, M, N, K, alpha, beta });
  expectClose(tc.toFloat32Array(), want, {
    ...tol(K),
    name: `${level} gemm ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta}`,
  });
}

describe('gemm vs float64 reference', () => {
  it('all transpose combinations at awkward shapes, every SIMD path', () => {
    forEachSimd((level) => {
      let seed = 1;
      for (const [tA, tB] of TRANS) for (const shape of SHAPES) runCase(level, tA, tB, shape, 1, 0, (seed += 3));
    });
  });

  it('alpha and beta: beta = 0 ignores NaN in C, beta = 1 accumulates, general blend; every SIMD path', () => {
    forEachSimd((level) => {
      let seed = 100;
      for (const [tA, tB] of TRANS)
        for (const [alpha, beta] of [
          [-0.75, 0],
          [1, 1],
          [0.5, -1.5],
        ])
          for (const shape of [
            [37, 65, 129],
            [5, 7, 300],
            [1, 129, 37],
          ] as [number, number, number][])
            runCase(level, tA, tB, shape, alpha, beta, (seed += 3));
    });
  });

  it('one thread and all threads agree with the reference at a model-sized shape', () => {
    const [M, N, K] = [97, 300, 520];
    for (const threads of [1, 2]) withThreads(threads, () => runCase(`threads=${threads}`, false, true, [M, N, K], 1, 0, 7));
  });

  it('alpha = 0 and beta = 0 write zeros without reading A, B or C', () => {
    const a = scope.track(tensor(new Array(12).fill(Number.NaN), [3, 4]));
    const b = scope.track(tensor(new Array(20).fill(Number.NaN), [4, 5]));
    const c = scope.track(poisoned([3, 5]));
    gemm(a, b, c, { alpha: 0, beta: 0 });
    expect([...c.toFloat32Array()]).toEqual(new Array(15).fill(0));
    const c2 = scope.track(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [3, 5]));
    gemm(a, b, c2, { alpha: 0, beta: 2 });
    expect([...c2.toFloat32Array()]).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]);
  });
});

describe('gemm batches', () => {
  // [batch dims of A, B] : 'b' = batched, '2d' = one matrix shared by every batch (stride 0),
  // '1' = [1, ., .] (also shared)
  const LAYOUTS: ['b' | '2d' | '1', 'b' | '2d' | '1'][] = [
    ['b', 'b'],
    ['2d', 'b'],
    ['b', '2d'],
    ['1', 'b'],
    ['b', '1'],
    ['2d', '2d'],
  ];
  it('strided batches with stride-0 broadcast, every transpose and SIMD path', () => {
    forEachSimd((level) => {
      let seed = 500;
      for (const [tA, tB] of TRANS)
        for (const [la, lb] of LAYOUTS)
          for (const [batch, M, N, K] of [
            [3, 37, 20, 33],
            [5, 4, 7, 3],
            [2, 70, 129, 260],
          ]) {
            const a = randArray((la === 'b' ? batch : 1) * M * K, (seed += 3));
            const b = randArray((lb === 'b' ? batch : 1) * K * N, seed + 1);
            const c0 = randArray(batch * M * N, seed + 2);
            const beta = seed % 2 ? 0 : 0.5;
            const shapeOf = (l: string, r: number, c: number) => (l === 'b' ? [batch, r, c] : l === '1' ? [1, r, c] : [r, c]);
            const ta = scope.track(tensor(a, shapeOf(la, tA ? K : M, tA ? M : K)));
            const tb = scope.track(tensor(b, shapeOf(lb, tB ? N : K, tB ? K : N)));
            const tc = scope.track(beta === 0 ? poisoned([batch, M, N]) : tensor(c0, [batch, M, N]));
            gemm(ta, tb, tc, { transA: tA, transB: tB, alpha: 1.25, beta });
            const want = gemmRef(a, b, c0, {
              transA: tA,
              transB: tB,
              M,
              N,
              K,
              alpha: 1.25,
              beta,
              batch,
              strideA: la === 'b' ? M * K : 0,
              strideB: lb === 'b' ? K * N : 0,
            });
            expectClose(tc.toFloat32Array(), want, { ...tol(K), name: `${level} batch ${batch} A:${la} B:${lb} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}x${N}x${K}` });
          }
    });
  });
});

describe('gemm as a linear layer: backward against finite differences', () => {
  it('dX = dY W and dW = dY^T X (the calls the native model makes), every SIMD path', () => {
    forEachSimd((level) => {
      for (const [T, inF, outF] of [
        [37, 129, 65],
        [1, 64, 128],
        [40, 256, 96],
      ]) {
        const x = randArray(T * inF, 11);
        const w = randArray(outF * inF, 12, 0.2);
        const dy = randArray(T * outF, 13);
        const tx = scope.track(tensor(x, [T, inF]));
        const tw = scope.track(tensor(w, [outF, inF]));
        const tdy = scope.track(tensor(dy, [T, outF]));
        // forward: y = x W^T
        const y = scope.track(poisoned([T, outF]));
        gemm(tx, tw, y, { transB: true });
        expectClose(y.toFloat32Array(), linearRef(x, w, T, inF, outF), { ...tol(inF), name: `${level} linear y ${T}x${inF}->${outF}` });
        // dX = dY W  [T, in];  dW = dY^T X  [out, in]
        const dx = scope.track(poisoned([T, inF]));
        gemm(tdy, tw, dx);
        const dw = scope.track(poisoned([outF, inF]));
        gemm(tdy, tx, dw, { transA: true });
        const loss = (xx: Float64Array, ww: Float64Array) => dot(linearRef(xx, ww, T, inF, outF), dy);
        const ix = sampleIndices(T * inF, 10, 1);
        const iw = sampleIndices(outF * inF, 10, 2);
        const gx = dx.toFloat32Array();
        const gw = dw.toFloat32Array();
        expectClose(ix.map((i) => gx[i]), finiteDiff((xx) => loss(xx, w), x, ix), { atol: 1e-4, rtol: 1e-3, name: `${level} dX vs FD` });
        expectClose(iw.map((i) => gw[i]), finiteDiff((ww) => loss(x, ww), w, iw), { atol: 1e-4, rtol: 1e-3, name: `${level} dW vs FD` });
        // accumulate into an existing gradient (beta = 1), as the model does across experts
        const dw2 = scope.track(tensor(gw, [outF, inF]));
        gemm(tdy, tx, dw2, { transA: true, beta: 1 });
        expectClose(dw2.toFloat32Array(), Float64Array.from(gw, (v) => 2 * v), { atol: 1e-5, rtol: 1e-5, name: `${level} dW accumulate` });
      }
    });
  });
});

describe('gemm off the event loop', () => {
  it('gemm.async matches the sync result and a timer keeps firing while it runs', async () => {
    const [M, N, K] = [1024, 1024, 1024];
    const ta = scope.track(tensor(randArray(M * K, 21), [M, K]));
    const tb = scope.track(tensor(randArray(K * N, 22), [K, N]));
    const c1 = scope.track(poisoned([M, N]));
    const c2 = scope.track(poisoned([M, N]));
    gemm(ta, tb, c1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const p = (async () => {
      for (let i = 0; i < 4; i++) await gemm.async(ta, tb, c2);
    })();
    await p;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    expect(Buffer.from(c2.toFloat32Array().buffer).equals(Buffer.from(c1.toFloat32Array().buffer))).toBe(true);
  });
});

describe('gemm argument errors', () => {
  const mk = (shape: number[]) => scope.track(Tensor.zeros(shape));
  it('names the op, the argument, what was expected and what came', () => {
    const a = mk([4, 5]);
    const b = mk([5, 6]);
    const c = mk([4, 6]);
    expect(() => gemm(a, mk([6, 6]), c)).toThrow(/gemm: argument 'B' expected \[K, N\] with K = 5.*received shape \[6, 6\]/);
    expect(() => gemm(a, b, mk([4, 7]))).toThrow(/gemm: argument 'C' expected shape \[4, 6\].*received shape \[4, 7\]/);
    expect(() => gemm(a, b, c, { transA: true })).toThrow(/gemm: argument 'B'/);
    expect(() => gemm(mk([3, 4, 5]), b, mk([2, 4, 6]))).toThrow(/gemm: argument 'A' expected a batch of 2/);
    expect(() => gemm(mk([4]), b, c)).toThrow(/gemm: argument 'A' expected a 2- to 3-D tensor/);
    expect(() => gemm(a, b, a)).toThrow(/gemm: argument 'C' expected an output tensor distinct from A and B/);
    expect(() => gemm(a, b, c, { transA: 1 as unknown as boolean })).toThrow(/gemm: argument 'transA' expected a boolean, received 1/);
    expect(() => gemm(a, b, c, { alpha: Number.NaN })).toThrow(/gemm: argument 'alpha' expected a finite number, received NaN/);
    expect(() => gemm(a, 3 as unknown as Tensor, c)).toThrow(/gemm: argument 'B' expected a Tensor/);
    const ints = scope.track(Tensor.from(new Int32Array(30), [5, 6]));
    try {
      gemm(a, ints, c);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_DTYPE');
      expect(String(e)).toMatch(/gemm: argument 'B' expected dtype f32, received i32/);
    }
    const gone = Tensor.zeros([4, 5]);
    gone.dispose();
    expect(() => gemm(gone, b, c)).toThrow(/gemm: argument 'A' was disposed/);
  });

  it('async errors reject with the code', async () => {
    const a = mk([4, 5]);
    await expect(gemm.async(a, mk([6, 6]), mk([4, 6]))).rejects.toMatchObject({ code: 'E_SHAPE' });
  });
});

describe('gemm_grouped (the experts\' projections in one call)', () => {
  it('each group equals its own float64 product, every transpose pair, empty groups skipped', () => {
    let seed = 500;
    for (const [tA, tB] of TRANS) {
      // [M, N, K] per group: two experts with different row counts, an empty expert, a 1-row one
      const dims: [number, number, number][] = [
        [37, 65, 129],
        [0, 65, 129],
        [130, 33, 64],
        [1, 17, 5],
      ];
      const groups = dims.map(([M, N, K]) => {
        const av = randArray(M * K, (seed += 1));
        const bv = randArray(K * N, (seed += 1));
        const cv = randArray(M * N, (seed += 1));
        return {
          M,
          N,
          K,
          av,
          bv,
          cv,
          a: scope.track(tensor(av, tA ? [K, M] : [M, K])),
          b: scope.track(tensor(bv, tB ? [N, K] : [K, N])),
          c: scope.track(tensor(cv, [M, N])),
        };
      });
      gemmGrouped(groups, { transA: tA, transB: tB, alpha: 0.5, beta: -1 });
      for (const g of groups) {
        const ref = gemmRef(g.av, g.bv, g.cv, { transA: tA, transB: tB, M: g.M, N: g.N, K: g.K, alpha: 0.5, beta: -1 });
        expectClose(g.c.toFloat32Array(), ref, { atol: 1e-4, rtol: 1e-4, name: `grouped ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${g.M}x${g.N}x${g.K}` });
      }
    }
  });

  it('names the group and the argument on bad input', () => {
    const a = scope.track(Tensor.zeros([4, 3]));
    const b = scope.track(Tensor.zeros([5, 3]));
    const c = scope.track(Tensor.zeros([4, 5]));
    const bad = scope.track(Tensor.zeros([4, 6]));
    expect(() => gemmGrouped([{ a, b, c }, { a, b, c: bad }], { transB: true })).toThrow("gemm_grouped: argument 'groups[1].c' expected shape [4, 5] (M from a, N from b), received shape [4, 6]");
    expect(() => gemmGrouped([], {})).toThrow(/argument 'groups' expected an array of 1 to 8/);
    expect(() => gemmGrouped([{ a, b, c }], {})).toThrow(/groups\[0\]\.b' expected \[K, N\] with K = 3/);
  });
});
