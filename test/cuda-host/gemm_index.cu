// Host checks of the index arithmetic of the CUDA GEMM (kernels/gemm/cuda.cu), which is included as
// is: its tile order, operand staging, fragment offsets and epilogue are __host__ __device__ helpers,
// so they can be verified here without a GPU, on every CI run (test/native/cuda-host.test.ts compiles
// and runs this file wherever nvcc is found). Checked:
//   1. tile_coords is a bijection from block ids onto the tiles of C (exhaustively up to 40 x 40 tiles,
//      and inverted on random block ids of large grids);
//   2. a fragment loaded at a_smem_off / b_smem_off with the library's row_major / col_major layout
//      reads exactly the elements that a_smem_off / b_smem_off name, 32-byte aligned;
//   3. the staging of each operand tile (feed_at, feed_ok, feed_src, stage_smem; every transpose and
//      both the float4 and the scalar path) writes every shared-memory cell of the tile exactly once,
//      never the padding, with the right source element or zero outside the matrix;
//   4. the epilogue writes every element of the 128 x 128 block tile exactly once, from the fragment
//      that holds it;
//   5. an emulation of the whole kernel data flow with the helpers above (integer data: exact in bf16
//      and fp32) gives C = alpha op(A) op(B) + beta C for awkward shapes, batches and broadcasts, each
//      element of C written once and nothing outside C touched;
//   6. the grouped variant: the tile_start prefix sums (built as op_gemm_grouped_cuda builds them,
//      empty groups left out) with group_of and tile_coords cover every tile of every group exactly
//      once, and an emulated grouped product is right.
// Deterministic (fixed seeds). Prints one summary line; exits 1 on any failure.
#include "../../kernels/gemm/cuda.cu"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace mc;

#include "check.h"

// ---------------------------------------------------------------------------------------------
// 1. Tile order
// ---------------------------------------------------------------------------------------------

static void check_tile_order() {
  for (int64_t tmn = 1; tmn <= 40; ++tmn)
    for (int64_t tnn = 1; tnn <= 40; ++tnn) {
      std::vector<int> seen(tmn * tnn, 0);
      for (int64_t pid = 0; pid < tmn * tnn; ++pid) {
        int64_t tm = -1, tn = -1;
        tile_coords(pid, tmn, tnn, &tm, &tn);
        const bool in = tm >= 0 && tm < tmn && tn >= 0 && tn < tnn;
        CHECK(in, "tile_coords(%lld; %lld x %lld) = (%lld, %lld) is outside the grid", (long long)pid, (long long)tmn,
              (long long)tnn, (long long)tm, (long long)tn);
        if (in) seen[tm * tnn + tn]++;
      }
      for (int64_t t = 0; t < tmn * tnn; ++t)
        CHECK(seen[t] == 1, "tile (%lld, %lld) of %lld x %lld is given to %d blocks", (long long)(t / tnn),
              (long long)(t % tnn), (long long)tmn, (long long)tnn, seen[t]);
    }
  // Large grids (int64 block ids): the documented order, groups of kGroupM tile rows, column-major in
  // a group, inverted: pid = first block of the group + tn * (rows in the group) + tm % kGroupM.
  std::mt19937_64 rng(11);
  const int64_t grids[][2] = {{1 << 20, 2048}, {100003, 7}, {9, 1 << 22}, {kGroupM * 1000 + 3, 513}};
  for (const auto& gr : grids) {
    const int64_t tmn = gr[0], tnn = gr[1], total = tmn * tnn;
    for (int it = 0; it < 20000; ++it) {
      const int64_t pid = it < 8 ? total - 1 - it : static_cast<int64_t>(rng() % static_cast<uint64_t>(total));
      int64_t tm = -1, tn = -1;
      tile_coords(pid, tmn, tnn, &tm, &tn);
      const int64_t first_m = tm / kGroupM * kGroupM, gsize = std::min<int64_t>(kGroupM, tmn - first_m);
      const bool in = tm >= 0 && tm < tmn && tn >= 0 && tn < tnn;
      CHECK(in && first_m * tnn + tn * gsize + tm % kGroupM == pid,
            "tile_coords(%lld; %lld x %lld) = (%lld, %lld) does not invert", (long long)pid, (long long)tmn,
            (long long)tnn, (long long)tm, (long long)tn);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Fragment offsets
// ---------------------------------------------------------------------------------------------

// WMMA loads a 16 x 16 fragment from ptr with leading dimension ld: row_major (i, k) at ptr[i*ld + k],
// col_major (i, k) at ptr[i + k*ld]. The kernel's fragment pointers are tile + *_smem_off(corner).
static void check_fragment_offsets() {
  for (int t = 0; t < 2; ++t) {
    const bool tr = t != 0;
    const int lda = a_tile_cols(tr) + kPad, ldb = b_tile_cols(tr) + kPad;
    CHECK(lda % 8 == 0 && ldb % 8 == 0, "ldm is a multiple of 8 bf16 (16 bytes)");
    for (int i0 = 0; i0 < kBM; i0 += 16)
      for (int k0 = 0; k0 < kBK; k0 += 16) {
        const int base = a_smem_off(tr, i0, k0);
        CHECK(base % 16 == 0, "A fragment (%d, %d) ta=%d starts at %d: not 32-byte aligned", i0, k0, t, base);
        for (int i = 0; i < 16; ++i)
          for (int k = 0; k < 16; ++k) {
            const int lib = tr ? base + i + k * lda : base + i * lda + k;
            CHECK(lib == a_smem_off(tr, i0 + i, k0 + k), "A fragment element (%d, %d) ta=%d", i0 + i, k0 + k, t);
          }
      }
    for (int k0 = 0; k0 < kBK; k0 += 16)
      for (int j0 = 0; j0 < kBN; j0 += 16) {
        const int base = b_smem_off(tr, k0, j0);
        CHECK(base % 16 == 0, "B fragment (%d, %d) tb=%d starts at %d: not 32-byte aligned", k0, j0, t, base);
        for (int k = 0; k < 16; ++k)
          for (int j = 0; j < 16; ++j) {
            const int lib = tr ? base + k + j * ldb : base + k * ldb + j;
            CHECK(lib == b_smem_off(tr, k0 + k, j0 + j), "B fragment element (%d, %d) tb=%d", k0 + k, j0 + j, t);
          }
      }
  }
  CHECK(kStageElems % 64 == 0, "stage buffers stay 128-byte aligned");
}

// ---------------------------------------------------------------------------------------------
// 3. Staging
// ---------------------------------------------------------------------------------------------

// Stages one operand tile as load_tile / store_tile do, every thread in turn, and checks the per-cell
// invariants. Returns the shared-memory image: the source index staged into each cell, -1 for a zero
// (outside the matrix), -2 for a cell nobody wrote. isA: operand A (o0 = m0, MN = M), else B (o0 = n0,
// MN = N). Source indices must stay inside the MN x K storage matrix.
static std::vector<int64_t> stage_image(bool isA, bool tr, bool v, int64_t o0, int64_t k0, int64_t MN, int64_t K) {
  const int cols = isA ? a_tile_cols(tr) : b_tile_cols(tr);
  const int rows = kBM * kBK / cols;
  const StoreTile t = isA ? a_store_tile(tr, o0, k0, MN, K) : b_store_tile(tr, k0, o0, K, MN);
  const int64_t mat_elems = MN * K;
  std::vector<int64_t> img(kStageElems, -2);
  std::vector<int> cnt(kStageElems, 0);
  for (int tid = 0; tid < kThreads; ++tid) {
    const Feed f = feed_at(t, tid, cols, v);
    for (int i = 0; i < kGroups; ++i)
      for (int j = 0; j < 4; ++j) {
        const int off = stage_smem(tid, i, j, cols, v);
        const bool cell = off >= 0 && off < rows * (cols + kPad) && off % (cols + kPad) < cols;
        CHECK(cell, "tid %d group %d element %d (cols %d v=%d) staged to %d: padding or outside the tile", tid, i, j,
              cols, v, off);
        if (v) {  // the float4 path: one 16-byte load, one 8-byte store, all or nothing
          CHECK(off == stage_smem(tid, i, 0, cols, v) + j, "V: smem elements of a group are consecutive");
          CHECK(stage_smem(tid, i, 0, cols, v) % 4 == 0, "V: the 8-byte store is aligned");
          CHECK(feed_src(f, i, j, cols, v) == feed_src(f, i, 0, cols, v) + j, "V: source elements are consecutive");
          CHECK(feed_ok(f, i, j, cols, v) == feed_ok(f, i, 0, cols, v), "V: a group is wholly in or out");
          if (feed_ok(f, i, 0, cols, v))
            CHECK(feed_src(f, i, 0, cols, v) % 4 == 0, "V: the float4 load is 16-byte aligned");
        }
        if (!cell) continue;
        cnt[off]++;
        if (feed_ok(f, i, j, cols, v)) {
          const int64_t s = feed_src(f, i, j, cols, v);
          CHECK(s >= 0 && s < mat_elems, "source index %lld outside the %lld-element matrix", (long long)s,
                (long long)mat_elems);
          img[off] = s;
        } else {
          img[off] = -1;
        }
      }
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      CHECK(cnt[r * (cols + kPad) + c] == 1, "smem cell (%d, %d) (cols %d v=%d) staged %d times", r, c, cols, v,
            cnt[r * (cols + kPad) + c]);
  return img;
}

// Every K tile of every row / column tile: op(A)(m0 + i, k0 + k) is at a_smem_off(i, k), op(B)(k0 + k,
// n0 + j) at b_smem_off(k, j), zero outside the matrix. V only where the kernel would pick it (rows of
// the storage matrix a multiple of 4 floats).
static void check_staging(int64_t M, int64_t N, int64_t K) {
  for (int ta = 0; ta < 2; ++ta)
    for (int v = 0; v < 2; ++v) {
      if (v && (ta ? M : K) % 4) continue;
      for (int64_t m0 = 0; m0 < M; m0 += kBM)
        for (int64_t k0 = 0; k0 < K; k0 += kBK) {
          const auto img = stage_image(true, ta, v, m0, k0, M, K);
          for (int i = 0; i < kBM; ++i)
            for (int k = 0; k < kBK; ++k) {
              const int64_t m = m0 + i, kk = k0 + k;
              const int64_t want = (m < M && kk < K) ? (ta ? kk * M + m : m * K + kk) : -1;
              const int64_t got = img[a_smem_off(ta, i, k)];
              CHECK(got == want, "A staged, ta=%d v=%d M=%lld K=%lld: op(A)(%lld, %lld) holds source %lld, want %lld",
                    ta, v, (long long)M, (long long)K, (long long)m, (long long)kk, (long long)got, (long long)want);
            }
        }
    }
  for (int tb = 0; tb < 2; ++tb)
    for (int v = 0; v < 2; ++v) {
      if (v && (tb ? K : N) % 4) continue;
      for (int64_t n0 = 0; n0 < N; n0 += kBN)
        for (int64_t k0 = 0; k0 < K; k0 += kBK) {
          const auto img = stage_image(false, tb, v, n0, k0, N, K);
          for (int k = 0; k < kBK; ++k)
            for (int j = 0; j < kBN; ++j) {
              const int64_t kk = k0 + k, n = n0 + j;
              const int64_t want = (kk < K && n < N) ? (tb ? n * K + kk : kk * N + n) : -1;
              const int64_t got = img[b_smem_off(tb, k, j)];
              CHECK(got == want, "B staged, tb=%d v=%d K=%lld N=%lld: op(B)(%lld, %lld) holds source %lld, want %lld",
                    tb, v, (long long)K, (long long)N, (long long)kk, (long long)n, (long long)got, (long long)want);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Epilogue
// ---------------------------------------------------------------------------------------------

static void check_epilogue() {
  std::vector<int> cnt(kBM * kBN, 0), fcnt(kBM * kBN, 0);
  for (int w = 0; w < kThreads / 32; ++w) {
    for (int mi = 0; mi < kFM; ++mi)
      for (int r = 0; r < 16; ++r)
        for (int lane = 0; lane < 32; ++lane) {
          const int i = epi_row(w, mi, r), j = epi_col(w, lane);
          const bool in = i >= 0 && i < kBM && j >= 0 && j < kBN;
          CHECK(in, "epilogue warp %d mi %d r %d lane %d writes (%d, %d): outside the block tile", w, mi, r, lane, i,
                j);
          if (in) cnt[i * kBN + j]++;
          // The strip holds fragment ni at columns 16*ni + [0, 16): lane reads accumulator element
          // (r, lane % 16) of fragment (mi, lane / 16), whose place in the block tile is:
          CHECK(i == warp_m0(w) + 16 * mi + r && j == warp_n0(w) + 16 * (lane / 16) + lane % 16,
                "epilogue warp %d mi %d r %d lane %d writes (%d, %d), not its fragment element", w, mi, r, lane, i, j);
        }
    for (int mi = 0; mi < kFM; ++mi)
      for (int ni = 0; ni < kFN; ++ni)
        for (int a = 0; a < 16; ++a)
          for (int b = 0; b < 16; ++b) fcnt[(warp_m0(w) + 16 * mi + a) * kBN + warp_n0(w) + 16 * ni + b]++;
  }
  for (int e = 0; e < kBM * kBN; ++e) {
    CHECK(cnt[e] == 1, "block tile element (%d, %d) written %d times by the epilogue", e / kBN, e % kBN, cnt[e]);
    CHECK(fcnt[e] == 1, "block tile element (%d, %d) in %d warp fragments", e / kBN, e % kBN, fcnt[e]);
  }
  CHECK(kEpiLd >= kWN && (kThreads / 32) * 16 * kEpiLd * 4 <= kSmemBytes, "the warps' epilogue strips fit");
}

// ---------------------------------------------------------------------------------------------
// 5. / 6. Emulation of the kernels' data flow
// ---------------------------------------------------------------------------------------------

static float bf16_rne(float x) {  // __float2bfloat16_rn for finite x
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

// gemm_tile<TA, TB, V> on the host: one 128 x 128 tile of C at (m0, n0), staged, multiplied fragment
// by fragment and written back through the epilogue exactly as the kernel indexes them. wrote counts
// the writes per element of the buffer that Cb points into (base). Every index is bounds-checked before
// use, so that a wrong helper fails a check instead of corrupting memory.
static void emulate_tile(bool ta, bool tb, bool v, const float* Ab, const float* Bb, float* Cb, int64_t M, int64_t N,
                         int64_t K, float alpha, float beta, int64_t m0, int64_t n0, const float* base,
                         std::vector<int>& wrote) {
  const int a_cols = a_tile_cols(ta), b_cols = b_tile_cols(tb);
  const int lda = a_cols + kPad, ldb = b_cols + kPad;
  std::vector<float> sa(kStageElems), sb(kStageElems), acc(kBM * kBN, 0.0f);
  long oob = 0;  // out-of-range indices
  auto src = [&](const float* X, int64_t elems, const Feed& f, int i, int j, int cols) {
    if (!feed_ok(f, i, j, cols, v)) return 0.0f;
    const int64_t e = feed_src(f, i, j, cols, v);
    if (e < 0 || e >= elems) return ++oob, 0.0f;
    return bf16_rne(X[e]);
  };
  auto smem = [&](std::vector<float>& t, int64_t off) -> float& {
    static float dummy;
    if (off < 0 || off >= kStageElems) return ++oob, dummy;
    return t[static_cast<size_t>(off)];
  };
  for (int64_t k0 = 0; k0 < K; k0 += kBK) {
    std::fill(sa.begin(), sa.end(), std::numeric_limits<float>::quiet_NaN());  // unstaged cells poison C
    std::fill(sb.begin(), sb.end(), std::numeric_limits<float>::quiet_NaN());
    for (int tid = 0; tid < kThreads; ++tid) {  // load_tile + store_tile
      const Feed fa = feed_at(a_store_tile(ta, m0, k0, M, K), tid, a_cols, v);
      const Feed fb = feed_at(b_store_tile(tb, k0, n0, K, N), tid, b_cols, v);
      for (int i = 0; i < kGroups; ++i)
        for (int j = 0; j < 4; ++j) {
          smem(sa, stage_smem(tid, i, j, a_cols, v)) = src(Ab, M * K, fa, i, j, a_cols);
          smem(sb, stage_smem(tid, i, j, b_cols, v)) = src(Bb, K * N, fb, i, j, b_cols);
        }
    }
    for (int w = 0; w < kThreads / 32; ++w)
      for (int kk = 0; kk < kBK; kk += 16)
        for (int mi = 0; mi < kFM; ++mi)
          for (int ni = 0; ni < kFN; ++ni) {  // mma_step: fragments at the kernel's pointers, library layouts
            const int64_t pa = a_smem_off(ta, warp_m0(w) + 16 * mi, kk);
            const int64_t pb = b_smem_off(tb, kk, warp_n0(w) + 16 * ni);
            for (int x = 0; x < 16; ++x)
              for (int y = 0; y < 16; ++y) {
                float s = 0.0f;
                for (int k = 0; k < 16; ++k)
                  s += smem(sa, pa + (ta ? x + k * lda : x * lda + k)) *
                       smem(sb, pb + (tb ? k + y * ldb : k * ldb + y));
                acc[(warp_m0(w) + 16 * mi + x) * kBN + warp_n0(w) + 16 * ni + y] += s;
              }
          }
  }
  // Epilogue: per warp and fragment row mi, the strip holds fragment (mi, ni) at columns 16*ni + [0, 16).
  std::vector<float> strip(16 * kEpiLd);
  for (int w = 0; w < kThreads / 32; ++w)
    for (int mi = 0; mi < kFM; ++mi) {
      for (int ni = 0; ni < kFN; ++ni)
        for (int r = 0; r < 16; ++r)
          for (int c = 0; c < 16; ++c)
            strip[r * kEpiLd + 16 * ni + c] = acc[(warp_m0(w) + 16 * mi + r) * kBN + warp_n0(w) + 16 * ni + c];
      for (int lane = 0; lane < 32; ++lane) {
        const int64_t j = n0 + epi_col(w, lane);
        for (int r = 0; r < 16; ++r) {
          const int64_t i = m0 + epi_row(w, mi, r);
          if (i < 0 || j < 0 || epi_col(w, lane) >= kBN || epi_row(w, mi, r) >= kBM) {
            ++oob;
            continue;
          }
          if (j < N && i < M) {
            const float val = alpha * strip[r * kEpiLd + lane];
            float* cp = Cb + i * N + j;
            *cp = beta == 0.0f ? val : std::fmaf(beta, *cp, val);
            wrote[cp - base]++;
          }
        }
      }
    }
  CHECK(oob == 0, "emulated tile (%lld, %lld) ta=%d tb=%d v=%d M=%lld N=%lld K=%lld: %ld out-of-range indices",
        (long long)m0, (long long)n0, ta, tb, v, (long long)M, (long long)N, (long long)K, oob);
}

// C_b = alpha op(A_b) op(B_b) + beta C_b in float64 from the original (integer) data, compared with the
// emulated C; every element written once.
static int compare(bool ta, bool tb, const float* Ab, const float* Bb, const float* C0b, const float* Cb,
                   const int* wroteb, int64_t M, int64_t N, int64_t K, float alpha, float beta) {
  int bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(ta ? Ab[k * M + i] : Ab[i * K + k]) * (tb ? Bb[j * K + k] : Bb[k * N + j]);
      const double want = beta == 0.0f ? alpha * s : alpha * s + beta * double(C0b[i * N + j]);
      const float got = Cb[i * N + j];
      if (std::isnan(got) || std::fabs(got - want) > 1e-3 * (1 + std::fabs(want)) || wroteb[i * N + j] != 1) ++bad;
    }
  return bad;
}

static std::vector<float> ints(std::mt19937& rng, int64_t n) {  // small integers: exact in bf16 and fp32
  std::uniform_int_distribution<int> d(-3, 3);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& e : x) e = static_cast<float>(d(rng));
  return x;
}

// gemm_bf16_kernel over a batch (strides sA, sB, sC; 0 broadcasts an operand). C has gaps between
// batches (sC > M*N) and a tail, filled with a sentinel that must survive; with beta == 0, C starts
// as NaN (it must not be read).
static void emulate_gemm(bool ta, bool tb, bool v, int64_t M, int64_t N, int64_t K, int64_t batch, int64_t sA,
                         int64_t sB, int64_t sC, float alpha, float beta, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t nA = (batch - 1) * sA + M * K, nB = (batch - 1) * sB + K * N, nC = (batch - 1) * sC + M * N + 7;
  const std::vector<float> A = ints(rng, nA), B = ints(rng, nB);
  std::vector<float> C = ints(rng, nC);
  const float sentinel = 12345.0f;
  std::vector<char> inC(nC, 0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t e = 0; e < M * N; ++e) inC[b * sC + e] = 1;
  for (int64_t e = 0; e < nC; ++e)
    if (!inC[e]) C[e] = sentinel;
    else if (beta == 0.0f) C[e] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> C0 = C;
  std::vector<int> wrote(nC, 0);
  // The adapter's choice of the float4 path must allow v where this test uses it.
  if (v)
    CHECK(rows_aligned16(A.data(), ta ? M : K, sA, batch) && rows_aligned16(B.data(), tb ? K : N, sB, batch),
          "rows_aligned16 rejects aligned operands (M=%lld N=%lld K=%lld)", (long long)M, (long long)N, (long long)K);
  const int64_t tiles_m = (M + kBM - 1) / kBM, tiles_n = (N + kBN - 1) / kBN;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t pid = 0; pid < tiles_m * tiles_n; ++pid) {
      int64_t tm = -1, tn = -1;
      tile_coords(pid, tiles_m, tiles_n, &tm, &tn);
      if (tm < 0 || tm >= tiles_m || tn < 0 || tn >= tiles_n) continue;  // reported by check_tile_order
      emulate_tile(ta, tb, v, A.data() + b * sA, B.data() + b * sB, C.data() + b * sC, M, N, K, alpha, beta, tm * kBM,
                   n0_of(tn), C.data(), wrote);
    }
  int bad = 0;
  for (int64_t b = 0; b < batch; ++b)
    bad += compare(ta, tb, A.data() + b * sA, B.data() + b * sB, C0.data() + b * sC, C.data() + b * sC,
                   wrote.data() + b * sC, M, N, K, alpha, beta);
  for (int64_t e = 0; e < nC; ++e)
    if (!inC[e] && (C[e] != sentinel || wrote[e])) ++bad;
  CHECK(bad == 0,
        "emulated gemm ta=%d tb=%d v=%d M=%lld N=%lld K=%lld batch=%lld sA=%lld sB=%lld sC=%lld: %d bad elements",
        ta, tb, v, (long long)M, (long long)N, (long long)K, (long long)batch, (long long)sA, (long long)sB,
        (long long)sC, bad);
}

// The adapter's launch plan (plan_grouped in kernels/gemm/cuda.cu, the function op_gemm_grouped_cuda
// calls) for the requested groups; orig[k] is the index, among them, of the k-th kept group.
static GroupedDims grouped_dims(const std::vector<GemmGroup>& req, float alpha, float beta, bool ta, bool tb,
                                std::vector<int>* orig, bool* vec) {
  GemmGroupedArgs p;
  p.transA = ta;
  p.transB = tb;
  p.G = static_cast<int>(req.size());
  p.alpha = alpha;
  p.beta = beta;
  for (int g = 0; g < p.G; ++g) p.g[g] = req[g];
  int o[kGemmMaxGroups], scale[kGemmMaxGroups], nscale = 0;
  const GroupedDims d = plan_grouped(p, o, scale, &nscale, vec);
  orig->assign(o, o + d.G);
  return d;
}

// Random group shapes (1..8 groups, some empty): block pid -> group_of -> tile_coords of the local id
// covers every (group, tile) exactly once, and each block's tile lies inside its group's C.
static void check_grouped_mapping(int trials, uint32_t seed) {
  std::mt19937 rng(seed);
  auto dim = [&](int big) -> int64_t {  // 0 sometimes, else 1..big, often a multiple of 128 (+- 1)
    const int r = static_cast<int>(rng() % 10);
    if (r == 0) return 0;
    if (r <= 3) return 128 * (1 + rng() % (big / 128 + 1)) + static_cast<int>(rng() % 3) - 1;
    return 1 + rng() % big;
  };
  for (int t = 0; t < trials; ++t) {
    const int G = 1 + static_cast<int>(rng() % kGemmMaxGroups);
    std::vector<GemmGroup> req(G);
    for (auto& q : req) {
      q.M = dim(t % 4 == 0 ? 4000 : 700);
      q.N = dim(t % 4 == 1 ? 4000 : 700);
      q.K = rng() % 8 == 0 ? 0 : 1 + rng() % 300;
    }
    std::vector<int> orig;
    bool vec;
    const GroupedDims d = grouped_dims(req, 1.0f, 0.0f, false, false, &orig, &vec);
    // expected coverage: tm x tn per kept group
    std::vector<std::vector<int>> seen(d.G);
    for (int k = 0; k < d.G; ++k) {
      const int64_t tiles_m = (d.g[k].M + kBM - 1) / kBM;
      seen[k].assign(static_cast<size_t>(tiles_m * d.tiles_n[k]), 0);
      CHECK(d.tile_start[k + 1] - d.tile_start[k] == tiles_m * d.tiles_n[k], "tile_start prefix sums");
    }
    for (int64_t pid = 0; pid < d.tile_start[d.G]; ++pid) {
      const int g = group_of(d.tile_start, d.G, pid);
      const bool gin = g >= 0 && g < d.G && d.tile_start[g] <= pid && pid < d.tile_start[g + 1];
      CHECK(gin, "trial %d: group_of(%lld) = %d, tile ranges of %d groups", t, (long long)pid, g, d.G);
      if (!gin) continue;
      const GemmGroup& q = d.g[g];
      const int64_t tiles_m = (q.M + kBM - 1) / kBM;  // as gemm_grouped_bf16_kernel
      int64_t tm = -1, tn = -1;
      tile_coords(pid - d.tile_start[g], tiles_m, d.tiles_n[g], &tm, &tn);
      const bool tin = tm >= 0 && tm < tiles_m && tn >= 0 && tn < d.tiles_n[g];
      CHECK(tin && tm * kBM < q.M && n0_of(tn) < q.N,
            "trial %d: block %lld -> group %d tile (%lld, %lld) outside %lld x %lld", t, (long long)pid, g,
            (long long)tm, (long long)tn, (long long)q.M, (long long)q.N);
      if (tin) seen[g][tm * d.tiles_n[g] + tn]++;
    }
    for (int k = 0; k < d.G; ++k)
      for (size_t e = 0; e < seen[k].size(); ++e)
        CHECK(seen[k][e] == 1, "trial %d: group %d (requested %d) tile %zu given to %d blocks", t, k, orig[k], e,
              seen[k][e]);
    // every non-empty requested group is kept, in order
    int kept = 0;
    for (int g = 0; g < G; ++g)
      if (req[g].M && req[g].N && req[g].K) {
        CHECK(kept < d.G && orig[kept] == g && d.g[kept].M == req[g].M && d.g[kept].N == req[g].N,
              "trial %d: requested group %d not kept in order", t, g);
        ++kept;
      }
    CHECK(kept == d.G, "trial %d: %d groups kept, %d expected", t, d.G, kept);
  }
}

// gemm_grouped_bf16_kernel on the host: every block of the one launch, over small groups.
static void emulate_grouped(bool ta, bool tb, bool v, const std::vector<std::array<int64_t, 3>>& shapes, float alpha,
                            float beta, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<float>> A, B, C, C0;
  std::vector<std::vector<int>> wrote;
  std::vector<GemmGroup> req;
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    A.push_back(ints(rng, M * K));
    B.push_back(ints(rng, K * N));
    C.push_back(ints(rng, M * N));
    if (beta == 0.0f) std::fill(C.back().begin(), C.back().end(), std::numeric_limits<float>::quiet_NaN());
    C0.push_back(C.back());
    wrote.emplace_back(static_cast<size_t>(M * N), 0);
  }
  for (size_t g = 0; g < shapes.size(); ++g) {
    GemmGroup q;
    q.A = A[g].data();
    q.B = B[g].data();
    q.C = C[g].data();
    q.M = shapes[g][0];
    q.N = shapes[g][1];
    q.K = shapes[g][2];
    req.push_back(q);
  }
  std::vector<int> orig;
  bool vec;
  const GroupedDims d = grouped_dims(req, alpha, beta, ta, tb, &orig, &vec);
  if (v) CHECK(vec, "gemm_grouped: rows_aligned16 rejects aligned groups");
  for (int64_t pid = 0; pid < d.tile_start[d.G]; ++pid) {
    const int g = group_of(d.tile_start, d.G, pid);
    if (g < 0 || g >= d.G) continue;  // reported by check_grouped_mapping
    const GemmGroup& q = d.g[g];
    const int64_t tiles_m = (q.M + kBM - 1) / kBM;
    int64_t tm = -1, tn = -1;
    tile_coords(pid - d.tile_start[g], tiles_m, d.tiles_n[g], &tm, &tn);
    if (tm < 0 || tm >= tiles_m || tn < 0 || tn >= d.tiles_n[g]) continue;
    emulate_tile(ta, tb, v, q.A, q.B, q.C, q.M, q.N, q.K, d.alpha, d.beta, tm * kBM, n0_of(tn), q.C, wrote[orig[g]]);
  }
  int bad = 0;
  for (size_t g = 0; g < shapes.size(); ++g) {
    const int64_t M = shapes[g][0], N = shapes[g][1], K = shapes[g][2];
    if (M == 0 || N == 0 || K == 0) continue;  // never reaches the kernel
    bad += compare(ta, tb, A[g].data(), B[g].data(), C0[g].data(), C[g].data(), wrote[g].data(), M, N, K, alpha, beta);
  }
  CHECK(bad == 0, "emulated gemm_grouped ta=%d tb=%d v=%d (%zu groups): %d bad elements", ta, tb, v, shapes.size(),
        bad);
}

int main() {
  check_tile_order();
  check_fragment_offsets();
  check_epilogue();

  // Awkward shapes: single elements, ragged edges on every side, exact tiles, K below one K tile.
  const int64_t shapes[][3] = {{1, 1, 1},    {37, 65, 129}, {129, 7, 300}, {128, 128, 32}, {256, 384, 64},
                               {4, 4, 4},    {3, 130, 33},  {260, 1, 31},  {17, 200, 96},  {1, 300, 5}};
  for (const auto& s : shapes) check_staging(s[0], s[1], s[2]);

  int runs = 0;
  for (const auto& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int v = 0; v < 2; ++v) {
          const int64_t M = s[0], N = s[1], K = s[2];
          if (v && ((ta ? M : K) % 4 || (tb ? K : N) % 4)) continue;  // the kernel takes V only when aligned
          const uint32_t seed = 1 + runs;
          emulate_gemm(ta, tb, v, M, N, K, 1, 0, 0, 0, 1.0f, 0.0f, seed);
          // batched, B broadcast, gaps between the batches (strides aligned where v)
          emulate_gemm(ta, tb, v, M, N, K, 3, M * K + (v ? 4 : 3), 0, M * N + 5, -0.5f, 2.0f, seed + 1000);
          // A broadcast
          emulate_gemm(ta, tb, v, M, N, K, 2, 0, K * N + (v ? 8 : 1), M * N, 2.0f, 1.0f, seed + 2000);
          runs += 3;
        }

  const int mapping_trials = 3000;
  check_grouped_mapping(mapping_trials, 42);
  // Grouped products: empty groups between kept ones, shapes aligned for the float4 path where v.
  using Shapes = std::vector<std::array<int64_t, 3>>;  // {M, N, K} per group
  const Shapes gs_any = {{37, 65, 129}, {0, 5, 7}, {130, 3, 33}, {5, 0, 2}, {1, 1, 1}, {9, 140, 0}, {200, 17, 40}};
  const Shapes gs_aligned = {{132, 8, 36}, {0, 4, 4}, {4, 132, 64}, {64, 64, 0}, {8, 12, 4}};
  int grouped = 0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      emulate_grouped(ta, tb, false, gs_any, 1.0f, 0.0f, 100 + grouped);
      emulate_grouped(ta, tb, false, gs_aligned, -2.0f, 0.5f, 200 + grouped);
      emulate_grouped(ta, tb, true, gs_aligned, 1.0f, 1.0f, 300 + grouped);
      grouped += 3;
    }

  if (g_fail)
    std::printf("gemm_index: FAILED %ld of %ld checks\n", g_fail, g_checks);
  else
    std::printf("gemm_index: ok, %ld checks (tile order, fragment offsets, epilogue, staging of %zu shapes, "
                "%d gemm and %d gemm_grouped emulations, %d grouped tile mappings)\n",
                g_checks, sizeof(shapes) / sizeof(shapes[0]), runs, grouped, mapping_trials);
  return g_fail ? 1 : 0;
}
