import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { runCall, timeCall } from '../../src/ops/registry.js';

describe('timeCall (microbenchmark entry, timeOp in the addon)', () => {
  it('runs the op reps times and returns one positive time per run; the op really ran', () => {
    using a = Tensor.from(new Float32Array(4096).fill(1), [4096]);
    using b = Tensor.from(new Float32Array(4096).fill(2), [4096]);
    const ms = timeCall('add', { tensors: [a, b, a], floats: [1, 1] }, 5);
    expect(ms).toBeInstanceOf(Float64Array);
    expect(ms.length).toBe(5);
    for (const t of ms) expect(t).toBeGreaterThan(0);
    // a <- a + b five times, in place: 1 + 5 * 2
    expect((a.download() as Float32Array)[4095]).toBe(11);
  });

  it('rejects a bad reps count and a failing op with coded errors', () => {
    using x = Tensor.zeros([8]);
    expect(() => timeCall('fill', { tensors: [x], floats: [1] }, 0)).toThrow(/reps.*expected an integer in 1\.\.100000, received 0/);
    expect(() => timeCall('fill', { tensors: [x], floats: [1] }, 2.5)).toThrow(/reps/);
    using y = Tensor.zeros([9]);
    let err: unknown;
    try {
      timeCall('add', { tensors: [x, y, x], floats: [1, 1] }, 3);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('E_SHAPE');
    runCall('fill', { tensors: [x], floats: [2] }); // the addon is still fine
    expect((x.download() as Float32Array)[7]).toBe(2);
  });
});
