// The TypeScript-side refusals of the op wrappers, pinned whole: the thrown value is a MetacotError
// (not a falsy value, not a native error), its message is exactly `op: argument 'ARG' expected
// EXPECTED, received RECEIVED`, and its code is the documented one (E_SHAPE for a shape or size,
// E_ARG for a value or an aliasing rule). The native checks behind these often give the same text with
// another code, so a message alone does not show that the TypeScript check ran. Also the edge values
// the contracts admit: a 1-D rmsnorm row, zero flow samples, the maximum timeCall repetition count.
import { afterEach, describe, expect, it } from 'vitest';

import { MetacotError } from '../../src/native/errors.js';
import { Tensor } from '../../src/native/tensor.js';
import { attentionForward, checkSegments } from '../../src/ops/attention.js';
import { biasAdd, biasGrad } from '../../src/ops/elementwise.js';
import { gemm, gemmGrouped } from '../../src/ops/gemm.js';
import { adamw } from '../../src/ops/optim.js';
import { opIndex, timeCall } from '../../src/ops/registry.js';
import { rmsnormBackward, rmsnormForward } from '../../src/ops/rmsnorm.js';
import { ropeBackward, ropeForward } from '../../src/ops/rope.js';
import { cfgCombine, flowNoise, flowStep } from '../../src/ops/sampler.js';
import { timestepEmbedding } from '../../src/ops/timestep.js';
import { Scope, expectClose } from '../helpers.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const f = (shape: number[], value = 0.5) => scope.track(Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape));
const i32 = (a: number[], shape = [a.length]) => scope.track(Tensor.from(Int32Array.from(a), shape));

/** The value `fn` throws (failing the test when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return expect.fail('expected a throw, the call returned');
}

/** `fn` throws a MetacotError with exactly `message` and `code`. */
function refuses(fn: () => unknown, message: string, code: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(MetacotError);
  expect((e as MetacotError).message).toBe(message);
  expect((e as MetacotError).code).toBe(code);
}

describe('attention: checkSegments and the q/k shape rules', () => {
  // rows [start, end, mode, sample]
  it('a gap before row 2 names the previous row\'s end', () => {
    refuses(
      () => checkSegments('t', [0, 1, 0, 0, 1, 2, 0, 0, 3, 5, 0, 0], 5),
      "t: argument 'seg' expected row 2 to start at 2 (the previous row's end: segments are contiguous and sorted), received row 2 = [3, 5, 0, 0]",
      'E_ARG',
    );
  });

  it('the mode of a row after the first is checked', () => {
    refuses(
      () => checkSegments('t', [0, 2, 0, 0, 2, 5, 3, 0], 5),
      "t: argument 'seg' expected row 1 mode 0 (causal), 1 (full) or 2 (noise), received row 1 = [2, 5, 3, 0]",
      'E_ARG',
    );
  });

  it('every refusal is a MetacotError naming the row', () => {
    const cases: [number[], number, string][] = [
      [[1, 5, 0, 0], 5, 'row 0 to start at 0, received row 0 = [1, 5, 0, 0]'],
      [[0, 0, 0, 0], 0, 'row 0 to end after its start (segments are non-empty), received row 0 = [0, 0, 0, 0]'],
      [[0, 6, 0, 0], 5, 'row 0 to end at or before N = 5, received row 0 = [0, 6, 0, 0]'],
      [[0, 5, -1, 0], 5, 'row 0 mode 0 (causal), 1 (full) or 2 (noise), received row 0 = [0, 5, -1, 0]'],
      [[0, 5, 0, -1], 5, 'row 0 sample >= 0, received row 0 = [0, 5, 0, -1]'],
      [[0, 2, 0, 1, 2, 5, 0, 0], 5, "row 1 sample >= 1, the previous row's (samples are contiguous and non-decreasing), received row 1 = [2, 5, 0, 0]"],
      [[0, 3, 0, 0], 5, 'row 0 to end at N = 5 (segments cover [0, N)), received row 0 = [0, 3, 0, 0]'],
    ];
    for (const [seg, N, tail] of cases) refuses(() => checkSegments('t', seg, N), `t: argument 'seg' expected ${tail}`, 'E_ARG');
    refuses(() => checkSegments('t', [], 5), "t: argument 'seg' expected segments covering [0, 5), received an empty table", 'E_ARG');
  });

  const seg5 = () => i32([0, 3, 0, 0, 3, 5, 1, 0], [2, 4]);
  it('q, k shape refusals carry E_SHAPE', () => {
    refuses(
      () => attentionForward(f([5, 8]), f([5, 1, 4]), f([5, 1, 4]), seg5(), f([5, 2, 4]), f([2, 5]), 0.5),
      "attention_forward: argument 'q' expected a 3-D tensor, received shape [5, 8]",
      'E_SHAPE',
    );
    refuses(
      () => attentionForward(f([5, 0, 4]), f([5, 1, 4]), f([5, 1, 4]), seg5(), f([5, 0, 4]), f([0, 5]), 0.5),
      "attention_forward: argument 'q' expected at least 1 head, received shape [5, 0, 4]",
      'E_SHAPE',
    );
    for (const hd of [3, 0, 258])
      refuses(
        () => attentionForward(f([5, 2, hd]), f([5, 1, hd]), f([5, 1, hd]), seg5(), f([5, 2, hd]), f([2, 5]), 0.5),
        `attention_forward: argument 'q' expected shape [N, H, head_dim] with an even head_dim in [2, 256], received shape [5, 2, ${hd}]`,
        'E_SHAPE',
      );
    for (const k of [[5, 3, 4], [4, 1, 4], [5, 1, 2], [5, 0, 4]])
      refuses(
        () => attentionForward(f([5, 2, 4]), f(k), f(k), seg5(), f([5, 2, 4]), f([2, 5]), 0.5),
        `attention_forward: argument 'k' expected shape [5, Hkv, 4] with Hkv dividing H = 2, received shape [${k.join(', ')}]`,
        'E_SHAPE',
      );
  });
});

describe('elementwise: bias shape refusals carry E_SHAPE', () => {
  it('bias_add: x not a multiple of b', () => {
    refuses(() => biasAdd(f([2, 3]), f([4]), f([2, 3])), "bias_add: argument 'x' expected a multiple of 4 elements (rows of 'b'), received shape [2, 3]", 'E_SHAPE');
    refuses(() => biasAdd(f([2, 3]), f([0]), f([2, 3])), "bias_add: argument 'x' expected a multiple of 0 elements (rows of 'b'), received shape [2, 3]", 'E_SHAPE');
  });

  it('bias_grad: dy not a multiple of db', () => {
    refuses(() => biasGrad(f([2, 3]), f([4])), "bias_grad: argument 'dy' expected a multiple of 4 elements (rows of 'db'), received shape [2, 3]", 'E_SHAPE');
    refuses(() => biasGrad(f([2, 3]), f([0])), "bias_grad: argument 'dy' expected a multiple of 0 elements (rows of 'db'), received shape [2, 3]", 'E_SHAPE');
  });
});

describe('gemm: operand shapes', () => {
  it('B with the wrong K: the whole message, E_SHAPE', () => {
    refuses(() => gemm(f([4, 5]), f([6, 6]), f([4, 6])), "gemm: argument 'B' expected [K, N] with K = 5 (from A [4, 5]), received shape [6, 6]", 'E_SHAPE');
    refuses(
      () => gemm(f([4, 5]), f([6, 6]), f([4, 6]), { transB: true }),
      "gemm: argument 'B' expected [N, K] with K = 5 (from A [4, 5]), received shape [6, 6] (transposed)",
      'E_SHAPE',
    );
  });

  it('C must be [M, N]: a wrong row count is refused even when it holds enough elements', () => {
    refuses(() => gemm(f([4, 5]), f([5, 6]), f([5, 6])), "gemm: argument 'C' expected shape [4, 6] (M from A, N from B), received shape [5, 6]", 'E_SHAPE');
    refuses(() => gemm(f([4, 5]), f([5, 6]), f([4, 7])), "gemm: argument 'C' expected shape [4, 6] (M from A, N from B), received shape [4, 7]", 'E_SHAPE');
    refuses(() => gemm(f([4, 5]), f([5, 6]), f([2, 5, 6])), "gemm: argument 'C' expected shape [2, 4, 6] (M from A, N from B), received shape [2, 5, 6]", 'E_SHAPE');
  });

  it('a batch other than C\'s (and not 1) is refused with E_SHAPE', () => {
    refuses(
      () => gemm(f([3, 4, 5]), f([5, 6]), f([2, 4, 6])),
      "gemm: argument 'A' expected a batch of 2 (like C [2, 4, 6]) or 1 / a 2-D matrix (shared by every batch), received shape [3, 4, 5]",
      'E_SHAPE',
    );
  });

  it('an empty dimension is refused with E_SHAPE', () => {
    refuses(() => gemm(f([0, 5]), f([5, 6]), f([0, 6])), "gemm: argument 'M' expected >= 1, received 0 (shapes A [0, 5], B [5, 6], C [0, 6])", 'E_SHAPE');
  });
});

describe('gemm_grouped: groups', () => {
  const g = () => ({ a: f([4, 3]), b: f([3, 5]), c: f([4, 5]) });

  it('a group that is not an object is named as the group', () => {
    refuses(() => gemmGrouped([g(), 3 as never]), "gemm_grouped: argument 'groups[1]' expected an {a, b, c} object, received 3", 'E_ARG');
    refuses(() => gemmGrouped([null as never]), "gemm_grouped: argument 'groups[0]' expected an {a, b, c} object, received null", 'E_ARG');
  });

  it('b with the wrong K: E_SHAPE', () => {
    refuses(
      () => gemmGrouped([g(), { ...g(), b: f([4, 5]) }]),
      "gemm_grouped: argument 'groups[1].b' expected [K, N] with K = 3 (from a [4, 3]), received shape [4, 5]",
      'E_SHAPE',
    );
  });

  it('c must be [M, N]: a wrong row count is refused even when it holds enough elements', () => {
    refuses(() => gemmGrouped([{ ...g(), c: f([5, 5]) }]), "gemm_grouped: argument 'groups[0].c' expected shape [4, 5] (M from a, N from b), received shape [5, 5]", 'E_SHAPE');
    refuses(() => gemmGrouped([g(), { ...g(), c: f([4, 6]) }]), "gemm_grouped: argument 'groups[1].c' expected shape [4, 5] (M from a, N from b), received shape [4, 6]", 'E_SHAPE');
  });
});

describe('adamw: aliasing refusals carry E_ARG', () => {
  const slot = (p = f([3]), g = f([3]), decay = true) => ({ p, g, m: f([3], 0), v: f([3], 0), decay });

  it('a written buffer passed twice', () => {
    const shared = f([3]);
    refuses(
      () => adamw([slot(shared), slot(shared)], f([1]), 1, { lr: 1e-3 }),
      "adamw: argument 'p_1' expected a buffer no other slot argument uses, received a tensor already passed",
      'E_ARG',
    );
  });

  it('a gradient that another slot updates', () => {
    const g0 = f([3]);
    refuses(
      () => adamw([slot(f([3]), g0), slot(g0)], f([1]), 1, { lr: 1e-3 }),
      "adamw: argument 'g_0' expected a buffer that no p, m or v uses, received a tensor also being updated",
      'E_ARG',
    );
  });

  it('gnorm that is also a parameter', () => {
    const p = f([1]);
    refuses(
      () => adamw([{ p, g: f([1]), m: f([1], 0), v: f([1], 0), decay: false }], p, 1, { lr: 1e-3 }),
      "adamw: argument 'gnorm' expected its own buffer, received a tensor also being updated",
      'E_ARG',
    );
  });
});

describe('registry: op names and timeCall repetitions', () => {
  it('an unknown op is an E_ARG MetacotError', () => {
    refuses(() => opIndex('no_such_op'), "no_such_op: this addon has no op named 'no_such_op' (rebuild the addon?)", 'E_ARG');
  });

  it('reps outside 1..100000 is an E_ARG MetacotError', () => {
    const call = { tensors: [f([4])], floats: [1] };
    for (const reps of [0, 1.5, 100001, Number.NaN])
      refuses(() => timeCall('fill', call, reps), `timeCall: argument 'reps' expected an integer in 1..100000, received ${String(reps)}`, 'E_ARG');
  });

  it('reps = 100000, the documented maximum, is accepted', () => {
    const call = { tensors: [f([4])], floats: [1] };
    const times = timeCall('fill', call, 100000);
    expect(times).toHaveLength(100000);
    expect(times.every((t) => Number.isFinite(t) && t >= 0)).toBe(true);
  });
});

describe('rmsnorm: w and x shapes', () => {
  it('an empty w is refused with E_SHAPE', () => {
    refuses(() => rmsnormForward(f([2, 4]), f([0]), f([2, 4]), f([2])), "rmsnorm_forward: argument 'w' expected at least 1 element, received shape [0]", 'E_SHAPE');
    refuses(
      () => rmsnormBackward(f([2, 4]), f([0]), f([2]), f([2, 4]), f([2, 4]), f([0])),
      "rmsnorm_backward: argument 'w' expected at least 1 element, received shape [0]",
      'E_SHAPE',
    );
  });

  it('x whose last dimension is not D is refused with E_SHAPE', () => {
    refuses(() => rmsnormForward(f([2, 3]), f([4]), f([2, 3]), f([2])), "rmsnorm_forward: argument 'x' expected a last dimension of 4 (like 'w'), received shape [2, 3]", 'E_SHAPE');
    refuses(() => rmsnormForward(f([]), f([1]), f([]), f([1])), "rmsnorm_forward: argument 'x' expected a last dimension of 1 (like 'w'), received shape []", 'E_SHAPE');
  });

  it('a 1-D x [D] is one row', () => {
    const x = scope.track(Tensor.from(Float32Array.of(1, -2, 3, 4), [4]));
    const w = scope.track(Tensor.from(Float32Array.of(0.5, 1, 2, -1), [4]));
    const y = f([4], Number.NaN);
    const rstd = f([1], Number.NaN);
    rmsnormForward(x, w, y, rstd, 1e-6);
    const r = 1 / Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
    expectClose(rstd.toFloat32Array(), [r], { name: 'rstd' });
    expectClose(y.toFloat32Array(), [1 * r * 0.5, -2 * r, 3 * r * 2, -4 * r], { name: 'y' });
  });
});

describe('rope: head_dim refusals carry E_SHAPE', () => {
  it('odd or zero head_dim', () => {
    for (const hd of [3, 0]) {
      refuses(
        () => ropeForward(f([3, 2, hd]), i32([0, 1, 2]), f([3, 2, hd]), 1e4),
        `rope_forward: argument 'x' expected shape [N, H, head_dim] with an even head_dim, received shape [3, 2, ${hd}]`,
        'E_SHAPE',
      );
      refuses(
        () => ropeBackward(f([3, 2, hd]), i32([0, 1, 2]), f([3, 2, hd]), 1e4),
        `rope_backward: argument 'dy' expected shape [N, H, head_dim] with an even head_dim, received shape [3, 2, ${hd}]`,
        'E_SHAPE',
      );
    }
  });
});

describe('timestep_embedding: out shape refusals carry E_SHAPE', () => {
  it('a row count other than t\'s, a dim below 2, an odd dim', () => {
    for (const out of [[4, 8], [2, 8], [3, 0], [3, 1], [3, 5]])
      refuses(
        () => timestepEmbedding(f([3]), f(out)),
        `timestep_embedding: argument 'out' expected shape [3, dim] with an even dim >= 2, received shape [${out.join(', ')}]`,
        'E_SHAPE',
      );
  });
});

describe('cfg_combine: v and the sizes like it', () => {
  it('a 1-D v is refused naming v', () => {
    refuses(() => cfgCombine(f([8]), f([8]), f([8]), f([8]), 4, 2, 'global', 0), "cfg_combine: argument 'v' expected a 2-D tensor, received shape [8]", 'E_SHAPE');
  });

  it('vNoText, vNoImage and out must hold v\'s element count', () => {
    for (const name of ['vNoText', 'vNoImage', 'out'] as const) {
      const t = { vNoText: f([2, 4]), vNoImage: f([2, 4]), out: f([2, 4]), [name]: f([7]) };
      refuses(
        () => cfgCombine(f([2, 4]), t.vNoText, t.vNoImage, t.out, 4, 2, 'global', 0),
        `cfg_combine: argument '${name}' expected 8 elements (like 'v'), received shape [7]`,
        'E_SHAPE',
      );
    }
  });
});

describe('flow_noise: offsets', () => {
  it('offsets must be 1-D', () => {
    refuses(() => flowNoise(f([3, 2]), i32([0, 1, 3], [1, 3]), i32([5, 6]), 1, 0), "flow_noise: argument 'offsets' expected a 1-D tensor, received shape [1, 3]", 'E_SHAPE');
  });

  it('an empty offsets tensor is refused: it needs at least offsets[0]', () => {
    refuses(() => flowNoise(f([0, 3]), i32([]), i32([]), 1, 0), "flow_noise: argument 'offsets' expected at least 1 element, received shape [0]", 'E_SHAPE');
  });

  it('zero samples (offsets [0] over 0 rows) is a valid, empty call', () => {
    expect(() => flowNoise(f([0, 3]), i32([0]), i32([]), 1, 0)).not.toThrow();
  });

  it('offsets[0] other than 0: what came is named', () => {
    refuses(() => flowNoise(f([3, 2]), i32([1, 3]), i32([5]), 1, 0), "flow_noise: argument 'offsets' expected offsets[0] = 0, received offsets[0] = 1", 'E_ARG');
  });
});

describe('flow_step: the tensors and options arguments', () => {
  const N = 4;
  const C = 3;
  const base = () => {
    const x = f([N, C]);
    const s = f([2]);
    return { x, v: f([N, C]), xNext: f([N, C]), mean: f([N, C]), offsets: i32([0, 1, 4]), sigma: s, sigmaNext: f([2]), std: f([2]), logp: f([2]) };
  };

  it('a valid ode call goes through (the fixture)', () => {
    expect(() => flowStep(base(), { mode: 'ode' })).not.toThrow();
  });

  it('tensors that are not an object', () => {
    for (const [t, got] of [[null, 'null'], [3, '3'], [undefined, 'undefined']] as const)
      refuses(() => flowStep(t as never, { mode: 'ode' }), `flow_step: argument 'tensors' expected an object of tensors, received ${got}`, 'E_ARG');
  });

  it('options that are not an object', () => {
    for (const [o, got] of [[null, 'null'], [3, '3'], ['ode', "'ode'"]] as const)
      refuses(() => flowStep(base(), o as never), `flow_step: argument 'options' expected an object, received ${got}`, 'E_ARG');
  });

  it('logpOnly must be a boolean, and false for ode', () => {
    refuses(() => flowStep({ ...base(), eps: f([N, C]) }, { mode: 'sde', logpOnly: 'x' as never, noiseLevel: 0.7, sigmaMax: 0.9 }), "flow_step: argument 'logpOnly' expected a boolean, received 'x'", 'E_ARG');
    refuses(() => flowStep(base(), { mode: 'ode', logpOnly: true }), "flow_step: argument 'logpOnly' expected false with mode 'ode' (an ODE step has no density), received true", 'E_ARG');
  });

  it('x must be a 2-D Tensor', () => {
    refuses(() => flowStep({ ...base(), x: 'bogus' as never }, { mode: 'ode' }), "flow_step: argument 'x' expected a Tensor, received 'bogus'", 'E_ARG');
    refuses(() => flowStep({ ...base(), x: f([12]) }, { mode: 'ode' }), "flow_step: argument 'x' expected a 2-D tensor, received shape [12]", 'E_SHAPE');
  });

  it('eps given in ode mode is still checked', () => {
    refuses(() => flowStep({ ...base(), eps: 'bogus' as never }, { mode: 'ode' }), "flow_step: argument 'eps' expected a Tensor, received 'bogus'", 'E_ARG');
    refuses(() => flowStep({ ...base(), eps: i32(Array(N * C).fill(0), [N, C]) as never }, { mode: 'ode' }), "flow_step: argument 'eps' expected dtype f32, received i32 [4, 3]", 'E_DTYPE');
  });

  it('sde sigmaMax must lie in (0, 1)', () => {
    const t = () => ({ ...base(), eps: f([N, C]) });
    for (const sigmaMax of [0, -0.5, 2, 1]) {
      const e = thrown(() => flowStep(t(), { mode: 'sde', noiseLevel: 0.7, sigmaMax }));
      expect(e).toBeInstanceOf(MetacotError);
      // the upper bound is exclusive (t_1 < 1); the wording of the bound is not pinned here
      expect((e as MetacotError).message).toMatch(new RegExp(`^flow_step: argument 'sigmaMax' expected a finite number > 0 < 1, received ${sigmaMax}$`));
      expect((e as MetacotError).code).toBe('E_ARG');
    }
    expect(() => flowStep(t(), { mode: 'sde', noiseLevel: 0.7, sigmaMax: 0.9 })).not.toThrow();
  });
});
