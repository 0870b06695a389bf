// The CUDA-vs-CPU comparison itself (src/check/parity.ts), on plain arrays: it must catch an unwritten
// (NaN) element, a per-element excess and a norm excess, and pass what is within tolerance.
import { describe, expect, it } from 'vitest';

import { compareOutputs, relNorm } from '../../src/check/parity.js';
import type { OpCase } from '../../src/ops/cases.js';

const tol = (atol: number, rtol: number, relNormTol?: number) => ({ tensors: [], ints: [], floats: [], outputs: [0], atol, rtol, relNorm: relNormTol }) as OpCase;

describe('parity comparison', () => {
  it('finds the first element left unwritten (non-finite where the CPU is finite)', () => {
    const cpu = Float32Array.from([1, 2, 3, 4]);
    const gpu = Float32Array.from([1, 2, Number.NaN, Number.NaN]);
    expect(compareOutputs(gpu, cpu, tol(1e-5, 1e-4), 0).firstUnwritten).toBe(2);
  });

  it('per element: the worst excess over atol + rtol*|cpu|, none within tolerance', () => {
    const cpu = Float32Array.from([1, 100, -3]);
    expect(compareOutputs(Float32Array.from([1, 100.005, -3]), cpu, tol(1e-5, 1e-4), 0).worst).toBe(-1);
    expect(compareOutputs(Float32Array.from([1.01, 100, -3]), cpu, tol(1e-5, 1e-4), 0).worst).toBe(0);
  });

  it('norm: ||a - b|| / ||b||', () => {
    expect(relNorm([3, 4], [3, 4])).toBe(0);
    expect(relNorm([3, 5], [3, 4])).toBeCloseTo(1 / 5, 12);
    const d = compareOutputs(Float32Array.from([3, 5]), Float32Array.from([3, 4]), tol(0, 0, 1e-2), 0);
    expect(d.relNorm).toBeCloseTo(0.2, 6);
    expect(d.maxAbs).toBe(1);
  });
});
