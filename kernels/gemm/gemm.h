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
//
// CUDA design (cuda.cu): bf16 tensor cores with fp32 accumulation (the project's CUDA rule), through
// the WMMA API (16x16x16 fragments: the library owns the fragment layouts). A 128 x 128 block of C per
// CUDA block of 256 threads (8 warps, 64 x 32 each), K in tiles of 32. Each tile of A and B is copied
// from global memory in its storage orientation (coalesced; float4 when every row start is 16-byte
// aligned, else scalar loads), rounded to bf16 (nearest even) into padded shared memory; a transposed
// operand is read as a col_major fragment, so nothing is transposed by hand. The next tile is loaded
// into registers while the current one is multiplied (two shared-memory stages, one barrier per tile;
// ~190-250 registers: one block per SM). Edges are zero-filled; the epilogue goes through shared memory
// per warp and writes C row-coalesced, with bounds checks, alpha and beta in fp32. Batches on grid.z.
// alpha == 0 (or K == 0) runs a scaling kernel instead, which never reads A or B.
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
struct GemmArgs {
  bool transA = false, transB = false;
  int64_t M = 0, N = 0, K = 0, batch = 0, strideA = 0, strideB = 0, strideC = 0;
  float alpha = 0.0f, beta = 0.0f;
};

// Counts, dtypes, ranges and sizes of op "gemm", parsed into *p (shared by the CPU and CUDA adapters,
// so both give identical errors).
inline Status gemm_check_args(const char* op, const OpArgs& a, GemmArgs* p) {
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 9, 2));
  MC_RETURN_IF_ERROR(check_dtype(op, "A", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "B", a.t[1], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "C", a.t[2], DType::F32));
  const int64_t tA = a.i[0], tB = a.i[1], M = a.i[2], N = a.i[3], K = a.i[4], batch = a.i[5];
  const int64_t sA = a.i[6], sB = a.i[7], sC = a.i[8];
  MC_RETURN_IF_ERROR(check_arg(op, "transA", tA == 0 || tA == 1, "0 or 1", std::to_string(tA)));
  MC_RETURN_IF_ERROR(check_arg(op, "transB", tB == 0 || tB == 1, "0 or 1", std::to_string(tB)));
  MC_RETURN_IF_ERROR(check_arg(op, "M", M >= 1, ">= 1", std::to_string(M)));
  MC_RETURN_IF_ERROR(check_arg(op, "N", N >= 1, ">= 1", std::to_string(N)));
  MC_RETURN_IF_ERROR(check_arg(op, "K", K >= 1, ">= 1", std::to_string(K)));
  MC_RETURN_IF_ERROR(check_arg(op, "batch", batch >= 1, ">= 1", std::to_string(batch)));
  MC_RETURN_IF_ERROR(check_arg(op, "strideA", sA == 0 || sA >= M * K, "0 or >= M*K = " + std::to_string(M * K),
                               std::to_string(sA)));
  MC_RETURN_IF_ERROR(check_arg(op, "strideB", sB == 0 || sB >= K * N, "0 or >= K*N = " + std::to_string(K * N),
                               std::to_string(sB)));
  MC_RETURN_IF_ERROR(check_arg(op, "strideC", batch == 1 || sC >= M * N,
                               ">= M*N = " + std::to_string(M * N) + " when batch > 1", std::to_string(sC)));
  auto need = [&](int64_t stride, int64_t one) { return (batch - 1) * stride + one; };
  const int64_t nA = need(sA, M * K), nB = need(sB, K * N), nC = need(batch == 1 ? 0 : sC, M * N);
  auto check_size = [&](const char* arg, const TensorView& t, int64_t n) -> Status {
    if (t.numel() < n)
      return Status::Error(Code::E_SHAPE, std::string(op) + ": argument '" + arg + "' expected at least " +
                                              std::to_string(n) + " elements, received shape " + t.shape_str());
    return Status::Ok();
  };
  MC_RETURN_IF_ERROR(check_size("A", a.t[0], nA));
  MC_RETURN_IF_ERROR(check_size("B", a.t[1], nB));
  MC_RETURN_IF_ERROR(check_size("C", a.t[2], nC));
  MC_RETURN_IF_ERROR(check_arg(op, "C", a.t[2].data != a.t[0].data && a.t[2].data != a.t[1].data,
                               "an output distinct from A and B", "C aliasing an input"));
  p->transA = tA != 0;
  p->transB = tB != 0;
  p->M = M;
  p->N = N;
  p->K = K;
  p->batch = batch;
  p->strideA = sA;
  p->strideB = sB;
  p->strideC = sC;
  p->alpha = static_cast<float>(a.f[0]);
  p->beta = static_cast<float>(a.f[1]);
  return Status::Ok();
}

Status op_gemm_cpu(const OpArgs& a);
// CUDA version (kernels/gemm/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapter.
Status op_gemm_cuda(const OpArgs& a);

// op "gemm_grouped": G independent dense products in one call, the MoT experts' projections over
// their routed token sets (one launch on CUDA for both experts instead of one each):
//   tensors A_0..A_{G-1}, B_0..B_{G-1}, C_0..C_{G-1}; ints G, transA, transB, M_0..M_{G-1},
//   N_0..N_{G-1}, K_0..K_{G-1}; floats alpha, beta.
// Group g: C_g = alpha * op(A_g) op(B_g) + beta * C_g (dense, as op "gemm"); a group with M, N or K
// of 0 writes nothing (K = 0 with beta != 1 scales C_g, as "gemm" does). 1 <= G <= kGemmMaxGroups.
constexpr int kGemmMaxGroups = 8;
struct GemmGroup {
  const float* A = nullptr;
  const float* B = nullptr;
  float* C = nullptr;
  int64_t M = 0, N = 0, K = 0;
};
struct GemmGroupedArgs {
  bool transA = false, transB = false;
  int G = 0;
  GemmGroup g[kGemmMaxGroups];
  float alpha = 0.0f, beta = 0.0f;
};
// Shared by the CPU and CUDA adapters.
inline Status gemm_grouped_check_args(const char* op, const OpArgs& a, GemmGroupedArgs* p) {
  if (a.ni < 3) return check_count(op, a, 3, 3, 2);
  const int64_t G = a.i[0];
  MC_RETURN_IF_ERROR(check_arg(op, "G", G >= 1 && G <= kGemmMaxGroups, "1.." + std::to_string(kGemmMaxGroups), std::to_string(G)));
  MC_RETURN_IF_ERROR(check_count(op, a, static_cast<int>(3 * G), static_cast<int>(3 + 3 * G), 2));
  const int64_t tA = a.i[1], tB = a.i[2];
  MC_RETURN_IF_ERROR(check_arg(op, "transA", tA == 0 || tA == 1, "0 or 1", std::to_string(tA)));
  MC_RETURN_IF_ERROR(check_arg(op, "transB", tB == 0 || tB == 1, "0 or 1", std::to_string(tB)));
  p->transA = tA != 0;
  p->transB = tB != 0;
  p->G = static_cast<int>(G);
  p->alpha = static_cast<float>(a.f[0]);
  p->beta = static_cast<float>(a.f[1]);
  for (int g = 0; g < G; ++g) {
    const std::string sg = std::to_string(g);
    const int64_t M = a.i[3 + g], N = a.i[3 + G + g], K = a.i[3 + 2 * G + g];
    MC_RETURN_IF_ERROR(check_arg(op, ("M_" + sg).c_str(), M >= 0, ">= 0", std::to_string(M)));
    MC_RETURN_IF_ERROR(check_arg(op, ("N_" + sg).c_str(), N >= 0, ">= 0", std::to_string(N)));
    MC_RETURN_IF_ERROR(check_arg(op, ("K_" + sg).c_str(), K >= 0, ">= 0", std::to_string(K)));
    const TensorView &A = a.t[g], &B = a.t[G + g], &C = a.t[2 * G + g];
    MC_RETURN_IF_ERROR(check_dtype(op, ("A_" + sg).c_str(), A, DType::F32));
    MC_RETURN_IF_ERROR(check_dtype(op, ("B_" + sg).c_str(), B, DType::F32));
    MC_RETURN_IF_ERROR(check_dtype(op, ("C_" + sg).c_str(), C, DType::F32));
    auto size_ok = [&](const char* arg, const TensorView& t, int64_t n) -> Status {
      if (t.numel() < n)
        return Status::Error(Code::E_SHAPE, std::string(op) + ": argument '" + arg + "_" + sg + "' expected at least " +
                                                std::to_string(n) + " elements, received shape " + t.shape_str());
      return Status::Ok();
    };
    MC_RETURN_IF_ERROR(size_ok("A", A, M * K));
    MC_RETURN_IF_ERROR(size_ok("B", B, K * N));
    MC_RETURN_IF_ERROR(size_ok("C", C, M * N));
    MC_RETURN_IF_ERROR(check_arg(op, ("C_" + sg).c_str(), M * N == 0 || (C.data != A.data && C.data != B.data),
                                 "an output distinct from A and B", "C aliasing an input"));
    p->g[g] = GemmGroup{A.f32(), B.f32(), C.f32(), M, N, K};
  }
  return Status::Ok();
}
Status op_gemm_grouped_cpu(const OpArgs& a);
Status op_gemm_grouped_cuda(const OpArgs& a);

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
