// CUDA GEMM: C = alpha * op(A) * op(B) + beta * C (see gemm.h for the contract), bf16 tensor cores
// with fp32 accumulation, the project's CUDA precision rule.
//
// Why this shape: WMMA (nvcuda::wmma, 16x16x16 bf16 fragments) keeps the fragment layouts the
// library's, and the same source builds for sm_80 and sm_90a. Inputs are fp32 in global memory, so
// tiles are staged through registers (where they are rounded to bf16, nearest even) rather than with
// cp.async; that register hop doubles as the prefetch: tile k+1 is loaded while tile k is multiplied
// from the other of two shared-memory stages (one barrier per K tile).
// Each operand's tile is copied in its storage orientation (rows contiguous in global memory stay
// contiguous in shared memory: coalesced loads, float4 when every row start is 16-byte aligned, scalar
// loads otherwise), and a transposed operand is read back as a col_major fragment, so nothing is ever
// transposed by hand. Rows are padded by 8 bf16 (16 bytes): fragment loads (8 rows of 16 bytes each)
// hit distinct banks.
// Block tile 128 x 128 x 32, 256 threads = 8 warps of 64 x 32 (4 x 2 fragments, 64 fp32 accumulators
// per thread) plus 32 staging registers for the next tile: ~190-250 registers, so one block per SM
// (capping at 128 registers for two blocks made ptxas spill); 40 KiB of static shared memory, so no
// opt-in attribute. Out-of-range A/B elements are zero-filled (both operands, so garbage never meets a
// zero). The epilogue stages each warp's 16 x 32 accumulator strip through (reused) shared memory and
// writes C one coalesced row at a time with bounds checks, alpha and beta in fp32; C is read only when
// beta != 0. Blocks are ordered in groups of 8 tile rows (L2 reuse); batches run on grid.z. alpha == 0
// (or K == 0) never reaches the tensor-core kernel: a scaling kernel sets C = beta * C (0 when
// beta == 0) without reading A or B.
// The index arithmetic (tile order, staging, fragment offsets, epilogue) is in __host__ __device__
// helpers so that it can be checked exhaustively on the host.
#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "../common/cuda_check.cuh"
#include "gemm.h"

namespace mc {
namespace {

constexpr int kBM = 128, kBN = 128, kBK = 32;  // block tile of C (BM x BN), K step
constexpr int kThreads = 256;
constexpr int kWarpsM = 2, kWarpsN = 4;        // warp grid over the block tile
constexpr int kWM = kBM / kWarpsM;             // 64 rows of C per warp
constexpr int kWN = kBN / kWarpsN;             // 32 columns of C per warp
constexpr int kFM = kWM / 16, kFN = kWN / 16;  // 4 x 2 fragments per warp
constexpr int kPad = 8;                        // bf16 per shared-memory row: 16 bytes
constexpr int kGroups = kBM * kBK / 4 / kThreads;  // per thread and operand tile: 4 groups of 4 elements
constexpr int kStageElems = kBM * (kBK + kPad) > kBK * (kBN + kPad) ? kBM * (kBK + kPad) : kBK * (kBN + kPad);
constexpr int kSmemBytes = 2 /*stages*/ * 2 /*A, B*/ * kStageElems * 2 /*bytes*/;  // 40960
constexpr int kEpiLd = kWN + 4;                // fp32 row stride of a warp's epilogue strip
constexpr int kGroupM = 8;                     // tile rows per group in the block order
constexpr int kMinBlocks = 1;                  // __launch_bounds__: 1 block (8 warps) per SM; with 2
                                               // (<= 128 registers) ptxas spilled 16-220 bytes
constexpr int kScaleBlock = 256;

static_assert(kBM * kBK == kBK * kBN, "A and B tiles have the same element count");
static_assert(kGroups * 4 * kThreads == kBM * kBK, "staging covers a tile exactly");
static_assert(kWarpsM * kWarpsN * 32 == kThreads, "one warp per warp tile");
static_assert((kStageElems * 2) % 128 == 0, "stage buffers stay 128-byte aligned");
static_assert(kWarpsM * kWarpsN * 16 * kEpiLd * 4 <= kSmemBytes, "epilogue strips fit in the tile buffers");
static_assert(kEpiLd % 4 == 0 && (16 * kEpiLd * 4) % 32 == 0, "wmma store: ldm multiple of 16 bytes, 32-byte aligned");
static_assert(kSmemBytes <= 48 * 1024, "static shared memory");

// ---------------------------------------------------------------------------------------------
// Index arithmetic (host and device: checked on the host).
// ---------------------------------------------------------------------------------------------

// Block pid -> tile (tm, tn) of C: groups of kGroupM tile rows, column-major inside a group, so that
// consecutive blocks share B tiles and a group's A rows stay in L2. A bijection on [0, tiles_m*tiles_n).
__host__ __device__ inline void tile_coords(int64_t pid, int64_t tiles_m, int64_t tiles_n, int64_t* tm, int64_t* tn) {
  const int64_t per_group = kGroupM * tiles_n;
  const int64_t group = pid / per_group;
  const int64_t first_m = group * kGroupM;
  const int64_t rest = tiles_m - first_m;
  const int64_t gsize = rest < kGroupM ? rest : kGroupM;
  const int64_t in_group = pid - group * per_group;
  *tm = first_m + in_group % gsize;
  *tn = in_group / gsize;
}

// An operand's storage matrix (row-major, dense: row stride = cols) and the origin of the current tile
// in it. A: M x K, or K x M when transposed. B: K x N, or N x K when transposed.
struct StoreTile {
  int64_t row0, col0, rows, cols;
};
__host__ __device__ inline StoreTile a_store_tile(bool ta, int64_t m0, int64_t k0, int64_t M, int64_t K) {
  return ta ? StoreTile{k0, m0, K, M} : StoreTile{m0, k0, M, K};
}
__host__ __device__ inline StoreTile b_store_tile(bool tb, int64_t k0, int64_t n0, int64_t K, int64_t N) {
  return tb ? StoreTile{n0, k0, N, K} : StoreTile{k0, n0, K, N};
}

// Shared-memory tile of an operand, in its storage orientation: cols bf16 wide (+ kPad), 4096 / cols rows.
__host__ __device__ constexpr int a_tile_cols(bool ta) { return ta ? kBM : kBK; }
__host__ __device__ constexpr int b_tile_cols(bool tb) { return tb ? kBK : kBN; }

// Staging: thread tid copies kGroups groups of 4 elements of one tile row each. Group i is on row
// stage_row(tid, i) (the row advances by stage_rstep per i); its element j (< 4) is on column
// stage_col(tid, j, V), the same for every i. V (vectorised): the 4 elements are consecutive (one float4
// load; a warp covers 128-byte runs of global memory). !V (unaligned operands: scalar loads): they are
// cols/4 apart, so that a warp's load j covers 32-byte runs (8 consecutive columns of 4 rows, or 32 of
// one row) and each thread still needs only one address per group.
__host__ __device__ constexpr int stage_rstep(int cols) { return kThreads / (cols / 4); }
__host__ __device__ constexpr int stage_row(int tid, int i, int cols) {
  return tid / (cols / 4) + i * stage_rstep(cols);
}
__host__ __device__ constexpr int stage_col(int tid, int j, int cols, bool v) {
  return v ? tid % (cols / 4) * 4 + j : tid % (cols / 4) + j * (cols / 4);
}
static_assert(kThreads % (kBM / 4) == 0 && kThreads % (kBN / 4) == 0 && kThreads % (kBK / 4) == 0,
              "stage_col is fixed per thread");

// Where thread tid's staged elements of the tile at t come from: element j of group i is at source
// offset off + i*step + j*jstep, and is inside the matrix iff i*stage_rstep < rows_left and
// (V ? cols_left > 0 : j*jstep < cols_left) (both clamped to small non-negative ints).
struct Feed {
  int64_t off, step;
  int rows_left, cols_left;
};
__host__ __device__ inline Feed feed_at(const StoreTile& t, int tid, int cols, bool v) {
  const int64_t row = t.row0 + stage_row(tid, 0, cols), col = t.col0 + stage_col(tid, 0, cols, v);
  const int64_t rl = t.rows - row, cl = t.cols - col;
  Feed f;
  f.off = row * t.cols + col;
  f.step = stage_rstep(cols) * t.cols;
  f.rows_left = rl < 0 ? 0 : (rl > kThreads ? kThreads : static_cast<int>(rl));
  f.cols_left = cl < 0 ? 0 : (cl > cols ? cols : static_cast<int>(cl));
  return f;
}
__host__ __device__ constexpr int feed_jstep(int cols, bool v) { return v ? 1 : cols / 4; }
__host__ __device__ inline bool feed_ok(const Feed& f, int i, int j, int cols, bool v) {
  return i * stage_rstep(cols) < f.rows_left && (v ? f.cols_left > 0 : j * feed_jstep(cols, v) < f.cols_left);
}
__host__ __device__ inline int64_t feed_src(const Feed& f, int i, int j, int cols, bool v) {
  return f.off + i * f.step + j * feed_jstep(cols, v);
}
// Shared-memory offset (bf16) where element j of group i is staged, in a tile cols wide.
__host__ __device__ constexpr int stage_smem(int tid, int i, int j, int cols, bool v) {
  return stage_row(tid, i, cols) * (cols + kPad) + stage_col(tid, j, cols, v);
}

// Shared-memory offset (in bf16) of op(A)'s tile element (i, k), i < kBM, k < kBK, and of op(B)'s
// element (k, j), k < kBK, j < kBN: the staged storage tile read as row_major (not transposed) or
// col_major (transposed) fragments.
__host__ __device__ constexpr int a_smem_off(bool ta, int i, int k) {
  return ta ? k * (kBM + kPad) + i : i * (kBK + kPad) + k;
}
__host__ __device__ constexpr int b_smem_off(bool tb, int k, int j) {
  return tb ? j * (kBK + kPad) + k : k * (kBN + kPad) + j;
}

// Warp w's 64 x 32 part of the block tile: rows warp_m0 + [0, 64), columns warp_n0 + [0, 32);
// fragment (mi, ni) covers rows warp_m0 + 16*mi + [0, 16), columns warp_n0 + 16*ni + [0, 16).
__host__ __device__ constexpr int warp_m0(int warp) { return (warp / kWarpsN) * kWM; }
__host__ __device__ constexpr int warp_n0(int warp) { return (warp % kWarpsN) * kWN; }

// Epilogue: for fragment row mi, lane `lane` writes row r (< 16) of the warp's strip at column lane:
// block-tile element (warp_m0 + 16*mi + r, warp_n0 + lane), read from strip[r*kEpiLd + lane] (fragment
// ni stored at strip + 16*ni).
__host__ __device__ constexpr int epi_row(int warp, int mi, int r) { return warp_m0(warp) + 16 * mi + r; }
__host__ __device__ constexpr int epi_col(int warp, int lane) { return warp_n0(warp) + lane; }

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

__host__ __device__ constexpr int64_t n0_of(int64_t tn) { return tn * kBN; }

struct GemmDims {
  int64_t M, N, K, batch, strideA, strideB, strideC, tiles_m, tiles_n;
  float alpha, beta;
};

// Load this thread's groups of a tile into registers: r[i][j] = element j of group i (see Feed), 0
// outside the matrix. V requires every row start to be 16-byte aligned and cols % 4 == 0, so that a
// group is wholly inside or wholly outside the matrix.
template <bool V, int COLS>
__device__ __forceinline__ void load_tile(float (&r)[kGroups][4], const float* __restrict__ src, const Feed& f) {
#pragma unroll
  for (int i = 0; i < kGroups; ++i) {
    if (V) {  // elements 1..3 follow element 0 in memory, and are inside iff element 0 is
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (feed_ok(f, i, 0, COLS, V)) v = __ldg(reinterpret_cast<const float4*>(src + feed_src(f, i, 0, COLS, V)));
      r[i][0] = v.x;
      r[i][1] = v.y;
      r[i][2] = v.z;
      r[i][3] = v.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) r[i][j] = feed_ok(f, i, j, COLS, V) ? __ldg(src + feed_src(f, i, j, COLS, V)) : 0.0f;
    }
  }
}

// Round the registers to bf16 (nearest even) and store them into a shared tile COLS wide.
template <bool V, int COLS>
__device__ __forceinline__ void store_tile(__nv_bfloat16* dst, const float (&r)[kGroups][4], int tid) {
#pragma unroll
  for (int i = 0; i < kGroups; ++i) {
    if (V) {  // elements 1..3 follow element 0; its offset is a multiple of 4 bf16 (8-byte aligned)
      const __nv_bfloat162 lo = __floats2bfloat162_rn(r[i][0], r[i][1]);  // .x (low half) first
      const __nv_bfloat162 hi = __floats2bfloat162_rn(r[i][2], r[i][3]);
      uint2 u;
      u.x = *reinterpret_cast<const unsigned*>(&lo);
      u.y = *reinterpret_cast<const unsigned*>(&hi);
      *reinterpret_cast<uint2*>(dst + stage_smem(tid, i, 0, COLS, V)) = u;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) dst[stage_smem(tid, i, j, COLS, V)] = __float2bfloat16_rn(r[i][j]);
    }
  }
}

// A transposed operand's staged tile is read as col_major: (i, k) at ptr[i + k*ldm], (k, j) at ptr[k + j*ldm].
template <bool T>
using Layout = typename std::conditional<T, nvcuda::wmma::col_major, nvcuda::wmma::row_major>::type;
template <bool TA>
using FragA = nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, Layout<TA>>;
template <bool TB>
using FragB = nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __nv_bfloat16, Layout<TB>>;
using FragC = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>;

// One 16-deep K step (at kk in the tile) of this warp's 64 x 32 product from the shared tiles sa, sb.
template <bool TA, bool TB>
__device__ __forceinline__ void mma_step(FragC (&acc)[kFM][kFN], const __nv_bfloat16* sa, const __nv_bfloat16* sb,
                                         int wm, int wn, int kk) {
  constexpr unsigned lda = a_tile_cols(TA) + kPad, ldb = b_tile_cols(TB) + kPad;
  FragB<TB> fb[kFN];
#pragma unroll
  for (int ni = 0; ni < kFN; ++ni) nvcuda::wmma::load_matrix_sync(fb[ni], sb + b_smem_off(TB, kk, wn + 16 * ni), ldb);
#pragma unroll
  for (int mi = 0; mi < kFM; ++mi) {
    FragA<TA> fa;
    nvcuda::wmma::load_matrix_sync(fa, sa + a_smem_off(TA, wm + 16 * mi, kk), lda);
#pragma unroll
    for (int ni = 0; ni < kFN; ++ni) nvcuda::wmma::mma_sync(acc[mi][ni], fa, fb[ni], acc[mi][ni]);
  }
}

// One 128 x 128 tile of C = alpha * op(A) op(B) + beta * C at (m0, n0) for one (A, B, C) triple: the
// whole block, the shared buffers in smem; ends with a barrier (the buffers are free again).
template <bool TA, bool TB, bool V>
__device__ __forceinline__ void gemm_tile(const float* __restrict__ Ab, const float* __restrict__ Bb, float* __restrict__ Cb,
                                          int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t m0, int64_t n0,
                                          unsigned char* smem) {
  constexpr int a_cols = a_tile_cols(TA), b_cols = b_tile_cols(TB);
  __nv_bfloat16* const tiles = reinterpret_cast<__nv_bfloat16*>(smem);
  // stage s: A at tiles + (2s) * kStageElems, B at tiles + (2s + 1) * kStageElems
  const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int wm = warp_m0(warp), wn = warp_n0(warp);
  const int64_t nk = (K + kBK - 1) / kBK;

  FragC acc[kFM][kFN];
#pragma unroll
  for (int mi = 0; mi < kFM; ++mi)
#pragma unroll
    for (int ni = 0; ni < kFN; ++ni) nvcuda::wmma::fill_fragment(acc[mi][ni], 0.0f);

  // Prologue: tile 0 into stage 0.
  float ra[kGroups][4], rb[kGroups][4];  // staging registers of one K tile
  load_tile<V, a_cols>(ra, Ab, feed_at(a_store_tile(TA, m0, 0, M, K), tid, a_cols, V));
  load_tile<V, b_cols>(rb, Bb, feed_at(b_store_tile(TB, 0, n0, K, N), tid, b_cols, V));
  store_tile<V, a_cols>(tiles, ra, tid);
  store_tile<V, b_cols>(tiles + kStageElems, rb, tid);
  __syncthreads();

  // Tile kt is multiplied from stage kt&1 while tile kt+1 is loaded into registers (its global loads
  // are in flight during the MMAs) and then stored into the other stage. That stage was last read in
  // iteration kt-1, before the barrier that ended it, so one barrier per tile suffices.
  for (int64_t kt = 0; kt < nk; ++kt) {
    const int cur = static_cast<int>(kt & 1);
    const bool more = kt + 1 < nk;
    if (more) {
      const int64_t k1 = (kt + 1) * kBK;
      load_tile<V, a_cols>(ra, Ab, feed_at(a_store_tile(TA, m0, k1, M, K), tid, a_cols, V));
      load_tile<V, b_cols>(rb, Bb, feed_at(b_store_tile(TB, k1, n0, K, N), tid, b_cols, V));
    }
    const __nv_bfloat16* sa = tiles + (2 * cur) * kStageElems;
    const __nv_bfloat16* sb = tiles + (2 * cur + 1) * kStageElems;
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) mma_step<TA, TB>(acc, sa, sb, wm, wn, kk);
    if (more) {
      store_tile<V, a_cols>(tiles + (2 * (cur ^ 1)) * kStageElems, ra, tid);
      store_tile<V, b_cols>(tiles + (2 * (cur ^ 1) + 1) * kStageElems, rb, tid);
    }
    __syncthreads();
  }

  // Epilogue (the tile buffers are free: the loop ended with a barrier). Warp strip: 16 x kEpiLd fp32.
  float* strip = reinterpret_cast<float*>(smem) + warp * 16 * kEpiLd;
  const int64_t j = n0 + epi_col(warp, lane);
  const bool col_ok = j < N;
#pragma unroll
  for (int mi = 0; mi < kFM; ++mi) {
#pragma unroll
    for (int ni = 0; ni < kFN; ++ni)
      nvcuda::wmma::store_matrix_sync(strip + 16 * ni, acc[mi][ni], kEpiLd, nvcuda::wmma::mem_row_major);
    __syncwarp();
#pragma unroll 4
    for (int r = 0; r < 16; ++r) {
      const int64_t i = m0 + epi_row(warp, mi, r);
      if (col_ok && i < M) {
        const float v = alpha * strip[r * kEpiLd + lane];
        float* cp = Cb + i * N + j;
        *cp = beta == 0.0f ? v : fmaf(beta, *cp, v);
      }
    }
    __syncwarp();  // the strip is rewritten for the next mi
  }
  __syncthreads();  // the next tile's staging reuses the strips
}

// grid: x = tiles_m * tiles_n blocks (see tile_coords), z = batches (strided when batch > gridDim.z).
template <bool TA, bool TB, bool V>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    gemm_bf16_kernel(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, GemmDims d) {
  __shared__ __align__(128) unsigned char smem[kSmemBytes];
  int64_t tm, tn;
  tile_coords(blockIdx.x, d.tiles_m, d.tiles_n, &tm, &tn);
  for (int64_t b = blockIdx.z; b < d.batch; b += gridDim.z)
    gemm_tile<TA, TB, V>(A + b * d.strideA, B + b * d.strideB, C + b * d.strideC, d.M, d.N, d.K, d.alpha, d.beta,
                         tm * kBM, n0_of(tn), smem);
}

// float4 staging is valid when every row start of every batch is 16-byte aligned.
inline bool rows_aligned16(const float* p, int64_t ld, int64_t stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0 && (batch == 1 || stride % 4 == 0);
}

// Grouped products (op gemm_grouped): block pid belongs to the group whose tile range holds it.
struct GroupedDims {
  GemmGroup g[kGemmMaxGroups];
  int64_t tile_start[kGemmMaxGroups + 1];  // prefix sums of the groups' tile counts
  int64_t tiles_n[kGemmMaxGroups];
  int G;
  float alpha, beta;
};

__host__ __device__ inline int group_of(const int64_t* tile_start, int G, int64_t pid) {
  int g = 0;
  while (g + 1 < G && pid >= tile_start[g + 1]) ++g;
  return g;
}

// The launch plan of a grouped call (host): the groups with work get consecutive tile ranges, in order;
// orig[k] is the index among p's groups of the k-th kept one. Groups with M or N = 0 are dropped;
// groups with K = 0 (or every group when alpha = 0) are dropped too and listed in scale[] (their C is
// only scaled by beta). vec: every kept operand allows the float4 staging path.
inline GroupedDims plan_grouped(const GemmGroupedArgs& p, int* orig, int* scale, int* nscale, bool* vec) {
  GroupedDims d;
  d.G = 0;
  d.alpha = p.alpha;
  d.beta = p.beta;
  d.tile_start[0] = 0;
  *nscale = 0;
  *vec = true;
  for (int g = 0; g < p.G; ++g) {
    const GemmGroup& q = p.g[g];
    if (q.M == 0 || q.N == 0) continue;
    if (q.K == 0 || p.alpha == 0.0f) {
      scale[(*nscale)++] = g;
      continue;
    }
    const int k = d.G++;
    d.g[k] = q;
    d.tiles_n[k] = (q.N + kBN - 1) / kBN;
    d.tile_start[k + 1] = d.tile_start[k] + ((q.M + kBM - 1) / kBM) * d.tiles_n[k];
    orig[k] = g;
    *vec = *vec && rows_aligned16(q.A, p.transA ? q.M : q.K, 0, 1) && rows_aligned16(q.B, p.transB ? q.K : q.N, 0, 1);
  }
  for (int k = d.G + 1; k <= kGemmMaxGroups; ++k) d.tile_start[k] = d.tile_start[d.G];
  return d;
}

template <bool TA, bool TB, bool V>
__global__ void __launch_bounds__(kThreads, kMinBlocks) gemm_grouped_bf16_kernel(const GroupedDims d) {
  __shared__ __align__(128) unsigned char smem[kSmemBytes];
  const int g = group_of(d.tile_start, d.G, blockIdx.x);
  const GemmGroup& q = d.g[g];
  const int64_t tiles_m = (q.M + kBM - 1) / kBM;
  int64_t tm, tn;
  tile_coords(blockIdx.x - d.tile_start[g], tiles_m, d.tiles_n[g], &tm, &tn);
  gemm_tile<TA, TB, V>(q.A, q.B, q.C, q.M, q.N, q.K, d.alpha, d.beta, tm * kBM, n0_of(tn), smem);
}

// alpha == 0 or K == 0: C = beta * C (beta == 0 writes zeros without reading C). Element e of the
// flattened batch * M*N range is batch e / MN, offset e % MN.
__global__ void gemm_scale_kernel(float* C, int64_t MN, int64_t total, int64_t strideC, float beta) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    float* cp = C + (e / MN) * strideC + e % MN;
    *cp = beta == 0.0f ? 0.0f : beta * *cp;
  }
}

template <bool TA, bool TB>
void launch_grouped(bool vec, unsigned blocks, const GroupedDims& d) {
  if (vec)
    gemm_grouped_bf16_kernel<TA, TB, true><<<blocks, kThreads>>>(d);
  else
    gemm_grouped_bf16_kernel<TA, TB, false><<<blocks, kThreads>>>(d);
}

template <bool TA, bool TB>
void launch_gemm(bool vec, dim3 grid, const float* A, const float* B, float* C, const GemmDims& d) {
  if (vec)
    gemm_bf16_kernel<TA, TB, true><<<grid, kThreads>>>(A, B, C, d);
  else
    gemm_bf16_kernel<TA, TB, false><<<grid, kThreads>>>(A, B, C, d);
}


}  // namespace

Status op_gemm_cuda(const OpArgs& a) {
  const char* op = "gemm";
  GemmArgs p;
  MC_RETURN_IF_ERROR(gemm_check_args(op, a, &p));
  if (p.M <= 0 || p.N <= 0 || p.batch <= 0) return Status::Ok();
  const float* A = a.t[0].f32();
  const float* B = a.t[1].f32();
  float* C = a.t[2].f32();

  if (p.K <= 0 || p.alpha == 0.0f) {
    if (p.beta == 1.0f) return Status::Ok();  // C unchanged, as on the CPU
    const int64_t MN = p.M * p.N, total = p.batch * MN;
    gemm_scale_kernel<<<grid_for(total, kScaleBlock), kScaleBlock>>>(C, MN, total, p.batch == 1 ? 0 : p.strideC,
                                                                     p.beta);
    return cuda_launch_status(op);
  }

  GemmDims d;
  d.M = p.M;
  d.N = p.N;
  d.K = p.K;
  d.batch = p.batch;
  d.strideA = p.strideA;
  d.strideB = p.strideB;
  d.strideC = p.batch == 1 ? 0 : p.strideC;
  d.tiles_m = (p.M + kBM - 1) / kBM;
  d.tiles_n = (p.N + kBN - 1) / kBN;
  d.alpha = p.alpha;
  d.beta = p.beta;
  const int64_t tiles = d.tiles_m * d.tiles_n;
  MC_RETURN_IF_ERROR(check_arg(op, "M*N", tiles <= 0x7fffffffLL, "at most 2^31-1 tiles of 128 x 128",
                               std::to_string(tiles) + " tiles"));
  const dim3 grid(static_cast<unsigned>(tiles), 1, static_cast<unsigned>(p.batch < 65535 ? p.batch : 65535));
  const int64_t lda = p.transA ? p.M : p.K, ldb = p.transB ? p.K : p.N;
  const bool vec = rows_aligned16(A, lda, p.strideA, p.batch) && rows_aligned16(B, ldb, p.strideB, p.batch);
  if (p.transA) {
    if (p.transB)
      launch_gemm<true, true>(vec, grid, A, B, C, d);
    else
      launch_gemm<true, false>(vec, grid, A, B, C, d);
  } else {
    if (p.transB)
      launch_gemm<false, true>(vec, grid, A, B, C, d);
    else
      launch_gemm<false, false>(vec, grid, A, B, C, d);
  }
  return cuda_launch_status(op);
}

Status op_gemm_grouped_cuda(const OpArgs& a) {
  const char* op = "gemm_grouped";
  GemmGroupedArgs p;
  MC_RETURN_IF_ERROR(gemm_grouped_check_args(op, a, &p));
  int orig[kGemmMaxGroups], scale[kGemmMaxGroups], nscale = 0;
  bool vec = true;
  const GroupedDims d = plan_grouped(p, orig, scale, &nscale, &vec);
  if (p.beta != 1.0f)  // groups with K = 0 (or alpha = 0): C = beta * C without reading A or B, as op "gemm"
    for (int i = 0; i < nscale; ++i) {
      const GemmGroup& q = p.g[scale[i]];
      gemm_scale_kernel<<<grid_for(q.M * q.N, kScaleBlock), kScaleBlock>>>(q.C, q.M * q.N, q.M * q.N, 0, p.beta);
      MC_RETURN_IF_ERROR(cuda_launch_status(op));
    }
  const int64_t tiles = d.tile_start[d.G];
  if (d.G == 0 || tiles == 0) return Status::Ok();
  MC_RETURN_IF_ERROR(check_arg(op, "M*N", tiles <= 0x7fffffffLL, "at most 2^31-1 tiles of 128 x 128 in all",
                               std::to_string(tiles) + " tiles"));
  const unsigned blocks = static_cast<unsigned>(tiles);
  if (p.transA) {
    if (p.transB)
      launch_grouped<true, true>(vec, blocks, d);
    else
      launch_grouped<true, false>(vec, blocks, d);
  } else {
    if (p.transB)
      launch_grouped<false, true>(vec, blocks, d);
    else
      launch_grouped<false, false>(vec, blocks, d);
  }
  return cuda_launch_status(op);
}

}  // namespace mc
