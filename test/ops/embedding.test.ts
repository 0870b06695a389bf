import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { embeddingBackward, embeddingForward } from '../../src/ops/embedding.js';
import { runCall } from '../../src/ops/registry.js';
import { Scope, dot, expectClose, finiteDiff, forEachSimd, intTensor, poisoned, randArray, randInts, sampleIndices, tensor, withThreads } from '../helpers.js';
import { embeddingBackwardRef, embeddingRef } from '../ref/embedding.js';

const scope = new Scope();
afterEach(() => scope.dispose());

// [N, V, D]: 1 token, 37 tokens, 129 channels (two 64-column blocks + a 1-column tail), D = 896
const CASES: [number, number, number][] = [
  [1, 7, 129],
  [37, 50, 129],
  [37, 11, 896],
  [300, 5, 3],
];

describe('embedding vs float64 reference', () => {
  it('forward gathers rows (repeated ids, first and last row)', () => {
    for (const [N, V, D] of CASES) {
      const ids = randInts(N, 1, 0, V);
      ids[0] = V - 1;
      if (N > 1) ids[N - 1] = 0;
      const table = randArray(V * D, 2);
      const out = scope.track(poisoned([N, D]));
      embeddingForward(scope.track(intTensor(ids)), scope.track(tensor(table, [V, D])), out);
      expectClose(out.toFloat32Array(), embeddingRef(ids, table, D), { atol: 0, rtol: 0, name: `out ${[N, V, D]}` });
    }
  });

  it('backward scatter-adds onto dtable (vs reference and finite differences), every SIMD path', () => {
    forEachSimd((level) => {
      for (const [N, V, D] of CASES) {
        const ids = randInts(N, 3, 0, V); // many repeats: N >> V in some cases
        const dout = randArray(N * D, 4);
        const prior = randArray(V * D, 5);
        const dtable = scope.track(tensor(prior, [V, D]));
        embeddingBackward(scope.track(intTensor(ids)), scope.track(tensor(dout, [N, D])), dtable);
        const got = dtable.toFloat32Array();
        expectClose(got, embeddingBackwardRef(ids, dout, prior, D), { atol: 1e-5, name: `${level} dtable ${[N, V, D]}` });
        // d/dtable of dot(embedding(table), dout), by finite differences of the reference, + the prior content
        const table = randArray(V * D, 6);
        const idx = sampleIndices(V * D, 16);
        const fd = finiteDiff((tt) => dot(embeddingRef(ids, tt, D), dout), table, idx);
        expectClose(idx.map((i) => got[i] - Math.fround(prior[i])), fd, { atol: 1e-4, rtol: 1e-4, name: `${level} dtable vs FD ${[N, V, D]}` });
      }
    });
  });

  it('backward is bitwise deterministic across thread counts and runs', () => {
    const [N, V, D] = [2000, 3, 896];
    const ids = randInts(N, 7, 0, V);
    const dout = randArray(N * D, 8);
    const tid = scope.track(intTensor(ids));
    const td = scope.track(tensor(dout, [N, D]));
    const runs = [1, 2, 2].map((threads) =>
      withThreads(threads, () => {
        const dt = scope.track(Tensor.zeros([V, D]));
        embeddingBackward(tid, td, dt);
        return Array.from(dt.toFloat32Array());
      }),
    );
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('async twins', async () => {
    const ids = randInts(37, 9, 0, 50);
    const table = randArray(50 * 129, 10);
    const out = scope.track(poisoned([37, 129]));
    await embeddingForward.async(scope.track(intTensor(ids)), scope.track(tensor(table, [50, 129])), out);
    expectClose(out.toFloat32Array(), embeddingRef(ids, table, 129), { atol: 0, rtol: 0, name: 'async out' });
  });
});

describe('embedding errors', () => {
  it('ids out of range: E_ARG naming the position and value, nothing written', async () => {
    const table = scope.track(tensor(randArray(50 * 8, 11), [50, 8]));
    const out = scope.track(poisoned([4, 8]));
    const bad = scope.track(intTensor([3, 49, 50, 2]));
    let err: (Error & { code?: string }) | undefined;
    try {
      embeddingForward(bad, table, out);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('E_ARG');
    expect(err?.message).toBe("embedding_forward: argument 'ids' expected values in [0, 50), received 50 at position 2");
    expect(out.toFloat32Array().every((v) => Number.isNaN(v))).toBe(true);
    const dtable = scope.track(Tensor.zeros([50, 8]));
    await expect(embeddingBackward.async(scope.track(intTensor([0, -1])), scope.track(Tensor.zeros([2, 8])), dtable)).rejects.toThrow(
      "embedding_backward: argument 'ids' expected values in [0, 50), received -1 at position 1",
    );
    const dbad = scope.track(tensor(randArray(4 * 8, 12), [4, 8]));
    expect(() => embeddingBackward(bad, dbad, dtable)).toThrow('received 50 at position 2');
    expect(dtable.toFloat32Array().every((v) => v === 0)).toBe(true);
  });

  it('shapes and dtypes name op, argument, expected and received', () => {
    const table = scope.track(Tensor.zeros([50, 8]));
    const ids = scope.track(intTensor([1, 2, 3]));
    expect(() => embeddingForward(ids, table, scope.track(Tensor.zeros([3, 9])))).toThrow(
      "embedding_forward: argument 'out' expected shape [3, 8], received shape [3, 9]",
    );
    expect(() => embeddingForward(scope.track(Tensor.zeros([3])), table, scope.track(Tensor.zeros([3, 8])))).toThrow(
      "embedding_forward: argument 'ids' expected dtype i32, received f32 [3]",
    );
    expect(() => embeddingForward(ids, scope.track(Tensor.zeros([400])), scope.track(Tensor.zeros([3, 8])))).toThrow(
      "embedding_forward: argument 'table' expected a 2-D tensor, received shape [400]",
    );
    expect(() => embeddingBackward(ids, scope.track(Tensor.zeros([4, 8])), table)).toThrow(
      "embedding_backward: argument 'dout' expected shape [3, 8], received shape [4, 8]",
    );
    expect(() => runCall('embedding_forward', { tensors: [ids, table, scope.track(Tensor.zeros([3, 9]))] })).toThrow(
      "embedding_forward: argument 'out' expected 24 elements, received shape [3, 9]",
    );
  });
});
