// float64 reference for kernels/gemm: C = alpha * op(A) op(B) + beta * C, row-major, batched.
export interface GemmRefArgs {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  batch?: number;
  /** element strides between batches; 0 = the same matrix for every batch */
  strideA?: number;
  strideB?: number;
}

/** Returns the new C (batch * M * N); `c` is read only when beta != 0. */
export function gemmRef(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number> | null, p: GemmRefArgs): Float64Array {
  const { transA, transB, M, N, K, alpha, beta } = p;
  const batch = p.batch ?? 1;
  const sA = p.strideA ?? M * K;
  const sB = p.strideB ?? K * N;
  const out = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const oa = bi * sA;
    const ob = bi * sB;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[oa + k * M + i] : a[oa + i * K + k];
          const bv = transB ? b[ob + j * K + k] : b[ob + k * N + j];
          s += av * bv;
        }
        const idx = bi * M * N + i * N + j;
        out[idx] = alpha * s + (beta === 0 ? 0 : beta * (c as ArrayLike<number>)[idx]);
      }
  }
  return out;
}

/** A linear layer y = x W^T (x [T, in], W [out, in]) and its gradients for a loss sum(y * dy). */
export function linearRef(x: Float64Array, w: Float64Array, T: number, inF: number, outF: number): Float64Array {
  return gemmRef(x, w, null, { transA: false, transB: true, M: T, N: outF, K: inF, alpha: 1, beta: 0 });
}
