// GEMM, fp32: C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T, with strided batches.
//
// Shapes (row-major): op(A) is M x K, op(B) is K x N, C is M x N. Stored A is M x K (lda >= K) or,
// transposed, K x M (lda >= M); stored B is K x N (ldb >= N) or, transposed, N x K (ldb >= K);
// ldc >= N. Batched: matrix b of X starts at X + b * strideX; stride 0 broadcasts one matrix to every
// batch (shared weights). strideC must not make two batches' outputs overlap.
// FLOPs = 2 * batch * M * N * K; bytes >= 4 * batch * (M*K + K*N + M*N (+ M*N read when beta != 0)).
// beta == 0 never reads C (C may hold NaN or garbage); alpha == 0 or K == 0 never reads A or B.
//
// Design (Goto / BLIS): for each thread's block of C, panels of A (MC x KC, broadcast operand) and
// B (KC x NC, vector operand, column strips of NR) are packed into 64-byte aligned per-thread buffers
// (thread_local, grown once and reused by every later call, advised as huge pages), and a
// register-blocked micro-kernel computes MR x NR tiles of C with broadcast FMAs: AVX-512 6 x 64
// (24 zmm accumulators; 8 x 48 and 14 x 32 are picked instead when they pad N less), AVX2 6 x 16,
// a portable 4 x 16. The ISA is picked per call from simd_level(). A row-major A is copied row by row
// (no transpose) or, for small products, read in place; a transposed A is packed into k-major strips;
// a transposed B goes through 16 x 16 register transposes. Edges are zero-padded in the packed B and
// written back with masked stores. Threads: C (and the batch) is cut into blocks over M and N so that
// both cores have work at small sizes too; blocks are independent (no barriers) and run through
// mc::parallel_for; a cost model (padded work, packing, the pool's fork-join latency) picks the
// micro-kernel, the cut, and whether to stay on the calling thread. min(M, N) <= 4 (GEMV-like: one
// decode token through a linear layer, the LM head) takes a skinny path that packs nothing and
// streams the weights once. Blocking for Zen 4 (32 KiB L1d, 1 MiB L2 per core): KC = 384, MC = 288,
// NC = 1024.
#pragma once
#include <cstdint>
#include <string>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void gemm_cpu(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void gemm_batched_cpu(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta, float* C,
                      int64_t ldc, int64_t strideC, int64_t batch);

// op "gemm": tensors A, B, C; ints transA, transB, M, N, K, batch, strideA, strideB, strideC;
// floats alpha, beta. Matrices are dense (lda = transA ? M : K, ldb = transB ? K : N, ldc = N).
Status op_gemm_cpu(const OpArgs& a);

// --- tuning hooks (benchmarks and tests only) ---
struct GemmTuning {
  int64_t mc = 0, kc = 0, nc = 0;  // 0: the built-in value of the micro-kernel in use
  int64_t small_flops = -1;        // products below this many FLOPs read a row-major A in place; -1: built-in
  int64_t serial_flops = -1;       // >= 0: below it run on the calling thread, above it in parallel;
                                   // -1: the cost model decides
  int kernel = -1;                 // AVX-512 micro-kernel: 0 = 6x64, 1 = 14x32, 2 = 8x48; -1: chosen per call
  int split = -1;                  // force blocks per matrix (pm * pn); -1: chosen per call
};
void gemm_set_tuning(const GemmTuning& t);
GemmTuning gemm_get_tuning();
const char* gemm_kernel_name();  // default micro-kernel of the current SIMD level, e.g. "avx512 6x64"
// How a call of this shape would run: micro-kernel, blocks per matrix, serial or parallel.
std::string gemm_plan_describe(bool transA, bool transB, int64_t M, int64_t N, int64_t K, int64_t batch);

}  // namespace mc
