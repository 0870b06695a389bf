// GEMM (kernels/gemm): C = alpha * op(A) op(B) + beta * C in fp32, row-major, with optional
// transposes and batches. Shapes (op(A) is M x K, op(B) is K x N):
//   A: [M, K], or [K, M] with transA; B: [K, N], or [N, K] with transB; C: [M, N].
//   Batched: C is [batch, M, N]; A and B are [batch, ., .] or 2-D / [1, ., .] (shared by every batch:
//   stride 0, e.g. one weight matrix for all batches).
// beta = 0 overwrites C without reading it (C may hold NaN); beta = 1 accumulates.
import type { Tensor } from '../native/tensor.js';
import { shapeString } from '../native/tensor.js';
import { argError } from '../native/errors.js';
import { defineOp } from './registry.js';
import { boolArg, numberArg, rankArg, sameDevice, tensorArg } from './validate.js';

export interface GemmOptions {
  /** use A^T: A is stored [K, M] (default false) */
  transA?: boolean;
  /** use B^T: B is stored [N, K] (default false) */
  transB?: boolean;
  /** default 1 */
  alpha?: number;
  /** default 0 (C is not read) */
  beta?: number;
}

/** The shapes and strides of one gemm call, as the native op takes them. */
export interface GemmDims {
  M: number;
  N: number;
  K: number;
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
}

const OP = 'gemm';

/** Validates the operands of gemm and derives M, N, K, the batch and the strides. */
export function gemmDims(a: Tensor, b: Tensor, c: Tensor, transA: boolean, transB: boolean): GemmDims {
  rankArg(OP, 'A', a, 2, 3);
  rankArg(OP, 'B', b, 2, 3);
  rankArg(OP, 'C', c, 2, 3);
  const last2 = (t: Tensor): [number, number] => [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]];
  const [ar, ac] = last2(a);
  const [br, bc] = last2(b);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (Kb !== K)
    throw argError(
      OP,
      'B',
      `${transB ? '[N, K]' : '[K, N]'} with K = ${K} (from A ${shapeString(a.shape)}${transA ? ', transposed' : ''})`,
      `shape ${shapeString(b.shape)}${transB ? ' (transposed)' : ''}`,
      'E_SHAPE',
    );
  const batch = c.shape.length === 3 ? c.shape[0] : 1;
  const [cr, cc] = last2(c);
  if (cr !== M || cc !== N)
    throw argError(
      OP,
      'C',
      `shape ${batch > 1 || c.shape.length === 3 ? `[${batch}, ${M}, ${N}]` : `[${M}, ${N}]`} (M from A, N from B)`,
      `shape ${shapeString(c.shape)}`,
      'E_SHAPE',
    );
  const stride = (t: Tensor, name: string, rows: number, cols: number): number => {
    if (t.shape.length === 2 || t.shape[0] === 1) return 0;
    if (t.shape[0] !== batch)
      throw argError(
        OP,
        name,
        `a batch of ${batch} (like C ${shapeString(c.shape)}) or 1 / a 2-D matrix (shared by every batch)`,
        `shape ${shapeString(t.shape)}`,
        'E_SHAPE',
      );
    return rows * cols;
  };
  const strideA = stride(a, 'A', ar, ac);
  const strideB = stride(b, 'B', br, bc);
  const strideC = batch > 1 ? M * N : 0;
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
    ['batch', batch],
  ] as const)
    if (v < 1) throw argError(OP, name, '>= 1', `${v} (shapes A ${shapeString(a.shape)}, B ${shapeString(b.shape)}, C ${shapeString(c.shape)})`, 'E_SHAPE');
  return { M, N, K, batch, strideA, strideB, strideC };
}

/**
 * C = alpha * op(A) op(B) + beta * C (fp32). `gemm.async(...)` runs it off the event loop.
 * @example gemm(x, w, y, { transB: true })   // y[T, out] = x[T, in] w[out, in]^T (a linear layer)
 */
export const gemm = defineOp('gemm', (a: Tensor, b: Tensor, c: Tensor, opts: GemmOptions = {}) => {
  tensorArg(OP, 'A', a);
  tensorArg(OP, 'B', b);
  tensorArg(OP, 'C', c);
  if (opts === null || typeof opts !== 'object') throw argError(OP, 'opts', 'an options object', String(opts));
  const transA = opts.transA === undefined ? false : boolArg(OP, 'transA', opts.transA);
  const transB = opts.transB === undefined ? false : boolArg(OP, 'transB', opts.transB);
  const alpha = opts.alpha === undefined ? 1 : numberArg(OP, 'alpha', opts.alpha);
  const beta = opts.beta === undefined ? 0 : numberArg(OP, 'beta', opts.beta);
  sameDevice(OP, { A: a, B: b, C: c });
  if (c.handle === a.handle || c.handle === b.handle)
    throw argError(OP, 'C', 'an output tensor distinct from A and B', c.handle === a.handle ? 'the same tensor as A' : 'the same tensor as B');
  const d = gemmDims(a, b, c, transA, transB);
  return {
    tensors: [a, b, c],
    ints: [transA ? 1 : 0, transB ? 1 : 0, d.M, d.N, d.K, d.batch, d.strideA, d.strideB, d.strideC],
    floats: [alpha, beta],
  };
});
