// Every op wrapper's argument checks, from the signatures: for each positional argument, a value of the
// wrong kind (not a tensor, the other dtype, a non-finite number, a non-boolean) is refused with a
// message naming the op and that argument; a tensor of the wrong size is refused naming it; and the
// valid call itself goes through. The exact messages of the shared helpers are pinned in
// validate.test.ts; the shape rules of each op in its own test file.
import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { attentionBackward, attentionForward, checkSegments, segmentTable, segmentTensor } from '../../src/ops/attention.js';
import { add, biasAdd, biasGrad, fill, randn, siluBackward, siluForward } from '../../src/ops/elementwise.js';
import { embeddingBackward, embeddingForward } from '../../src/ops/embedding.js';
import { gemm, gemmGrouped } from '../../src/ops/gemm.js';
import { grpoAdvantages, grpoLoss } from '../../src/ops/grpo.js';
import { adamw } from '../../src/ops/optim.js';
import { crossEntropy, mseBackward, mseForward } from '../../src/ops/loss.js';
import { type SyncOp, opIndex, timeCall } from '../../src/ops/registry.js';
import { rmsnormBackward, rmsnormForward } from '../../src/ops/rmsnorm.js';
import { ropeBackward, ropeForward } from '../../src/ops/rope.js';
import { cfgCombine, flowNoise } from '../../src/ops/sampler.js';
import { swigluBackward, swigluForward } from '../../src/ops/swiglu.js';
import { timestepEmbedding } from '../../src/ops/timestep.js';
import { Scope } from '../helpers.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const f = (shape: number[], value = 0.5) => scope.track(Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape));
const i32 = (a: number[], shape = [a.length]) => scope.track(Tensor.from(Int32Array.from(a), shape));

interface Entry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  op: SyncOp<any[]>;
  /** the parameter names, in order */
  names: string[];
  valid: () => unknown[];
  /** tensor arguments without a size rule of their own (checked through another argument) */
  noSize?: string[];
}

const seg = () => i32(Array.from(segmentTable([[[3, 0], [2, 1]]]).rows), [2, 4]);
const ENTRIES: Entry[] = [
  { op: fill, names: ['x', 'value'], valid: () => [f([4]), 1], noSize: ['x'] },
  { op: add, names: ['a', 'b', 'out', 'alpha', 'beta'], valid: () => [f([6]), f([6]), f([6]), 1, 2] },
  { op: randn, names: ['x', 'seed', 'stream', 'mean', 'std'], valid: () => [f([4]), 1, 0, 0, 1], noSize: ['x'] },
  { op: siluForward, names: ['x', 'y'], valid: () => [f([6]), f([6])] },
  { op: siluBackward, names: ['x', 'dy', 'dx', 'accumulate'], valid: () => [f([6]), f([6]), f([6]), false] },
  { op: biasAdd, names: ['x', 'b', 'out'], valid: () => [f([2, 3]), f([3]), f([2, 3])], noSize: ['b'] },
  { op: biasGrad, names: ['dy', 'db', 'accumulate'], valid: () => [f([2, 3]), f([3]), true], noSize: ['db'] },
  { op: embeddingForward, names: ['ids', 'table', 'out'], valid: () => [i32([1, 3]), f([4, 3]), f([2, 3])], noSize: ['table'] },
  { op: embeddingBackward, names: ['ids', 'dout', 'dtable'], valid: () => [i32([1, 3]), f([2, 3]), f([4, 3])], noSize: ['dtable'] },
  { op: crossEntropy, names: ['logits', 'targets', 'losses', 'dlogits', 'gradScale'], valid: () => [f([2, 5]), i32([1, -1]), f([2]), f([2, 5]), 0.5] },
  { op: mseForward, names: ['pred', 'target', 'mask', 'loss'], valid: () => [f([2, 3]), f([2, 3]), f([2], 1), f([1])] },
  { op: mseBackward, names: ['pred', 'target', 'mask', 'dpred', 'gradScale'], valid: () => [f([2, 3]), f([2, 3]), f([2], 1), f([2, 3]), 2] },
  { op: rmsnormForward, names: ['x', 'w', 'y', 'rstd', 'eps'], valid: () => [f([2, 4]), f([4], 1), f([2, 4]), f([2]), 1e-6], noSize: ['w'] },
  { op: rmsnormBackward, names: ['x', 'w', 'rstd', 'dy', 'dx', 'dw', 'accumulateDw'], valid: () => [f([2, 4]), f([4], 1), f([2], 1), f([2, 4]), f([2, 4]), f([4]), false], noSize: ['w'] },
  { op: ropeForward, names: ['x', 'pos', 'y', 'theta'], valid: () => [f([3, 2, 4]), i32([0, 1, 2]), f([3, 2, 4]), 10000] },
  { op: ropeBackward, names: ['dy', 'pos', 'dx', 'theta'], valid: () => [f([3, 2, 4]), i32([0, 1, 2]), f([3, 2, 4]), 10000] },
  { op: swigluForward, names: ['gate', 'up', 'h'], valid: () => [f([6]), f([6]), f([6])] },
  { op: swigluBackward, names: ['gate', 'up', 'dh', 'dgate', 'dup'], valid: () => [f([6]), f([6]), f([6]), f([6]), f([6])] },
  { op: timestepEmbedding, names: ['t', 'out', 'maxPeriod'], valid: () => [f([3]), f([3, 8]), 10000] },
  { op: cfgCombine, names: ['v', 'vNoText', 'vNoImage', 'out', 'sText', 'sImg', 'renorm', 'renormMin'], valid: () => [f([2, 4]), f([2, 4]), f([2, 4]), f([2, 4]), 4, 2, 'global', 0] },
  { op: flowNoise, names: ['out', 'offsets', 'keys', 'seed', 'step'], valid: () => [f([4, 3]), i32([0, 2, 4]), i32([5, 6]), 1, 0] },
  {
    op: attentionForward,
    names: ['q', 'k', 'v', 'seg', 'out', 'lse', 'scale'],
    valid: () => [f([5, 2, 4]), f([5, 1, 4]), f([5, 1, 4]), seg(), f([5, 2, 4]), f([2, 5]), 0.5],
  },
  {
    op: attentionBackward,
    names: ['q', 'k', 'v', 'seg', 'out', 'lse', 'dout', 'dq', 'dk', 'dv', 'scale'],
    valid: () => [f([5, 2, 4]), f([5, 1, 4]), f([5, 1, 4]), seg(), f([5, 2, 4]), f([2, 5]), f([5, 2, 4]), f([5, 2, 4]), f([5, 1, 4]), f([5, 1, 4]), 0.5],
  },
];

const msg = (op: string, name: string) => new RegExp(`^${op}: argument '${name.replace(/[[\]]/g, '\\$&')}' expected `);

describe('op wrappers refuse a wrong argument, naming it', () => {
  for (const e of ENTRIES)
    it(`${e.op.opName}(${e.names.join(', ')})`, () => {
      const op = e.op.opName;
      // the valid call goes through
      expect(() => e.op(...e.valid())).not.toThrow();
      e.names.forEach((name, i) => {
        const bad = (v: unknown) => {
          const args = e.valid();
          args[i] = v;
          return () => e.op(...args);
        };
        const good = e.valid()[i];
        if (good instanceof Tensor) {
          expect(bad('bogus'), `${op} ${name}: not a tensor`).toThrow(new RegExp(`^${op}: argument '${name}' expected a Tensor, received 'bogus'$`));
          const other = good.dtype === 'f32' ? i32(Array(good.numel).fill(0), [...good.shape]) : f([...good.shape]);
          expect(bad(other), `${op} ${name}: dtype`).toThrow(new RegExp(`^${op}: argument '${name}' expected dtype ${good.dtype}, received ${other.dtype} `));
          if (i > 0 && !e.noSize?.includes(name)) {
            const bigger = good.dtype === 'f32' ? f([good.numel + 1]) : i32(Array(good.numel + 1).fill(0));
            expect(bad(bigger), `${op} ${name}: size`).toThrow(msg(op, name));
          }
        } else if (typeof good === 'number') {
          expect(bad(Number.NaN), `${op} ${name}: NaN`).toThrow(new RegExp(`^${op}: argument '${name}' expected .*, received NaN$`));
        } else if (typeof good === 'boolean') {
          expect(bad('x'), `${op} ${name}: not a boolean`).toThrow(new RegExp(`^${op}: argument '${name}' expected a boolean, received 'x'$`));
        } else if (typeof good === 'string') {
          expect(bad('bogus'), `${op} ${name}: not a choice`).toThrow(new RegExp(`^${op}: argument '${name}' expected .*, received 'bogus'$`));
        }
      });
    });
});

describe('checkSegments: each rule of a segment table, with its message', () => {
  const chk = (rows: number[], N: number) => () => checkSegments('op', rows, N);
  it('accepts a valid table and refuses each broken rule, naming the row', () => {
    expect(chk([0, 2, 0, 0, 2, 5, 1, 0, 5, 7, 2, 1], 7)).not.toThrow();
    expect(chk([], 0)).not.toThrow();
    expect(chk([], 5)).toThrow("op: argument 'seg' expected segments covering [0, 5), received an empty table");
    expect(chk([1, 5, 0, 0], 5)).toThrow("op: argument 'seg' expected row 0 to start at 0, received row 0 = [1, 5, 0, 0]");
    expect(chk([0, 2, 0, 0, 3, 5, 0, 0], 5)).toThrow(
      "op: argument 'seg' expected row 1 to start at 2 (the previous row's end: segments are contiguous and sorted), received row 1 = [3, 5, 0, 0]",
    );
    expect(chk([0, 2, 0, 0, 2, 2, 0, 0, 2, 5, 0, 0], 5)).toThrow("op: argument 'seg' expected row 1 to end after its start (segments are non-empty), received row 1 = [2, 2, 0, 0]");
    expect(chk([0, 6, 0, 0], 5)).toThrow("op: argument 'seg' expected row 0 to end at or before N = 5, received row 0 = [0, 6, 0, 0]");
    expect(chk([0, 5, 3, 0], 5)).toThrow("op: argument 'seg' expected row 0 mode 0 (causal), 1 (full) or 2 (noise), received row 0 = [0, 5, 3, 0]");
    expect(chk([0, 5, -1, 0], 5)).toThrow("op: argument 'seg' expected row 0 mode 0 (causal), 1 (full) or 2 (noise), received row 0 = [0, 5, -1, 0]");
    expect(chk([0, 5, 0, -1], 5)).toThrow("op: argument 'seg' expected row 0 sample >= 0, received row 0 = [0, 5, 0, -1]");
    expect(chk([0, 1, 0, 0, 1, 2, 0, 2, 2, 5, 0, 1], 5)).toThrow(
      "op: argument 'seg' expected row 2 sample >= 2, the previous row's (samples are contiguous and non-decreasing), received row 2 = [2, 5, 0, 1]",
    );
    expect(chk([0, 2, 0, 0, 2, 4, 0, 0], 5)).toThrow("op: argument 'seg' expected row 1 to end at N = 5 (segments cover [0, N)), received row 1 = [2, 4, 0, 0]");
  });

  it('segmentTable lays out samples in order and segmentTensor puts it on a device', () => {
    const t = segmentTable([[[3, 1], [2, 0]], [[4, 2]]]);
    expect(Array.from(t.rows)).toEqual([0, 3, 1, 0, 3, 5, 0, 0, 5, 9, 2, 1]);
    expect(t.tokens).toBe(9);
    const dev = scope.track(segmentTensor([[[3, 1], [2, 0]], [[4, 2]]], 'cpu'));
    expect(dev.shape).toEqual([3, 4]);
    expect(dev.dtype).toBe('i32');
    expect(Array.from(dev.download())).toEqual(Array.from(t.rows));
  });
});

describe('shape rules with their exact messages', () => {
  it('attention: heads, head dim, k and v against q', () => {
    const q = f([5, 2, 4]);
    const kv = f([5, 1, 4]);
    const call = (qq: Tensor, k: Tensor, v = k) => () => attentionForward(qq, k, v, seg(), f([5, 2, 4]), f([2, 5]), 0.5);
    expect(call(f([5, 0, 4]), kv)).toThrow("attention_forward: argument 'q' expected at least 1 head, received shape [5, 0, 4]");
    expect(call(f([5, 2, 3]), kv)).toThrow("attention_forward: argument 'q' expected shape [N, H, head_dim] with an even head_dim in [2, 256], received shape [5, 2, 3]");
    expect(call(f([5, 1, 258]), f([5, 1, 258]))).toThrow("attention_forward: argument 'q' expected shape [N, H, head_dim] with an even head_dim in [2, 256], received shape [5, 1, 258]");
    expect(call(f([5, 1, 0]), kv)).toThrow("attention_forward: argument 'q' expected shape [N, H, head_dim] with an even head_dim in [2, 256], received shape [5, 1, 0]");
    expect(call(q, f([5, 3, 4]))).toThrow("attention_forward: argument 'k' expected shape [5, Hkv, 4] with Hkv dividing H = 2, received shape [5, 3, 4]");
    expect(call(q, f([4, 1, 4]))).toThrow("attention_forward: argument 'k' expected shape [5, Hkv, 4] with Hkv dividing H = 2, received shape [4, 1, 4]");
    expect(call(q, f([5, 1, 2]))).toThrow("attention_forward: argument 'k' expected shape [5, Hkv, 4] with Hkv dividing H = 2, received shape [5, 1, 2]");
    expect(call(q, f([5, 0, 4]))).toThrow("attention_forward: argument 'k' expected shape [5, Hkv, 4] with Hkv dividing H = 2, received shape [5, 0, 4]");
    expect(call(q, kv, f([5, 2, 4]))).toThrow("attention_forward: argument 'v' expected shape [5, 1, 4], received shape [5, 2, 4]");
    expect(() => attentionForward(q, kv, kv, seg(), f([5, 2, 4]), f([5, 2]), 0.5)).toThrow("attention_forward: argument 'lse' expected shape [2, 5], received shape [5, 2]");
    // a host segment table is checked before the call
    expect(() => attentionForward(q, kv, kv, i32([0, 3, 0, 0, 3, 4, 1, 0], [2, 4]), f([5, 2, 4]), f([2, 5]), 0.5)).toThrow(
      "attention_forward: argument 'seg' expected row 1 to end at N = 5 (segments cover [0, N)), received row 1 = [3, 4, 1, 0]",
    );
  });

  it('bias_add and bias_grad: the bias against the last dim', () => {
    expect(() => biasAdd(f([2, 4]), f([3]), f([2, 4]))).toThrow("bias_add: argument 'x' expected a multiple of 3 elements (rows of 'b'), received shape [2, 4]");
    expect(() => biasAdd(f([2, 3]), f([0]), f([2, 3]))).toThrow("bias_add: argument 'x' expected a multiple of 0 elements (rows of 'b'), received shape [2, 3]");
    // any shape with whole rows of b: [3, 2] is two rows of 3
    expect(() => biasAdd(f([3, 2]), f([3]), f([3, 2]))).not.toThrow();
    expect(() => biasAdd(f([2, 3]), f([3]), f([7]))).toThrow("bias_add: argument 'out' expected 6 elements (like 'x'), received shape [7]");
    expect(() => biasGrad(f([2, 4]), f([3]))).toThrow("bias_grad: argument 'dy' expected a multiple of 3 elements (rows of 'db'), received shape [2, 4]");
    expect(() => biasGrad(f([2, 3]), f([0]))).toThrow("bias_grad: argument 'dy' expected a multiple of 0 elements (rows of 'db'), received shape [2, 3]");
    expect(() => biasGrad(f([3, 2]), f([3]))).not.toThrow();
  });

  it('elementwise: sizes against the first argument, randn ranges', () => {
    expect(() => add(f([6]), f([6]), f([5]))).toThrow("add: argument 'out' expected 6 elements (like 'a'), received shape [5]");
    expect(() => siluForward(f([6]), f([5]))).toThrow("silu_forward: argument 'y' expected 6 elements (like 'x'), received shape [5]");
    expect(() => siluBackward(f([6]), f([5]), f([6]))).toThrow("silu_backward: argument 'dy' expected 6 elements (like 'x'), received shape [5]");
    expect(() => siluBackward(f([6]), f([6]), f([5]))).toThrow("silu_backward: argument 'dx' expected 6 elements (like 'x'), received shape [5]");
    expect(() => randn(f([4]), 1, -1)).toThrow("randn: argument 'stream' expected an integer >= 0 <= 9007199254740991, received -1");
    expect(() => randn(f([4]), 1, 1.5)).toThrow("randn: argument 'stream' expected an integer >= 0 <= 9007199254740991, received 1.5");
    expect(() => randn(f([4]), 1, 0, 0, -1)).toThrow("randn: argument 'std' expected a finite number >= 0, received -1");
    expect(() => randn(f([4]), 1, 0, Number.POSITIVE_INFINITY)).toThrow("randn: argument 'mean' expected a finite number, received Infinity");
  });

  it('gemm: operand shapes, batches, transposes and options', () => {
    const a = f([4, 5]);
    const b = f([5, 6]);
    const c = f([4, 6]);
    expect(() => gemm(a, f([6, 6]), c)).toThrow("gemm: argument 'B' expected [K, N] with K = 5 (from A [4, 5]), received shape [6, 6]");
    expect(() => gemm(a, f([6, 4]), c, { transB: true })).toThrow("gemm: argument 'B' expected [N, K] with K = 5 (from A [4, 5]), received shape [6, 4] (transposed)");
    expect(() => gemm(a, b, c, { transA: true })).toThrow("gemm: argument 'B' expected [K, N] with K = 4 (from A [4, 5], transposed), received shape [5, 6]");
    expect(() => gemm(a, b, f([4, 7]))).toThrow("gemm: argument 'C' expected shape [4, 6] (M from A, N from B), received shape [4, 7]");
    expect(() => gemm(a, b, f([2, 4, 7]))).toThrow("gemm: argument 'C' expected shape [2, 4, 6] (M from A, N from B), received shape [2, 4, 7]");
    expect(() => gemm(a, b, f([1, 4, 7]))).toThrow("gemm: argument 'C' expected shape [1, 4, 6] (M from A, N from B), received shape [1, 4, 7]");
    expect(() => gemm(f([3, 4, 5]), b, f([2, 4, 6]))).toThrow("gemm: argument 'A' expected a batch of 2 (like C [2, 4, 6]) or 1 / a 2-D matrix (shared by every batch), received shape [3, 4, 5]");
    expect(() => gemm(a, f([3, 5, 6]), f([2, 4, 6]))).toThrow("gemm: argument 'B' expected a batch of 2 (like C [2, 4, 6]) or 1 / a 2-D matrix (shared by every batch), received shape [3, 5, 6]");
    expect(() => gemm(f([2, 4, 5]), f([1, 5, 6]), f([2, 4, 6]))).not.toThrow();
    expect(() => gemm(f([0, 5]), b, f([0, 6]))).toThrow("gemm: argument 'M' expected >= 1, received 0 (shapes A [0, 5], B [5, 6], C [0, 6])");
    expect(() => gemm(f([4, 0]), f([0, 6]), c)).toThrow("gemm: argument 'K' expected >= 1, received 0 (shapes A [4, 0], B [0, 6], C [4, 6])");
    expect(() => gemm(a, f([5, 0]), f([4, 0]))).toThrow("gemm: argument 'N' expected >= 1, received 0 (shapes A [4, 5], B [5, 0], C [4, 0])");
    expect(() => gemm(a, b, f([0, 4, 6]))).toThrow("gemm: argument 'batch' expected >= 1, received 0 (shapes A [4, 5], B [5, 6], C [0, 4, 6])");
    expect(() => gemm(a, b, c, null as never)).toThrow("gemm: argument 'opts' expected an options object, received null");
    expect(() => gemm(a, b, c, 3 as never)).toThrow("gemm: argument 'opts' expected an options object, received 3");
    const sq = f([5, 5]);
    expect(() => gemm(sq, f([5, 5]), sq)).toThrow("gemm: argument 'C' expected an output tensor distinct from A and B, received the same tensor as A");
    expect(() => gemm(f([5, 5]), sq, sq)).toThrow("gemm: argument 'C' expected an output tensor distinct from A and B, received the same tensor as B");
    expect(() => gemm(a, b, c, { transB: 'x' as never })).toThrow("gemm: argument 'transB' expected a boolean, received 'x'");
    expect(() => gemm(a, b, c, { beta: Number.NaN })).toThrow("gemm: argument 'beta' expected a finite number, received NaN");
    expect(() => gemm(a, f([5]), c)).toThrow("gemm: argument 'B' expected a 2- to 3-D tensor, received shape [5]");
    expect(() => gemm(a, b, f([24]))).toThrow("gemm: argument 'C' expected a 2- to 3-D tensor, received shape [24]");
    expect(() => gemm(a, b, 'x' as never)).toThrow("gemm: argument 'C' expected a Tensor, received 'x'");
  });

  it('gemm_grouped: the groups array, each group, options', () => {
    const g = () => ({ a: f([4, 3]), b: f([3, 5]), c: f([4, 5]) });
    expect(() => gemmGrouped([g(), g()])).not.toThrow();
    expect(() => gemmGrouped([])).toThrow("gemm_grouped: argument 'groups' expected an array of 1 to 8 {a, b, c} groups, received 0 groups");
    expect(() => gemmGrouped(Array.from({ length: 9 }, g))).toThrow("gemm_grouped: argument 'groups' expected an array of 1 to 8 {a, b, c} groups, received 9 groups");
    expect(() => gemmGrouped(Array.from({ length: 8 }, g))).not.toThrow();
    expect(() => gemmGrouped('x' as never)).toThrow("gemm_grouped: argument 'groups' expected an array of 1 to 8 {a, b, c} groups, received x");
    expect(() => gemmGrouped([g()], null as never)).toThrow("gemm_grouped: argument 'opts' expected an options object, received null");
    expect(() => gemmGrouped([g()], 2 as never)).toThrow("gemm_grouped: argument 'opts' expected an options object, received 2");
    expect(() => gemmGrouped([g()], { transA: 1 as never })).toThrow("gemm_grouped: argument 'transA' expected a boolean, received 1");
    expect(() => gemmGrouped([g()], { transB: 1 as never })).toThrow("gemm_grouped: argument 'transB' expected a boolean, received 1");
    expect(() => gemmGrouped([g()], { alpha: Number.NaN })).toThrow("gemm_grouped: argument 'alpha' expected a finite number, received NaN");
    expect(() => gemmGrouped([g()], { beta: Number.NaN })).toThrow("gemm_grouped: argument 'beta' expected a finite number, received NaN");
    expect(() => gemmGrouped([g(), null as never])).toThrow("gemm_grouped: argument 'groups[1]' expected an {a, b, c} object, received null");
    expect(() => gemmGrouped([{ ...g(), a: 'x' as never }])).toThrow("gemm_grouped: argument 'groups[0].a' expected a Tensor, received 'x'");
    expect(() => gemmGrouped([{ ...g(), b: f([15]) }])).toThrow("gemm_grouped: argument 'groups[0].b' expected a 2-D tensor, received shape [15]");
    expect(() => gemmGrouped([{ ...g(), b: f([4, 5]) }])).toThrow("gemm_grouped: argument 'groups[0].b' expected [K, N] with K = 3 (from a [4, 3]), received shape [4, 5]");
    expect(() => gemmGrouped([{ ...g(), b: f([5, 4]) }], { transB: true })).toThrow("gemm_grouped: argument 'groups[0].b' expected [N, K] with K = 3 (from a [4, 3]), received shape [5, 4]");
    expect(() => gemmGrouped([{ a: f([3, 4]), b: f([3, 5]), c: f([4, 5]) }], { transA: true })).not.toThrow();
    expect(() => gemmGrouped([{ ...g(), c: f([5, 4]) }])).toThrow("gemm_grouped: argument 'groups[0].c' expected shape [4, 5] (M from a, N from b), received shape [5, 4]");
    expect(() => gemmGrouped([{ ...g(), c: f([4, 4]) }])).toThrow("gemm_grouped: argument 'groups[0].c' expected shape [4, 5] (M from a, N from b), received shape [4, 4]");
    const sq = f([3, 3]);
    expect(() => gemmGrouped([{ a: sq, b: f([3, 3]), c: sq }])).toThrow("gemm_grouped: argument 'groups[0].c' expected an output tensor distinct from a and b, received an input tensor");
    expect(() => gemmGrouped([{ a: f([3, 3]), b: sq, c: sq }])).toThrow("gemm_grouped: argument 'groups[0].c' expected an output tensor distinct from a and b, received an input tensor");
  });

  it('adamw: slots, shared buffers and hyperparameters', () => {
    const slot = (decay = true) => ({ p: f([3]), g: f([3]), m: f([3]), v: f([3]), decay });
    const gn = () => f([1]);
    const h = { lr: 1e-3 };
    expect(() => adamw([slot(), slot(false)], gn(), 1, h)).not.toThrow();
    expect(() => adamw([slot()], gn(), 1, null as never)).toThrow("adamw: argument 'opts' expected an object with lr, received null");
    expect(() => adamw([slot()], gn(), 1, 5 as never)).toThrow("adamw: argument 'opts' expected an object with lr, received 5");
    expect(() => adamw([slot()], 'x' as never, 1, h)).toThrow("adamw: argument 'gnorm' expected a Tensor, received 'x'");
    expect(() => adamw([slot(), null as never], gn(), 1, h)).toThrow("adamw: argument 'slots[1]' expected an object { p, g, m, v, decay }, received null");
    expect(() => adamw([slot(), 3 as never], gn(), 1, h)).toThrow("adamw: argument 'slots[1]' expected an object { p, g, m, v, decay }, received 3");
    for (const k of ['p', 'g', 'm', 'v'] as const) expect(() => adamw([slot(), { ...slot(), [k]: 'x' }], gn(), 1, h)).toThrow(`adamw: argument '${k}_1' expected a Tensor, received 'x'`);
    for (const k of ['g', 'm', 'v'] as const) expect(() => adamw([{ ...slot(), [k]: f([4]) }], gn(), 1, h)).toThrow(`adamw: argument '${k}_0' expected shape [3], received shape [4]`);
    const s0 = slot();
    expect(() => adamw([s0, { ...slot(), m: s0.m }], gn(), 1, h)).toThrow("adamw: argument 'm_1' expected a buffer no other slot argument uses, received a tensor already passed");
    expect(() => adamw([s0, { ...slot(), g: s0.p }], gn(), 1, h)).toThrow("adamw: argument 'g_1' expected a buffer that no p, m or v uses, received a tensor also being updated");
    const s1 = { p: f([1]), g: f([1]), m: f([1]), v: f([1]), decay: true };
    expect(() => adamw([s1], s1.v, 1, h)).toThrow("adamw: argument 'gnorm' expected its own buffer, received a tensor also being updated");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, beta2: 1 })).toThrow("adamw: argument 'beta2' expected a finite number >= 0 and < 1, received 1");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, beta2: 0.99999 })).not.toThrow();
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, beta2: -0.1 })).toThrow("adamw: argument 'beta2' expected a finite number >= 0, received -0.1");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, beta1: -0.1 })).toThrow("adamw: argument 'beta1' expected a finite number >= 0, received -0.1");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, weightDecay: -1 })).toThrow("adamw: argument 'weightDecay' expected a finite number >= 0, received -1");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, maxGradNorm: Number.NaN })).toThrow("adamw: argument 'maxGradNorm' expected a finite number, received NaN");
    expect(() => adamw([slot()], gn(), 1, { lr: 1e-3, maxGradNorm: -1 })).not.toThrow();
  });

  it('losses, norms, SwiGLU, timestep embedding, RoPE and embedding: sizes named with what they follow', () => {
    expect(() => crossEntropy(f([2, 5]), i32([1, 2, 3]), f([2]), f([2, 5]))).toThrow("cross_entropy: argument 'targets' expected 2 elements (like the rows of 'logits'), received shape [3]");
    expect(() => crossEntropy(f([2, 5]), i32([1, 2]), f([3]), f([2, 5]))).toThrow("cross_entropy: argument 'losses' expected 2 elements (like the rows of 'logits'), received shape [3]");
    expect(() => crossEntropy(f([2, 5]), i32([1, 2]), f([2]), f([2, 4]))).toThrow("cross_entropy: argument 'dlogits' expected shape [2, 5], received shape [2, 4]");
    expect(() => crossEntropy(f([2, 0]), i32([1, 2]), f([2]), f([2, 0]))).toThrow("cross_entropy: argument 'logits' expected shape [*, 1], received shape [2, 0]");
    expect(() => crossEntropy(f([10]), i32([1]), f([1]), f([10]))).toThrow("cross_entropy: argument 'logits' expected a 2-D tensor, received shape [10]");
    expect(() => mseForward(f([2, 0]), f([2, 0]), f([2]), f([1]))).toThrow("mse_forward: argument 'pred' expected shape [*, 1], received shape [2, 0]");
    expect(() => mseForward(f([2, 3]), f([3, 2]), f([2]), f([1]))).toThrow("mse_forward: argument 'target' expected shape [2, 3], received shape [3, 2]");
    expect(() => mseForward(f([2, 3]), f([2, 3]), f([3]), f([1]))).toThrow("mse_forward: argument 'mask' expected 2 elements (like the rows of 'pred'), received shape [3]");
    expect(() => mseForward(f([2, 3]), f([2, 3]), f([2]), f([2]))).toThrow("mse_forward: argument 'loss' expected 1 elements, received shape [2]");
    expect(() => mseBackward(f([2, 3]), f([2, 3]), f([2]), f([6]))).toThrow("mse_backward: argument 'dpred' expected shape [2, 3], received shape [6]");
    expect(() => mseBackward(f([6]), f([6]), f([6]), f([6]))).toThrow("mse_backward: argument 'pred' expected a 2-D tensor, received shape [6]");
    expect(() => mseBackward(f([2, 3]), f([2, 3]), f([2]), f([2, 3]), Number.NaN)).toThrow("mse_backward: argument 'gradScale' expected a finite number, received NaN");
    expect(() => rmsnormForward(f([2, 4]), f([2, 2]), f([2, 4]), f([2]))).toThrow("rmsnorm_forward: argument 'w' expected a 1-D tensor, received shape [2, 2]");
    expect(() => rmsnormForward(f([2, 4]), f([0]), f([2, 4]), f([2]))).toThrow("rmsnorm_forward: argument 'w' expected at least 1 element, received shape [0]");
    expect(() => rmsnormForward(f([2, 4]), f([3]), f([2, 4]), f([2]))).toThrow("rmsnorm_forward: argument 'x' expected a last dimension of 3 (like 'w'), received shape [2, 4]");
    expect(() => rmsnormForward(f([8]), f([4]), f([8]), f([2]))).toThrow("rmsnorm_forward: argument 'x' expected a last dimension of 4 (like 'w'), received shape [8]");
    expect(() => rmsnormForward(f([3, 4]), f([4]), f([3, 4]), f([2]))).toThrow("rmsnorm_forward: argument 'rstd' expected 3 elements (like the rows of x), received shape [2]");
    expect(() => rmsnormForward(f([3, 4]), f([4]), f([4, 3]), f([3]))).toThrow("rmsnorm_forward: argument 'y' expected shape [3, 4], received shape [4, 3]");
    expect(() => rmsnormForward(f([3, 4]), f([4]), f([3, 4]), f([3]), -1)).toThrow("rmsnorm_forward: argument 'eps' expected a finite number >= 0, received -1");
    const rb = (o: Partial<Record<'rstd' | 'dy' | 'dx' | 'dw', Tensor>>) => () => rmsnormBackward(f([3, 4]), f([4], 1), o.rstd ?? f([3]), o.dy ?? f([3, 4]), o.dx ?? f([3, 4]), o.dw ?? f([4]));
    expect(rb({ rstd: f([2]) })).toThrow("rmsnorm_backward: argument 'rstd' expected 3 elements (like the rows of x), received shape [2]");
    expect(rb({ dy: f([4, 3]) })).toThrow("rmsnorm_backward: argument 'dy' expected shape [3, 4], received shape [4, 3]");
    expect(rb({ dx: f([4, 3]) })).toThrow("rmsnorm_backward: argument 'dx' expected shape [3, 4], received shape [4, 3]");
    expect(rb({ dw: f([2, 2]) })).toThrow("rmsnorm_backward: argument 'dw' expected shape [4], received shape [2, 2]");
    expect(() => swigluForward(f([2, 3]), f([3, 2]), f([2, 3]))).toThrow("swiglu_forward: argument 'up' expected shape [2, 3], received shape [3, 2]");
    expect(() => swigluForward(f([2, 3]), f([2, 3]), f([6]))).toThrow("swiglu_forward: argument 'h' expected shape [2, 3], received shape [6]");
    for (const [i, name] of ['up', 'dh', 'dgate', 'dup'].entries()) {
      const args = [f([2, 3]), f([2, 3]), f([2, 3]), f([2, 3]), f([2, 3])];
      args[i + 1] = f([6]);
      expect(() => swigluBackward(args[0], args[1], args[2], args[3], args[4])).toThrow(`swiglu_backward: argument '${name}' expected shape [2, 3], received shape [6]`);
    }
    expect(() => timestepEmbedding(f([3]), f([2, 8]))).toThrow("timestep_embedding: argument 'out' expected shape [3, dim] with an even dim >= 2, received shape [2, 8]");
    expect(() => timestepEmbedding(f([3]), f([3, 7]))).toThrow("timestep_embedding: argument 'out' expected shape [3, dim] with an even dim >= 2, received shape [3, 7]");
    expect(() => timestepEmbedding(f([3]), f([3, 0]))).toThrow("timestep_embedding: argument 'out' expected shape [3, dim] with an even dim >= 2, received shape [3, 0]");
    expect(() => timestepEmbedding(f([3]), f([3, 2]))).not.toThrow();
    expect(() => timestepEmbedding(f([3, 1]), f([3, 8]))).toThrow("timestep_embedding: argument 't' expected a 1-D tensor, received shape [3, 1]");
    expect(() => timestepEmbedding(f([3]), f([24]))).toThrow("timestep_embedding: argument 'out' expected a 2-D tensor, received shape [24]");
    expect(() => timestepEmbedding(f([3]), f([3, 8]), 1)).toThrow("timestep_embedding: argument 'maxPeriod' expected a finite number > 1, received 1");
    expect(() => ropeForward(f([3, 2, 3]), i32([0, 1, 2]), f([3, 2, 3]), 1e4)).toThrow("rope_forward: argument 'x' expected shape [N, H, head_dim] with an even head_dim, received shape [3, 2, 3]");
    expect(() => ropeForward(f([3, 2, 0]), i32([0, 1, 2]), f([3, 2, 0]), 1e4)).toThrow("rope_forward: argument 'x' expected shape [N, H, head_dim] with an even head_dim, received shape [3, 2, 0]");
    expect(() => ropeBackward(f([3, 2, 3]), i32([0, 1, 2]), f([3, 2, 3]), 1e4)).toThrow("rope_backward: argument 'dy' expected shape [N, H, head_dim] with an even head_dim, received shape [3, 2, 3]");
    expect(() => ropeBackward(f([3, 2, 4]), i32([0, 1]), f([3, 2, 4]), 1e4)).toThrow("rope_backward: argument 'pos' expected 3 elements (like the N of dy), received shape [2]");
    expect(() => ropeBackward(f([3, 2, 4]), i32([0, 1, 2]), f([3, 8]), 1e4)).toThrow("rope_backward: argument 'dx' expected shape [3, 2, 4], received shape [3, 8]");
    expect(() => ropeForward(f([3, 2, 4]), i32([0, 1, 2]), f([3, 2, 4]), 0)).toThrow("rope_forward: argument 'theta' expected a finite number > 0, received 0");
    expect(() => embeddingForward(i32([1, 2], [1, 2]), f([4, 3]), f([2, 3]))).toThrow("embedding_forward: argument 'ids' expected a 1-D tensor, received shape [1, 2]");
    expect(() => embeddingForward(i32([1, 2]), f([12]), f([2, 3]))).toThrow("embedding_forward: argument 'table' expected a 2-D tensor, received shape [12]");
    expect(() => embeddingForward(i32([1, 2]), f([4, 3]), f([3, 2]))).toThrow("embedding_forward: argument 'out' expected shape [2, 3], received shape [3, 2]");
    expect(() => embeddingBackward(i32([1, 2], [1, 2]), f([2, 3]), f([4, 3]))).toThrow("embedding_backward: argument 'ids' expected a 1-D tensor, received shape [1, 2]");
    expect(() => embeddingBackward(i32([1, 2]), f([2, 3]), f([12]))).toThrow("embedding_backward: argument 'dtable' expected a 2-D tensor, received shape [12]");
    expect(() => embeddingBackward(i32([1, 2]), f([3, 2]), f([4, 3]))).toThrow("embedding_backward: argument 'dout' expected shape [2, 3], received shape [3, 2]");
  });

  it('timeCall: the repetition count', () => {
    const call = { tensors: [f([4])], floats: [1] };
    expect(timeCall('fill', call, 1)).toHaveLength(1);
    expect(timeCall('fill', call, 3)).toHaveLength(3);
    for (const reps of [0, 1.5, 100001]) expect(() => timeCall('fill', call, reps)).toThrow(`timeCall: argument 'reps' expected an integer in 1..100000, received ${reps}`);
    expect(() => opIndex('no_such_op')).toThrow("no_such_op: this addon has no op named 'no_such_op' (rebuild the addon?)");
  });
});

describe('grpo ops: every tensor and option checked, named', () => {
  const t = (a: number[], shape = [a.length]) => scope.track(Tensor.from(Float32Array.from(a), shape));
  // two samples of two rows of 3 channels; sde timesteps 0.8 -> 0.6 and 0.6 -> 0.4
  const lossTensors = () => ({
    v: f([4, 3], 0.1), x: f([4, 3], 0.2), xNext: f([4, 3], 0.3), offsets: i32([0, 2, 4]),
    sigma: t([0.8, 0.6]), sigmaNext: t([0.6, 0.4]), logpOld: t([0, 0]), adv: t([1, -1]),
    dv: f([4, 3]), logp: f([2]), stats: f([5]),
  });
  const lossOpts = () => ({ mode: 'sde' as const, noiseLevel: 0.7, sigmaMax: 0.9, clipRange: 0.2 });
  const loss = (tt: Record<string, unknown>, oo: Record<string, unknown> = {}) => () => grpoLoss({ ...lossTensors(), ...tt } as never, { ...lossOpts(), ...oo } as never);

  it('grpo_loss: each tensor refused when it is not one, of the other dtype or of the wrong size', () => {
    expect(loss({})).not.toThrow();
    expect(loss({ meanRef: f([4, 3]) }, { beta: 0.5 })).not.toThrow();
    const sizes: Record<string, string> = {
      x: "12 elements (like 'v')", xNext: "12 elements (like 'v')", dv: "12 elements (like 'v')",
      sigma: "2 elements (like the sample count (offsets' length - 1))", sigmaNext: "2 elements (like the sample count (offsets' length - 1))",
      logpOld: "2 elements (like the sample count (offsets' length - 1))", adv: "2 elements (like the sample count (offsets' length - 1))",
      logp: "2 elements (like the sample count (offsets' length - 1))", stats: '5 elements',
    };
    for (const k of Object.keys(lossTensors())) {
      expect(loss({ [k]: 'bogus' }), k).toThrow(`grpo_loss: argument '${k}' expected a Tensor, received 'bogus'`);
      const want = k === 'offsets' ? 'i32' : 'f32';
      const other = want === 'f32' ? i32([0, 0, 0]) : f([3]);
      expect(loss({ [k]: other }), `${k} dtype`).toThrow(`grpo_loss: argument '${k}' expected dtype ${want}, received ${other.dtype} [3]`);
      if (sizes[k]) expect(loss({ [k]: f([7]) }), `${k} size`).toThrow(`grpo_loss: argument '${k}' expected ${sizes[k]}, received shape [7]`);
    }
    expect(loss({ v: f([12]) })).toThrow("grpo_loss: argument 'v' expected a 2-D tensor, received shape [12]");
    expect(loss({ offsets: i32([0, 2, 4], [1, 3]) })).toThrow("grpo_loss: argument 'offsets' expected a 1-D tensor, received shape [1, 3]");
    expect(loss({ offsets: i32([0]) })).toThrow("grpo_loss: argument 'offsets' expected at least 2 elements, received shape [1]");
    // meanRef: read (and sized) only when beta > 0, but a non-tensor is refused either way
    expect(loss({ meanRef: f([7]) }, { beta: 0.5 })).toThrow("grpo_loss: argument 'meanRef' expected 12 elements (like 'v'), received shape [7]");
    expect(loss({ meanRef: f([7]) })).not.toThrow();
    expect(loss({ meanRef: 'bogus' })).toThrow("grpo_loss: argument 'meanRef' expected a Tensor, received 'bogus'");
    expect(loss({ meanRef: i32([0]) })).toThrow("grpo_loss: argument 'meanRef' expected dtype f32, received i32 [1]");
  });

  it('grpo_loss: the options, mode by mode', () => {
    expect(() => grpoLoss(null as never, lossOpts())).toThrow("grpo_loss: argument 'tensors' expected an object of tensors, received null");
    expect(() => grpoLoss(lossTensors(), null as never)).toThrow("grpo_loss: argument 'options' expected an object, received null");
    expect(() => grpoLoss(lossTensors(), 3 as never)).toThrow("grpo_loss: argument 'options' expected an object, received 3");
    expect(loss({}, { beta: -0.1 })).toThrow("grpo_loss: argument 'beta' expected a finite number >= 0, received -0.1");
    expect(loss({}, { beta: Number.NaN })).toThrow("grpo_loss: argument 'beta' expected a finite number >= 0, received NaN");
    expect(loss({}, { noiseLevel: 0 })).toThrow("grpo_loss: argument 'noiseLevel' expected a finite number > 0, received 0");
    expect(loss({}, { noiseLevel: 3 })).not.toThrow();
    expect(loss({}, { sigmaMax: undefined })).toThrow("grpo_loss: argument 'sigmaMax' expected a finite number > 0 < 1, received undefined");
    expect(loss({}, { sigmaMax: 0 })).toThrow("grpo_loss: argument 'sigmaMax' expected a finite number > 0 < 1, received 0");
    expect(loss({}, { sigmaMax: 1 })).toThrow("grpo_loss: argument 'sigmaMax' expected a finite number > 0 < 1, received 1");
    expect(loss({}, { sigmaMax: 0.999 })).not.toThrow();
    expect(loss({}, { mode: 'cps', noiseLevel: 1, sigmaMax: undefined })).not.toThrow();
    expect(loss({}, { mode: 'cps', noiseLevel: 0 })).toThrow("grpo_loss: argument 'noiseLevel' expected a finite number > 0 <= 1, received 0");
    expect(loss({}, { clipRange: Number.NaN })).toThrow("grpo_loss: argument 'clipRange' expected a finite number >= 0, received NaN");
    expect(loss({}, { clipRange: 0 })).not.toThrow();
  });

  const advArgs = () => [t([1, 2, 3]), i32([0, 0, 1]), f([3]), i32([0, 0, 0]), f([4])] as const;
  const adv = (i: number, v: unknown, o: Record<string, unknown> = { groups: 2 }) => () => {
    const a: unknown[] = [...advArgs(), o];
    if (i >= 0) a[i] = v;
    return grpoAdvantages(...(a as Parameters<typeof grpoAdvantages>));
  };

  it('grpo_advantages: each tensor refused when it is not one, of the other dtype or of the wrong size', () => {
    expect(adv(-1, null)).not.toThrow();
    ['rewards', 'groups', 'adv', 'flags', 'stats'].forEach((name, i) => {
      expect(adv(i, 'bogus'), name).toThrow(`grpo_advantages: argument '${name}' expected a Tensor, received 'bogus'`);
      const want = name === 'groups' || name === 'flags' ? 'i32' : 'f32';
      const other = want === 'f32' ? i32([0, 0, 0]) : f([3]);
      expect(adv(i, other), `${name} dtype`).toThrow(`grpo_advantages: argument '${name}' expected dtype ${want}, received ${other.dtype} [3]`);
      if (i > 0) {
        const wrong = want === 'f32' ? f([7]) : i32(Array(7).fill(0));
        expect(adv(i, wrong), `${name} size`).toThrow(`grpo_advantages: argument '${name}' expected ${name === 'stats' ? '4 elements' : "3 elements (like 'rewards')"}, received shape [7]`);
      }
    });
    expect(adv(0, t([1, 2, 3], [3, 1]))).toThrow("grpo_advantages: argument 'rewards' expected a 1-D tensor, received shape [3, 1]");
  });

  it('grpo_advantages: the options and the group ids', () => {
    expect(adv(-1, null, null as never)).toThrow("grpo_advantages: argument 'options' expected an object with groups, received null");
    expect(adv(-1, null, 5 as never)).toThrow("grpo_advantages: argument 'options' expected an object with groups, received 5");
    // at most one group per sample (the kernels hold per-group sums)
    expect(adv(-1, null, { groups: 1.5 })).toThrow("grpo_advantages: argument 'groupCount' expected an integer >= 1 <= 3, received 1.5");
    expect(adv(-1, null, { groups: 3 })).not.toThrow();
    expect(adv(-1, null, { groups: 4 })).toThrow("grpo_advantages: argument 'groupCount' expected an integer >= 1 <= 3, received 4");
    expect(adv(-1, null, { groups: 2, globalStd: true })).not.toThrow();
    expect(adv(-1, null, { groups: 2, eps: Number.NaN })).toThrow("grpo_advantages: argument 'eps' expected a finite number > 0, received NaN");
    expect(adv(-1, null, { groups: 2, clipMax: -1 })).toThrow("grpo_advantages: argument 'clipMax' expected a finite number > 0, received -1");
    expect(adv(-1, null, { groups: 2, stdThreshold: -1 })).toThrow("grpo_advantages: argument 'stdThreshold' expected a finite number >= 0, received -1");
    expect(adv(-1, null, { groups: 2, stdThreshold: 0.5 })).not.toThrow();
    // ids in [0, G): the first bad one is named with its sample
    expect(adv(1, i32([0, -1, 5]))).toThrow("grpo_advantages: argument 'groups' expected ids in [0, 2), received -1 at sample 1");
    expect(adv(1, i32([0, 1, 2]))).toThrow("grpo_advantages: argument 'groups' expected ids in [0, 2), received 2 at sample 2");
    expect(adv(1, i32([1, 1, 1]))).not.toThrow();
  });
});
