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

export interface GemmGroup {
  a: Tensor;
  b: Tensor;
  c: Tensor;
}

const GOP = 'gemm_grouped';

/**
 * Up to 8 independent 2-D products C_g = alpha * op(A_g) op(B_g) + beta * C_g in one call (one launch on
 * a GPU): the Mixture-of-Transformers experts' projections over their routed token sets. Each group's
 * shapes follow `gemm` (2-D only); the transposes, alpha and beta are shared. A group may have M = 0
 * rows (an expert with no tokens): it is skipped.
 * @example gemmGrouped([{ a: xUnd, b: wUnd, c: yUnd }, { a: xGen, b: wGen, c: yGen }], { transB: true })
 */
export const gemmGrouped = defineOp('gemm_grouped', (groups: GemmGroup[], opts: GemmOptions = {}) => {
  if (!Array.isArray(groups) || groups.length < 1 || groups.length > 8)
    throw argError(GOP, 'groups', 'an array of 1 to 8 {a, b, c} groups', Array.isArray(groups) ? `${groups.length} groups` : String(groups));
  if (opts === null || typeof opts !== 'object') throw argError(GOP, 'opts', 'an options object', String(opts));
  const transA = opts.transA === undefined ? false : boolArg(GOP, 'transA', opts.transA);
  const transB = opts.transB === undefined ? false : boolArg(GOP, 'transB', opts.transB);
  const alpha = opts.alpha === undefined ? 1 : numberArg(GOP, 'alpha', opts.alpha);
  const beta = opts.beta === undefined ? 0 : numberArg(GOP, 'beta', opts.beta);
  const Ms: number[] = [];
  const Ns: number[] = [];
  const Ks: number[] = [];
  const all: Record<string, Tensor> = {};
  groups.forEach((g, i) => {
    if (g === null || typeof g !== 'object') throw argError(GOP, `groups[${i}]`, 'an {a, b, c} object', String(g));
    for (const k of ['a', 'b', 'c'] as const) {
      tensorArg(GOP, `groups[${i}].${k}`, g[k]);
      rankArg(GOP, `groups[${i}].${k}`, g[k], 2, 2);
      all[`groups[${i}].${k}`] = g[k];
    }
    const [M, K] = transA ? [g.a.shape[1], g.a.shape[0]] : [g.a.shape[0], g.a.shape[1]];
    const [Kb, N] = transB ? [g.b.shape[1], g.b.shape[0]] : [g.b.shape[0], g.b.shape[1]];
    if (Kb !== K)
      throw argError(GOP, `groups[${i}].b`, `${transB ? '[N, K]' : '[K, N]'} with K = ${K} (from a ${shapeString(g.a.shape)})`, `shape ${shapeString(g.b.shape)}`, 'E_SHAPE');
    if (g.c.shape[0] !== M || g.c.shape[1] !== N)
      throw argError(GOP, `groups[${i}].c`, `shape [${M}, ${N}] (M from a, N from b)`, `shape ${shapeString(g.c.shape)}`, 'E_SHAPE');
    if (g.c.handle === g.a.handle || g.c.handle === g.b.handle)
      throw argError(GOP, `groups[${i}].c`, 'an output tensor distinct from a and b', 'an input tensor');
    Ms.push(M);
    Ns.push(N);
    Ks.push(K);
  });
  sameDevice(GOP, all);
  return {
    tensors: [...groups.map((g) => g.a), ...groups.map((g) => g.b), ...groups.map((g) => g.c)],
    ints: [groups.length, transA ? 1 : 0, transB ? 1 : 0, ...Ms, ...Ns, ...Ks],
    floats: [alpha, beta],
  };
});
