import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { runCall } from '../../src/ops/registry.js';
import { timestepEmbedding } from '../../src/ops/timestep.js';
import { Scope, expectClose, poisoned, randArray, tensor } from '../helpers.js';
import { timestepRef } from '../ref/timestep.js';

const scope = new Scope();
afterEach(() => scope.dispose());

describe('timestep_embedding vs float64 reference', () => {
  it('BAGEL layout (dim 256, max_period 10000, cos first), t in [0, 1] incl. 0 and 1; 1 and 37 rows; odd sizes', () => {
    for (const [N, dim, mp] of [
      [37, 256, 10000],
      [1, 256, 10000],
      [5, 2, 10000],
      [9, 130, 100],
    ] as const) {
      const t = randArray(N, 1).map((v) => Math.abs(v));
      t[0] = 0;
      if (N > 1) t[N - 1] = 1;
      const out = scope.track(poisoned([N, dim]));
      timestepEmbedding(scope.track(tensor(t, [N])), out, mp);
      const got = out.toFloat32Array();
      expectClose(got, timestepRef(t, dim, mp), { atol: 1e-7, rtol: 1e-6, name: `temb ${[N, dim, mp]}` });
    }
    // t = 0: cos = 1 everywhere in the first half, sin = 0 in the second
    const out = scope.track(poisoned([1, 256]));
    timestepEmbedding(scope.track(tensor([0], [1])), out);
    const v = out.toFloat32Array();
    expect(v.subarray(0, 128).every((x) => x === 1) && v.subarray(128).every((x) => x === 0)).toBe(true);
  });

  it('async twin', async () => {
    const t = randArray(37, 2).map((v) => Math.abs(v));
    const out = scope.track(poisoned([37, 256]));
    await timestepEmbedding.async(scope.track(tensor(t, [37])), out, 10000);
    expectClose(out.toFloat32Array(), timestepRef(t, 256, 10000), { atol: 1e-7, rtol: 1e-6, name: 'async' });
  });

  it('errors name op, argument, expected and received', () => {
    const t = scope.track(Tensor.zeros([37]));
    expect(() => timestepEmbedding(t, scope.track(Tensor.zeros([37, 255])))).toThrow(
      "timestep_embedding: argument 'out' expected shape [37, dim] with an even dim >= 2, received shape [37, 255]",
    );
    expect(() => timestepEmbedding(t, scope.track(Tensor.zeros([36, 256])))).toThrow(
      "timestep_embedding: argument 'out' expected shape [37, dim] with an even dim >= 2, received shape [36, 256]",
    );
    expect(() => timestepEmbedding(scope.track(Tensor.zeros([37], { dtype: 'i32' })), scope.track(Tensor.zeros([37, 256])))).toThrow(
      "timestep_embedding: argument 't' expected dtype f32, received i32 [37]",
    );
    expect(() => timestepEmbedding(t, scope.track(Tensor.zeros([37, 256])), 1)).toThrow(
      "timestep_embedding: argument 'maxPeriod' expected a finite number > 1, received 1",
    );
    expect(() => runCall('timestep_embedding', { tensors: [t, scope.track(Tensor.zeros([37, 3]))], floats: [10000] })).toThrow(
      "timestep_embedding: argument 'out' expected shape [37, dim] with an even dim >= 2, received shape [37, 3]",
    );
  });
});
