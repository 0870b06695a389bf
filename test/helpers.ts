// Shared test helpers: seeded data, poisoned outputs, tolerance checks, finite differences, and a
// loop over the CPU SIMD paths. References work in float64; kernels in float32.
import { expect } from 'vitest';

import { mulberry32 as rng } from '../src/model/synthetic-batch.js';
import { loadBackend } from '../src/native/loader.js';
import { Tensor } from '../src/native/tensor.js';

/** mulberry32: small, fast, seeded; good enough for test data */
export { rng };

/** n values uniform in [-scale, scale], rounded to float32 so the reference sees the kernel's inputs */
export function randArray(n: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround((r() * 2 - 1) * scale);
  return out;
}

export function randInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo));
  return out;
}

export function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a as ArrayLike<number>);
}

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

/** A float32 tensor holding `data` (float64 values rounded to float32). */
export function tensor(data: ArrayLike<number>, shape: number[]): Tensor<'f32'> {
  return Tensor.from(f32(data), shape) as Tensor<'f32'>;
}

export function intTensor(data: ArrayLike<number>, shape?: number[]): Tensor<'i32'> {
  return Tensor.from(Int32Array.from(data as ArrayLike<number>), shape ?? [data.length]) as Tensor<'i32'>;
}

/** An output tensor filled with NaN: any element the kernel fails to write shows up as NaN. */
export function poisoned(shape: number[]): Tensor<'f32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(new Float32Array(n).fill(Number.NaN), shape) as Tensor<'f32'>;
}

export interface CloseOpts {
  atol?: number;
  rtol?: number;
  name?: string;
}

/** max |a-b| <= atol + rtol*|b| element-wise; NaN anywhere in `actual` fails with its index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOpts = {}): void {
  const { atol = 1e-5, rtol = 1e-4, name = 'value' } = opts;
  expect(actual.length, `${name}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(a)) {
      if (Number.isFinite(b)) throw new Error(`${name}[${i}]: got ${a}, expected ${b} (unwritten or non-finite output)`);
      continue;
    }
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0)
    throw new Error(
      `${name}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)} > atol ${atol} + rtol ${rtol}*|expected|)`,
    );
}

/** Central finite differences of a float64 scalar function at the given coordinates of x. */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, indices: number[], h = 1e-6): Float64Array {
  const g = new Float64Array(indices.length);
  const xp = Float64Array.from(x);
  indices.forEach((idx, k) => {
    const orig = xp[idx];
    xp[idx] = orig + h;
    const fp = f(xp);
    xp[idx] = orig - h;
    const fm = f(xp);
    xp[idx] = orig;
    g[k] = (fp - fm) / (2 * h);
  });
  return g;
}

/** A few coordinates spread over [0, n): first, last, and `count` seeded ones. */
export function sampleIndices(n: number, count: number, seed = 1): number[] {
  const r = rng(seed);
  const set = new Set<number>([0, n - 1]);
  while (set.size < Math.min(n, count)) set.add(Math.floor(r() * n));
  return [...set];
}

/** Weighted sum used to turn a tensor output into a scalar loss for gradient checks. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export const SIMD_LEVELS = ['scalar', 'avx2', 'avx512'] as const;
export type SimdLevel = (typeof SIMD_LEVELS)[number];

/** SIMD levels this CPU supports (tests run each; the kernel picks its path per call). */
export function simdLevels(): SimdLevel[] {
  const b = loadBackend().binding;
  const hw = b.setSimd('avx512');
  return SIMD_LEVELS.slice(0, SIMD_LEVELS.indexOf(hw as SimdLevel) + 1);
}

/** Runs fn under each supported SIMD level (and thread count 1 and all), restoring the defaults. */
export function forEachSimd(fn: (level: SimdLevel) => void): void {
  const b = loadBackend().binding;
  const levels = simdLevels();
  try {
    for (const level of levels) {
      b.setSimd(level);
      fn(level);
    }
  } finally {
    b.setSimd('avx512');
  }
}

export function withThreads<T>(n: number, fn: () => T): T {
  const b = loadBackend().binding;
  const before = b.info().threads;
  b.setThreads(n);
  try {
    return fn();
  } finally {
    b.setThreads(before);
  }
}

/** Disposes every tensor created through `track` when the test ends. */
export class Scope {
  private items: { dispose(): void }[] = [];
  track<T extends { dispose(): void }>(t: T): T {
    this.items.push(t);
    return t;
  }
  dispose(): void {
    for (const t of this.items) t.dispose();
    this.items = [];
  }
}
