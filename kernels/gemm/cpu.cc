// CPU GEMM: Goto/BLIS-style packing + register-blocked micro-kernels (AVX-512, AVX2, portable), a
// path for small products that reads A in place, and a skinny path (min(M, N) <= 4: GEMV-like calls
// such as one decode token through a linear layer or the LM head) that packs nothing.
// See gemm.h for the contract.
//
// Orientation: C is row-major, so a micro-tile is MR rows x NR columns with NR a multiple of the
// vector width: per k, the micro-kernel loads NR/16 vectors of the packed B row and broadcasts MR
// scalars of A, accumulating MR*NR/16 vector registers.
// Packed B strip: for k in [0,kc): NR floats (columns). A: k-major strips (for k: MR floats) when A is
// stored transposed, else rows (a copy of the block, or A in place) read through MR row pointers.
//
// Loop nest for one block of C (one thread), the five loops around the micro-kernel (BLIS naming):
//   jc over N (NC)  ->  pc over K (KC): pack B panel KC x NC  ->  ic over M (MC): pack A block MC x KC
//   -> jr over NR strips of B (one strip is reused by every ir)  ->  ir over MR strips of A.
// Tuned on the development machine (AMD EPYC Zen 4, 2 vCPUs, 32 KiB L1d + 1 MiB L2 per core, 32 MiB L3):
// the micro-kernel alone runs at ~99% of the FMA peak from L1 for every tile tried (14x32, 12x32,
// 8x48, 6x64, 28x16); in the full loop nest 6x64 with KC = 384, MC = 288 measured best (91-96% of peak
// on one core). The C tile is prefetched when a micro-kernel starts, so the write-back does not stall.
// Epilogues index the accumulators with compile-time constants only (unrolled loops with an early
// exit): a runtime index makes GCC keep every accumulator in memory through the k loop.
#include "gemm.h"

#include "../common/vmath.h"  // MC_X86, MC_AVX512, MC_AVX2 (and <immintrin.h> on x86)

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../common/cpu_features.h"
#include "../common/threadpool.h"

#define MC_INLINE inline __attribute__((always_inline))

namespace mc {
namespace {

// A logical matrix: element (i, j) is p[i * rs + j * cs].
struct Mat {
  const float* p;
  int64_t rs, cs;
};

struct Blocking {
  int64_t mc, kc, nc;
};

// ---------------------------------------------------------------------------------------------
// Packing (generic code, always inlined into ISA-specific wrappers so it vectorises for that ISA).
// ---------------------------------------------------------------------------------------------

// A with transposed storage (A.rs == 1), rows [i0, i0+mlen) x cols [k0, k0+kc), into k-major strips of
// MR rows: dst[s][k][r] (zero-padded rows). A column of a strip is contiguous in storage: a plain copy.
template <int MR>
MC_INLINE void pack_a_kmajor(const Mat& A, int64_t i0, int64_t mlen, int64_t k0, int64_t kc, float* __restrict dst) {
  for (int64_t s = 0; s < mlen; s += MR) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mlen - s));
    float* __restrict d = dst + s * kc;
    const float* src = A.p + (i0 + s) + k0 * A.cs;
    if (mr == MR) {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = src[k * A.cs + r];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = r < mr ? src[k * A.cs + r] : 0.0f;
    }
  }
}

// A with row-major storage (A.cs == 1): rows [i0, i0+mlen) x cols [k0, k0+kc) copied as they are,
// row i at dst + i*kc. The micro-kernel reads such a block through row pointers (no transpose here,
// and none of the cache-set aliasing that reading A in place at a power-of-two lda would bring).
MC_INLINE void pack_a_rows(const Mat& A, int64_t i0, int64_t mlen, int64_t k0, int64_t kc, float* __restrict dst) {
  for (int64_t i = 0; i < mlen; ++i)
    std::memcpy(dst + i * kc, A.p + (i0 + i) * A.rs + k0, static_cast<size_t>(kc) * sizeof(float));
}

// B rows [k0, k0+kc) x cols [j0, j0+nlen) into strips of NR columns: dst[s][k][c], zero-padded columns.
template <int NR>
MC_INLINE void pack_b_generic(const Mat& B, int64_t k0, int64_t kc, int64_t j0, int64_t nlen, float* __restrict dst) {
  for (int64_t s = 0; s < nlen; s += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nlen - s));
    float* __restrict d = dst + s * kc;
    if (B.cs == 1) {  // row-major B: each k row of the strip is contiguous
      const float* src = B.p + k0 * B.rs + (j0 + s);
      if (nr == NR) {
        for (int64_t k = 0; k < kc; ++k)
          for (int c = 0; c < NR; ++c) d[k * NR + c] = src[k * B.rs + c];
      } else {
        for (int64_t k = 0; k < kc; ++k)
          for (int c = 0; c < NR; ++c) d[k * NR + c] = c < nr ? src[k * B.rs + c] : 0.0f;
      }
    } else {  // transposed B (N x K storage): transpose NR rows of storage, a block of k at a time
      const float* src = B.p + k0 * B.rs + (j0 + s) * B.cs;
      constexpr int KB = 16;
      int64_t k = 0;
      if (B.rs == 1 && nr == NR) {
        for (; k + KB <= kc; k += KB)
          for (int c = 0; c < NR; ++c)
            for (int kk = 0; kk < KB; ++kk) d[(k + kk) * NR + c] = src[c * B.cs + k + kk];
      }
      for (; k < kc; ++k)
        for (int c = 0; c < NR; ++c) d[k * NR + c] = c < nr ? src[c * B.cs + k * B.rs] : 0.0f;
    }
  }
}

#if MC_X86
// 16 x 16 transpose: r[j] (16 floats each) -> out[c] = column c, i.e. out[c][j] = r[j][c].
MC_AVX512 MC_INLINE void transpose16(const __m512 r[16], __m512 out[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // per group g of 4 rows: u[4g + c] holds, in 128-bit lane L, column 4L + c of rows 4g..4g+3
  for (int g = 0; g < 4; ++g) {
    const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    out[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    out[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    out[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    out[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// B with transposed storage (B.rs == 1, N x K): full strips of NR columns through 16 x 16 register
// transposes, the rest through the generic pack.
template <int NR>
MC_AVX512 MC_INLINE void pack_b_trans512(const Mat& B, int64_t k0, int64_t kc, int64_t j0, int64_t nlen,
                                         float* __restrict dst) {
  const int64_t full = nlen / NR * NR;
  const int64_t kfull = kc / 16 * 16;
  for (int64_t s = 0; s < full; s += NR) {
    float* __restrict d = dst + s * kc;
    for (int jb = 0; jb < NR / 16; ++jb) {
      const float* src = B.p + k0 + (j0 + s + jb * 16) * B.cs;
      for (int64_t k = 0; k < kfull; k += 16) {
        __m512 r[16], o[16];
        for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(src + j * B.cs + k);
        transpose16(r, o);
        for (int c = 0; c < 16; ++c) _mm512_store_ps(d + (k + c) * NR + jb * 16, o[c]);
      }
      for (int64_t k = kfull; k < kc; ++k)
        for (int j = 0; j < 16; ++j) d[k * NR + jb * 16 + j] = src[j * B.cs + k];
    }
  }
  if (full < nlen) pack_b_generic<NR>(B, k0, kc, j0 + full, nlen - full, dst + full * kc);
}
#endif  // MC_X86

// ---------------------------------------------------------------------------------------------
// Micro-kernels. c: top-left of the MR x NR tile in C (row stride ldc); only mr x nr is written.
// PA: A is a packed k-major strip (a[k*MR + r]); otherwise A is read through row pointers
// (a[r*ars + k]: A in place, or a block packed row by row) with rows >= mr clamped to a valid row
// (their results are discarded). b is always a packed strip.
// ---------------------------------------------------------------------------------------------

#if MC_X86
template <int MR, int NV, bool PA>
MC_AVX512 void ukr_avx512(int64_t kc, const float* __restrict a, int64_t ars, const float* __restrict b, float* c,
                          int64_t ldc, float alpha, float beta, int mr, int nr) {
  // Fetch the C tile while the k loop runs, so the write-back finds it in L1.
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r) {
    if (r >= mr) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + v * 16), _MM_HINT_T0);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();

  if (PA) {
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; ++k) {
      __m512 bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + v * 16);
#pragma GCC unroll 32
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
      a += MR;
      b += NV * 16;
    }
  } else {
    const float* rows[MR];
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) rows[r] = a + static_cast<int64_t>(r < mr ? r : mr - 1) * ars;
    for (int64_t k = 0; k < kc; ++k) {
      __m512 bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + v * 16);
#pragma GCC unroll 32
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(rows[r][k]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
      b += NV * 16;
    }
  }

  __mmask16 m[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const int rem = nr - v * 16;
    m[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : rem <= 0 ? 0 : static_cast<__mmask16>((1u << rem) - 1u);
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  if (beta == 0.0f) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      if (r >= mr) break;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + v * 16, m[v], _mm512_mul_ps(acc[r][v], va));
    }
  } else {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      if (r >= mr) break;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        float* cp = c + r * ldc + v * 16;
        const __m512 old = _mm512_maskz_loadu_ps(m[v], cp);
        _mm512_mask_storeu_ps(cp, m[v], _mm512_fmadd_ps(old, vb, _mm512_mul_ps(acc[r][v], va)));
      }
    }
  }
}

template <int MR, int NV, bool PA>
MC_AVX2 void ukr_avx2(int64_t kc, const float* __restrict a, int64_t ars, const float* __restrict b, float* c,
                      int64_t ldc, float alpha, float beta, int mr, int nr) {
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r) {
    if (r >= mr) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; v += 2) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + v * 8), _MM_HINT_T0);
  }
  __m256 acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* rows[MR];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r) rows[r] = PA ? a + r : a + static_cast<int64_t>(r < mr ? r : mr - 1) * ars;
  const int64_t step = PA ? MR : 1;
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + v * 8);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(rows[r] + k * step);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
    b += NV * 8;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  alignas(32) float tmp[NV * 8];
  // constant indices only (unrolled, early exit): a runtime index into acc would keep every
  // accumulator in memory through the k loop
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r) {
    if (r >= mr) break;
    float* cr = c + r * ldc;
    if (nr == NV * 8) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        __m256 x = _mm256_mul_ps(acc[r][v], va);
        if (beta != 0.0f) x = _mm256_fmadd_ps(_mm256_loadu_ps(cr + v * 8), vb, x);
        _mm256_storeu_ps(cr + v * 8, x);
      }
    } else {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) _mm256_store_ps(tmp + v * 8, _mm256_mul_ps(acc[r][v], va));
      if (beta == 0.0f)
        for (int j = 0; j < nr; ++j) cr[j] = tmp[j];
      else
        for (int j = 0; j < nr; ++j) cr[j] = tmp[j] + beta * cr[j];
    }
  }
}
#endif  // MC_X86

// Portable: plain loops over an MR x NR tile (the compiler's baseline vectorisation only).
template <int MR, int NR, bool PA>
void ukr_scalar(int64_t kc, const float* __restrict a, int64_t ars, const float* __restrict b, float* c, int64_t ldc,
                float alpha, float beta, int mr, int nr) {
  float acc[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = 0.0f;
  const float* rows[MR];
  for (int r = 0; r < MR; ++r) rows[r] = PA ? a + r : a + static_cast<int64_t>(r < mr ? r : mr - 1) * ars;
  const int64_t step = PA ? MR : 1;
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = rows[r][k * step];
      for (int j = 0; j < NR; ++j) acc[r][j] += av * b[j];
    }
    b += NR;
  }
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < nr; ++j) cr[j] = alpha * acc[r][j];
    else
      for (int j = 0; j < nr; ++j) cr[j] = alpha * acc[r][j] + beta * cr[j];
  }
}

// Macro-kernel: loops jr (NR strips of packed B) and ir (MR strips of packed A, or A in place) over
// one mlen x nlen block of C. Generic, inlined into each ISA's wrapper.
template <int MR, int NR, bool PA, class Ukr>
MC_INLINE void macro_generic(Ukr ukr, int64_t kc, int64_t mlen, int64_t nlen, const float* ap, int64_t ars,
                             const float* bp, float* c, int64_t ldc, float alpha, float beta) {
  for (int64_t j = 0; j < nlen; j += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nlen - j));
    const float* bs = bp + j * kc;
    for (int64_t i = 0; i < mlen; i += MR) {
      const int mr = static_cast<int>(std::min<int64_t>(MR, mlen - i));
      const float* as = PA ? ap + i * kc : ap + i * ars;
      ukr(kc, as, ars, bs, c + i * ldc + j, ldc, alpha, beta, mr, nr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Skinny products: R = min(M, N) <= kSkinny rows of a thin operand T (R x K) against a long operand
// L (K x Ln), output O(r, l) = alpha * sum_k T(r,k) L(k,l) + beta * O(r, l) at o[r*ors + l*ocs].
// Nothing is packed: the long operand (the weights of a GEMV) is streamed once.
//   axpy form (L contiguous along l): 64 outputs per row at a time, broadcast T(r,k), FMA L's row k.
//   dot form (L contiguous along k): 4 outputs per row at a time as dot products over k (T must be
//   contiguous along k too; the caller copies it when it is not).
// ---------------------------------------------------------------------------------------------
constexpr int kSkinny = 4;

struct Skinny {
  int R;
  int64_t K;
  Mat T, L;
  float* o;
  int64_t ors, ocs;
  float alpha, beta;
};

MC_INLINE void store_out(const Skinny& s, int r, int64_t l, float acc) {
  float* p = s.o + r * s.ors + l * s.ocs;
  *p = s.beta == 0.0f ? s.alpha * acc : s.alpha * acc + s.beta * *p;
}

#if MC_X86
template <int R>
MC_AVX512 void skinny_axpy_avx512(const Skinny& s, int64_t l0, int64_t l1) {
  for (int64_t l = l0; l < l1; l += 64) {
    const int64_t nl = std::min<int64_t>(64, l1 - l);
    __mmask16 m[4];
    for (int v = 0; v < 4; ++v) {
      const int64_t rem = nl - v * 16;
      m[v] = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : rem <= 0 ? 0 : static_cast<__mmask16>((1u << rem) - 1u);
    }
    __m512 acc[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) acc[r][v] = _mm512_setzero_ps();
    const float* lp = s.L.p + l;
    for (int64_t k = 0; k < s.K; ++k) {
      __m512 bv[4];
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) bv[v] = _mm512_maskz_loadu_ps(m[v], lp + k * s.L.rs + v * 16);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 av = _mm512_set1_ps(s.T.p[r * s.T.rs + k * s.T.cs]);
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
    const __m512 va = _mm512_set1_ps(s.alpha), vb = _mm512_set1_ps(s.beta);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      if (s.ocs == 1) {
        float* op = s.o + r * s.ors + l;
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
          __m512 x = _mm512_mul_ps(acc[r][v], va);
          if (s.beta != 0.0f) x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v], op + v * 16), vb, x);
          _mm512_mask_storeu_ps(op + v * 16, m[v], x);
        }
      } else {
        alignas(64) float tmp[64];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) _mm512_store_ps(tmp + v * 16, acc[r][v]);
        for (int64_t j = 0; j < nl; ++j) store_out(s, r, l + j, tmp[j]);
      }
    }
  }
}

// J outputs per row at a time (8 measured no faster than 4 for one thin row).
template <int R, int J = 4>
MC_AVX512 void skinny_dot_avx512(const Skinny& s, int64_t l0, int64_t l1) {
  const int64_t K = s.K;
  for (int64_t l = l0; l < l1; l += J) {
    const int nj = static_cast<int>(std::min<int64_t>(J, l1 - l));
    const float* lrow[J];
    for (int j = 0; j < J; ++j) lrow[j] = s.L.p + std::min<int64_t>(l + j, l1 - 1) * s.L.cs;
    __m512 acc[R][J];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) acc[r][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
      const int64_t rem = K - k;
      const __mmask16 mk = rem >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << rem) - 1u);
      __m512 tv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) tv[r] = _mm512_maskz_loadu_ps(mk, s.T.p + r * s.T.rs + k);
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) {
        const __m512 bv = _mm512_maskz_loadu_ps(mk, lrow[j] + k);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][j] = _mm512_fmadd_ps(tv[r], bv, acc[r][j]);
      }
    }
    // reduce with constant indices only, so the accumulators stay in registers through the k loop
    float red[R][J];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) red[r][j] = _mm512_reduce_add_ps(acc[r][j]);
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < nj; ++j) store_out(s, r, l + j, red[r][j]);
  }
}

template <int R>
MC_AVX2 void skinny_axpy_avx2(const Skinny& s, int64_t l0, int64_t l1) {
  for (int64_t l = l0; l < l1; l += 32) {
    const int64_t nl = std::min<int64_t>(32, l1 - l);
    alignas(32) float tmp[R][32];
    if (nl == 32) {
      __m256 acc[R][4];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_setzero_ps();
      const float* lp = s.L.p + l;
      for (int64_t k = 0; k < s.K; ++k) {
        __m256 bv[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) bv[v] = _mm256_loadu_ps(lp + k * s.L.rs + v * 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 av = _mm256_broadcast_ss(s.T.p + r * s.T.rs + k * s.T.cs);
#pragma GCC unroll 4
          for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) _mm256_store_ps(tmp[r] + v * 8, acc[r][v]);
    } else {
      for (int r = 0; r < R; ++r)
        for (int64_t j = 0; j < nl; ++j) tmp[r][j] = 0.0f;
      for (int64_t k = 0; k < s.K; ++k)
        for (int r = 0; r < R; ++r) {
          const float av = s.T.p[r * s.T.rs + k * s.T.cs];
          for (int64_t j = 0; j < nl; ++j) tmp[r][j] += av * s.L.p[k * s.L.rs + l + j];
        }
    }
    for (int r = 0; r < R; ++r)
      for (int64_t j = 0; j < nl; ++j) store_out(s, r, l + j, tmp[r][j]);
  }
}

static inline MC_AVX2 float hsum256(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

template <int R>
MC_AVX2 void skinny_dot_avx2(const Skinny& s, int64_t l0, int64_t l1) {
  const int64_t K = s.K, kfull = K - K % 8;
  for (int64_t l = l0; l < l1; l += 4) {
    const int nj = static_cast<int>(std::min<int64_t>(4, l1 - l));
    const float* lrow[4];
    for (int j = 0; j < 4; ++j) lrow[j] = s.L.p + std::min<int64_t>(l + j, l1 - 1) * s.L.cs;
    __m256 acc[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kfull; k += 8) {
      __m256 tv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) tv[r] = _mm256_loadu_ps(s.T.p + r * s.T.rs + k);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256 bv = _mm256_loadu_ps(lrow[j] + k);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][j] = _mm256_fmadd_ps(tv[r], bv, acc[r][j]);
      }
    }
    float red[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) red[r][j] = hsum256(acc[r][j]);
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < nj; ++j) {
        float v = red[r][j];
        for (int64_t k = kfull; k < K; ++k) v += s.T.p[r * s.T.rs + k] * lrow[j][k];
        store_out(s, r, l + j, v);
      }
  }
}
#endif  // MC_X86

void skinny_axpy_scalar(const Skinny& s, int64_t l0, int64_t l1) {
  for (int r = 0; r < s.R; ++r)
    for (int64_t l = l0; l < l1; l += 64) {
      const int64_t nl = std::min<int64_t>(64, l1 - l);
      float tmp[64];
      for (int64_t j = 0; j < nl; ++j) tmp[j] = 0.0f;
      for (int64_t k = 0; k < s.K; ++k) {
        const float av = s.T.p[r * s.T.rs + k * s.T.cs];
        const float* lp = s.L.p + k * s.L.rs + l;
        for (int64_t j = 0; j < nl; ++j) tmp[j] += av * lp[j];
      }
      for (int64_t j = 0; j < nl; ++j) store_out(s, r, l + j, tmp[j]);
    }
}

void skinny_dot_scalar(const Skinny& s, int64_t l0, int64_t l1) {
  for (int r = 0; r < s.R; ++r)
    for (int64_t l = l0; l < l1; ++l) {
      const float* t = s.T.p + r * s.T.rs;
      const float* lp = s.L.p + l * s.L.cs;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 8 <= s.K; k += 8)
        for (int q = 0; q < 8; ++q) acc[q] += t[k + q] * lp[k + q];
      float v = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; k < s.K; ++k) v += t[k] * lp[k];
      store_out(s, r, l, v);
    }
}

using SkinnyFn = void (*)(const Skinny&, int64_t, int64_t);

// ---------------------------------------------------------------------------------------------
// Per-ISA entry points, as a table of function pointers.
// ---------------------------------------------------------------------------------------------
using PackAFn = void (*)(const Mat&, int64_t, int64_t, int64_t, int64_t, float*);
using PackBFn = void (*)(const Mat&, int64_t, int64_t, int64_t, int64_t, float*);
using MacroFn = void (*)(int64_t kc, int64_t mlen, int64_t nlen, const float* ap, int64_t ars, const float* bp,
                         float* c, int64_t ldc, float alpha, float beta);

struct KernelSet {
  const char* name;
  int mr, nr;
  Blocking blk;
  PackAFn pack_a;         // k-major strips, for A with transposed storage
  PackBFn pack_b;
  MacroFn macro_packed;  // A in k-major strips
  MacroFn macro_rows;    // A through row pointers: in place, or packed row by row
  SkinnyFn axpy[kSkinny];
  SkinnyFn dot[kSkinny];
};

#if MC_X86
#define MC_DEFINE_AVX512(MR, NV)                                                                                  \
  MC_AVX512 void pack_a_512_##MR##x##NV(const Mat& A, int64_t i0, int64_t ml, int64_t k0, int64_t kc, float* d) { \
    pack_a_kmajor<MR>(A, i0, ml, k0, kc, d);                                                                      \
  }                                                                                                               \
  MC_AVX512 void pack_b_512_##MR##x##NV(const Mat& B, int64_t k0, int64_t kc, int64_t j0, int64_t nl, float* d) { \
    if (B.rs == 1 && B.cs != 1)                                                                                   \
      pack_b_trans512<NV * 16>(B, k0, kc, j0, nl, d);                                                             \
    else                                                                                                          \
      pack_b_generic<NV * 16>(B, k0, kc, j0, nl, d);                                                              \
  }                                                                                                               \
  MC_AVX512 void macro_p_512_##MR##x##NV(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars,         \
                                         const float* bp, float* c, int64_t ldc, float al, float be) {             \
    macro_generic<MR, NV * 16, true>(ukr_avx512<MR, NV, true>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);          \
  }                                                                                                               \
  MC_AVX512 void macro_r_512_##MR##x##NV(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars,         \
                                         const float* bp, float* c, int64_t ldc, float al, float be) {             \
    macro_generic<MR, NV * 16, false>(ukr_avx512<MR, NV, false>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);        \
  }

MC_DEFINE_AVX512(6, 4)
MC_DEFINE_AVX512(14, 2)
MC_DEFINE_AVX512(8, 3)

#define MC_KS512(MR, NV, NAME, MC_, KC_, NC_)                                                                    \
  KernelSet {                                                                                                    \
    NAME, MR, NV * 16, Blocking{MC_, KC_, NC_}, pack_a_512_##MR##x##NV, pack_b_512_##MR##x##NV,                 \
        macro_p_512_##MR##x##NV, macro_r_512_##MR##x##NV,                                                        \
        {skinny_axpy_avx512<1>, skinny_axpy_avx512<2>, skinny_axpy_avx512<3>, skinny_axpy_avx512<4>},             \
        {skinny_dot_avx512<1>, skinny_dot_avx512<2>, skinny_dot_avx512<3>, skinny_dot_avx512<4>},                 \
  }

// Index 0 is the default; the others stay selectable for benchmarks (GemmTuning::kernel).
const KernelSet kAvx512Sets[] = {
    MC_KS512(6, 4, "avx512 6x64", 288, 384, 1024),
    MC_KS512(14, 2, "avx512 14x32", 280, 384, 1024),
    MC_KS512(8, 3, "avx512 8x48", 288, 384, 1008),
};
constexpr int kNumAvx512Sets = sizeof(kAvx512Sets) / sizeof(kAvx512Sets[0]);

MC_AVX2 void pack_a_avx2(const Mat& A, int64_t i0, int64_t ml, int64_t k0, int64_t kc, float* d) {
  pack_a_kmajor<6>(A, i0, ml, k0, kc, d);
}
MC_AVX2 void pack_b_avx2(const Mat& B, int64_t k0, int64_t kc, int64_t j0, int64_t nl, float* d) {
  pack_b_generic<16>(B, k0, kc, j0, nl, d);
}
MC_AVX2 void macro_p_avx2(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars, const float* bp, float* c,
                          int64_t ldc, float al, float be) {
  macro_generic<6, 16, true>(ukr_avx2<6, 2, true>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);
}
MC_AVX2 void macro_r_avx2(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars, const float* bp, float* c,
                          int64_t ldc, float al, float be) {
  macro_generic<6, 16, false>(ukr_avx2<6, 2, false>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);
}

const KernelSet kAvx2Set{"avx2 6x16",
                         6,
                         16,
                         Blocking{288, 384, 1024},
                         pack_a_avx2,
                         pack_b_avx2,
                         macro_p_avx2,
                         macro_r_avx2,
                         {skinny_axpy_avx2<1>, skinny_axpy_avx2<2>, skinny_axpy_avx2<3>, skinny_axpy_avx2<4>},
                         {skinny_dot_avx2<1>, skinny_dot_avx2<2>, skinny_dot_avx2<3>, skinny_dot_avx2<4>}};
#endif  // MC_X86

void pack_a_scalar(const Mat& A, int64_t i0, int64_t ml, int64_t k0, int64_t kc, float* d) {
  pack_a_kmajor<4>(A, i0, ml, k0, kc, d);
}
void pack_b_scalar(const Mat& B, int64_t k0, int64_t kc, int64_t j0, int64_t nl, float* d) {
  pack_b_generic<16>(B, k0, kc, j0, nl, d);
}
void macro_p_scalar(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars, const float* bp, float* c,
                    int64_t ldc, float al, float be) {
  macro_generic<4, 16, true>(ukr_scalar<4, 16, true>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);
}
void macro_r_scalar(int64_t kc, int64_t ml, int64_t nl, const float* ap, int64_t ars, const float* bp, float* c,
                    int64_t ldc, float al, float be) {
  macro_generic<4, 16, false>(ukr_scalar<4, 16, false>, kc, ml, nl, ap, ars, bp, c, ldc, al, be);
}

const KernelSet kScalarSet{"scalar 4x16",
                           4,
                           16,
                           Blocking{256, 256, 512},
                           pack_a_scalar,
                           pack_b_scalar,
                           macro_p_scalar,
                           macro_r_scalar,
                           {skinny_axpy_scalar, skinny_axpy_scalar, skinny_axpy_scalar, skinny_axpy_scalar},
                           {skinny_dot_scalar, skinny_dot_scalar, skinny_dot_scalar, skinny_dot_scalar}};

// ---------------------------------------------------------------------------------------------
// Tuning state and scratch
// ---------------------------------------------------------------------------------------------
constexpr int64_t kDefaultSmallFlops = 2 * 160 * 160 * 160;  // below: a row-major A is read in place

std::atomic<int64_t> g_mc{0}, g_kc{0}, g_nc{0}, g_small{-1}, g_serial{-1};
std::atomic<int> g_kernel{-1}, g_split{-1};

const KernelSet& current_set() {
  switch (simd_level()) {
#if MC_X86
    case Simd::Avx512: {
      int k = g_kernel.load(std::memory_order_relaxed);
      return kAvx512Sets[(k >= 0 && k < kNumAvx512Sets) ? k : 0];
    }
    case Simd::Avx2: return kAvx2Set;
#endif
    default: return kScalarSet;
  }
}

Blocking blocking_for(const KernelSet& ks) {
  Blocking b = ks.blk;
  if (int64_t v = g_mc.load(std::memory_order_relaxed)) b.mc = v;
  if (int64_t v = g_kc.load(std::memory_order_relaxed)) b.kc = v;
  if (int64_t v = g_nc.load(std::memory_order_relaxed)) b.nc = v;
  // whole strips only
  b.mc = std::max<int64_t>(ks.mr, b.mc / ks.mr * ks.mr);
  b.nc = std::max<int64_t>(ks.nr, b.nc / ks.nr * ks.nr);
  b.kc = std::max<int64_t>(1, b.kc);
  return b;
}

// Per-thread packing buffers, grown on demand and kept for the thread's lifetime (pool workers live
// as long as the process, so a steady stream of GEMMs allocates nothing after the first few calls).
struct Scratch {
  float* buf = nullptr;
  size_t cap = 0;  // floats
  ~Scratch() { std::free(buf); }
  float* get(size_t n) {
    if (n > cap) {
      std::free(buf);
      // Whole 2 MiB pages, advised as huge pages where the kernel allows it: the packed panels are
      // walked strip after strip, and 4 KiB pages would cost a TLB miss every few micro-kernel calls.
      constexpr size_t kHuge = size_t{2} << 20;
      const size_t bytes = ((n * sizeof(float) + kHuge - 1) / kHuge) * kHuge;
      buf = static_cast<float*>(std::aligned_alloc(kHuge, bytes));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (buf) madvise(buf, bytes, MADV_HUGEPAGE);
#endif
      cap = buf ? bytes / sizeof(float) : 0;
    }
    return buf;
  }
};
thread_local Scratch tl_scratch;

// C block = beta * C block (beta == 0 writes zeros without reading).
void scale_row(float* r, int64_t n, float beta) {
  if (beta == 0.0f)
    std::memset(r, 0, static_cast<size_t>(n) * sizeof(float));
  else if (beta != 1.0f)
    for (int64_t j = 0; j < n; ++j) r[j] *= beta;
}

// Last resort when a packing buffer cannot be allocated: correct, slow, needs no memory.
void naive_block(const Mat& A, const Mat& B, float* c, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                 int64_t K, float alpha, float beta) {
  for (int64_t i = m0; i < m1; ++i)
    for (int64_t j = n0; j < n1; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(A.p[i * A.rs + k * A.cs]) * B.p[k * B.rs + j * B.cs];
      float* cp = c + i * ldc + j;
      *cp = beta == 0.0f ? alpha * static_cast<float>(s) : alpha * static_cast<float>(s) + beta * *cp;
    }
}

// One block of C: rows [m0, m1), cols [n0, n1); K > 0, alpha != 0. A row-major A is read in place when
// `in_place` (small products: no copy at all), else copied row by row; a transposed A is packed into
// k-major strips.
void gemm_block(const KernelSet& ks, const Blocking& blk, bool in_place, const Mat& A, const Mat& B, float* C,
                int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, float alpha, float beta) {
  const bool rows = A.cs == 1;
  in_place = in_place && rows;
  const int64_t kcmax = std::min(blk.kc, K);
  const int64_t ncmax = std::min(blk.nc, ((n1 - n0 + ks.nr - 1) / ks.nr) * ks.nr);
  const int64_t mcmax = std::min(blk.mc, ((m1 - m0 + ks.mr - 1) / ks.mr) * ks.mr);
  const size_t nb = static_cast<size_t>(((kcmax * ncmax + 15) / 16) * 16);
  const size_t na = in_place ? 0 : static_cast<size_t>(kcmax * mcmax);
  float* buf = tl_scratch.get(nb + na);
  if (!buf) {
    naive_block(A, B, C, ldc, m0, m1, n0, n1, K, alpha, beta);
    return;
  }
  float* bbuf = buf;
  float* abuf = buf + nb;
  for (int64_t jc = n0; jc < n1; jc += ncmax) {
    const int64_t nlen = std::min(ncmax, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += kcmax) {
      const int64_t kc = std::min(kcmax, K - pc);
      const float be = pc == 0 ? beta : 1.0f;
      ks.pack_b(B, pc, kc, jc, nlen, bbuf);
      for (int64_t ic = m0; ic < m1; ic += mcmax) {
        const int64_t mlen = std::min(mcmax, m1 - ic);
        float* cblk = C + ic * ldc + jc;
        if (in_place) {
          ks.macro_rows(kc, mlen, nlen, A.p + ic * A.rs + pc, A.rs, bbuf, cblk, ldc, alpha, be);
        } else if (rows) {
          pack_a_rows(A, ic, mlen, pc, kc, abuf);
          ks.macro_rows(kc, mlen, nlen, abuf, kc, bbuf, cblk, ldc, alpha, be);
        } else {
          ks.pack_a(A, ic, mlen, pc, kc, abuf);
          ks.macro_packed(kc, mlen, nlen, abuf, 1, bbuf, cblk, ldc, alpha, be);
        }
      }
    }
  }
}

// The plan of one call: which micro-kernel, how each matrix of C is cut into pm x pn blocks of whole
// strips, and whether the blocks run on the calling thread only.
struct Plan {
  const KernelSet* ks = nullptr;
  int64_t pm = 1, pn = 1;
  bool parallel = false;
};

// A fork-join of the thread pool costs ~17 us on the development VM (futex wake of the helper, then of
// the caller when the helper finishes last): ~10 us before a helper starts and ~7 us to join, in
// cycles at ~3.6 GHz. Small products stay on the calling thread; mid-sized ones get more blocks than
// threads so a late helper still finds work.
constexpr double kForkCycles = 36000.0, kJoinCycles = 25000.0;

// Cost model in core cycles: the padded micro-tile work (32 FLOP/cycle), the packing each block does
// (row copies of A, k-major strips of A or B, transposed B dearer), a fixed cost per block, and the
// makespan of a greedy schedule whose helpers start kForkCycles late.
Plan plan_gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, int64_t batch, bool in_place, int nt) {
  const int forced_split = g_split.load(std::memory_order_relaxed);
  const int forced_kernel = g_kernel.load(std::memory_order_relaxed);
  const int64_t serial_v = g_serial.load(std::memory_order_relaxed);
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * batch;
  if (serial_v >= 0 && flops < static_cast<double>(serial_v)) nt = 1;  // tuning override
  if (serial_v < 0 && flops < 1e6) nt = 1;  // a fork-join alone costs more than the whole product
  const bool force_parallel = serial_v >= 0 && !(flops < static_cast<double>(serial_v));
  const KernelSet* sets[8];
  int nsets = 0;
#if MC_X86
  if (simd_level() == Simd::Avx512 && forced_kernel < 0)
    for (int i = 0; i < kNumAvx512Sets; ++i) sets[nsets++] = &kAvx512Sets[i];
#endif
  if (nsets == 0) sets[nsets++] = &current_set();
  Plan best;
  double best_cost = 1e300;
  const double Kd = static_cast<double>(K);
  for (int si = 0; si < nsets; ++si) {
    const KernelSet& ks = *sets[si];
    const double bias = si == 0 ? 1.0 : 1.04;  // the default tile measured a few % faster at equal work
    const int64_t sm = (M + ks.mr - 1) / ks.mr, sn = (N + ks.nr - 1) / ks.nr;  // strips
    const int64_t maxs = nt > 1 ? 4 * nt : 1;
    for (int64_t pm = 1; pm <= std::min(sm, maxs); ++pm)
      for (int64_t pn = 1; pn <= std::min(sn, maxs); ++pn) {
        const int64_t sblk = pm * pn;
        if (sblk > maxs || (forced_split > 0 && sblk != forced_split)) continue;
        const double rows = static_cast<double>((sm + pm - 1) / pm * ks.mr);
        const double cols = static_cast<double>((sn + pn - 1) / pn * ks.nr);
        const double pack_a = in_place && !transA ? 0.0 : (transA ? 0.5 : 0.25) * std::min(rows, static_cast<double>(M));
        const double pack_b = (transB ? 0.6 : 0.4) * std::min(cols, static_cast<double>(N));
        const double c = bias * rows * cols * Kd / 16.0 + (pack_a + pack_b) * Kd + 3000.0;
        const int64_t blocks = batch * sblk;
        // serial: one thread does every block
        if (sblk == 1 && !force_parallel) {
          const double t = c * static_cast<double>(blocks);
          if (t < best_cost) {
            best_cost = t;
            best = Plan{&ks, pm, pn, false};
          }
        }
        if (nt > 1 && blocks > 1) {
          double t = 0.0;
          const int n = std::min(nt, 64);
          if (blocks <= 64) {
            double fin[64];
            fin[0] = 0.0;
            for (int i = 1; i < n; ++i) fin[i] = kForkCycles;
            for (int64_t b = 0; b < blocks; ++b) {
              int i = 0;
              for (int q = 1; q < n; ++q)
                if (fin[q] < fin[i]) i = q;
              fin[i] += c;
            }
            for (int i = 0; i < n; ++i) t = std::max(t, fin[i]);
          } else {  // many blocks: the even share plus at most one block of imbalance
            t = (static_cast<double>(blocks) * c + (n - 1) * kForkCycles) / n + c;
          }
          t += kJoinCycles;
          if (t < best_cost * 0.995) {
            best_cost = t;
            best = Plan{&ks, pm, pn, true};
          }
        }
      }
  }
  if (!best.ks) best.ks = &current_set();
  return best;
}

// Cut [0, n) into p parts of whole strips of width w: part q is [cut(q), cut(q+1)).
inline int64_t cut(int64_t n, int64_t w, int64_t p, int64_t q) {
  const int64_t strips = (n + w - 1) / w;
  return std::min(n, (strips * q) / p * w);
}

// Skinny products (min(M, N) <= kSkinny): see the comment above Skinny.
void gemm_skinny(const KernelSet& ks, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta,
                 float* C, int64_t ldc, int64_t strideC, int64_t batch, bool serial) {
  const bool thinM = M <= N;  // thin operand: op(A) rows (C rows), else op(B)^T rows (C columns)
  const int R = static_cast<int>(thinM ? M : N);
  const int64_t Ln = thinM ? N : M;
  // long operand as a K x Ln matrix, and whether it is contiguous along Ln (axpy form) or K (dot form)
  auto long_mat = [&](int64_t bi) -> Mat {
    if (thinM) return Mat{B + bi * strideB, transB ? 1 : ldb, transB ? ldb : 1};
    return Mat{A + bi * strideA, transA ? lda : 1, transA ? 1 : lda};  // (k, i) = op(A)(i, k)
  };
  auto thin_mat = [&](int64_t bi) -> Mat {
    if (thinM) return Mat{A + bi * strideA, transA ? 1 : lda, transA ? lda : 1};
    return Mat{B + bi * strideB, transB ? ldb : 1, transB ? 1 : ldb};  // (j, k) = op(B)(k, j)
  };
  const bool axpy = long_mat(0).cs == 1;            // else the long operand is contiguous along k
  const bool copy_thin = !axpy && thin_mat(0).cs != 1;  // the dot form wants T contiguous along k too
  // about 4 blocks per thread (whole vectors), so a busy core does not hold the others up
  const int64_t unit = axpy ? 64 : 16;
  const int64_t want = serial ? 1 : 4 * static_cast<int64_t>(num_threads());
  const int64_t chunk = std::max<int64_t>(unit, ((Ln + want - 1) / want + unit - 1) / unit * unit);
  const int64_t nblk = (Ln + chunk - 1) / chunk;
  SkinnyFn fn = (axpy ? ks.axpy : ks.dot)[R - 1];
  auto run = [&](int64_t b0, int64_t b1, int) {
    for (int64_t t = b0; t < b1; ++t) {
      const int64_t bi = t / nblk, q = t % nblk;
      Skinny s{R, K, thin_mat(bi), long_mat(bi), C + bi * strideC, thinM ? ldc : 1, thinM ? 1 : ldc, alpha, beta};
      if (copy_thin) {
        float* tb = tl_scratch.get(static_cast<size_t>(R * K));
        if (!tb) {  // no memory for the copy: the portable dot form reads T through its strides
          for (int r = 0; r < R; ++r)
            for (int64_t l = q * chunk; l < std::min(Ln, (q + 1) * chunk); ++l) {
              double acc = 0.0;
              for (int64_t k = 0; k < K; ++k)
                acc += static_cast<double>(s.T.p[r * s.T.rs + k * s.T.cs]) * s.L.p[k * s.L.rs + l * s.L.cs];
              store_out(s, r, l, static_cast<float>(acc));
            }
          continue;
        }
        for (int r = 0; r < R; ++r)
          for (int64_t k = 0; k < K; ++k) tb[r * K + k] = s.T.p[r * s.T.rs + k * s.T.cs];
        s.T = Mat{tb, K, 1};
      }
      fn(s, q * chunk, std::min(Ln, (q + 1) * chunk));
    }
  };
  const int64_t total = batch * nblk;
  if (serial || total <= 1)
    run(0, total, 0);
  else
    parallel_for(total, 1, [&](int64_t b0, int64_t b1, int tid) { run(b0, b1, tid); });
}

void gemm_impl(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc,
               int64_t strideC, int64_t batch) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    parallel_for(batch * M, std::max<int64_t>(1, 16384 / N), [&](int64_t b, int64_t e, int) {
      for (int64_t r = b; r < e; ++r) scale_row(C + (r / M) * strideC + (r % M) * ldc, N, beta);
    });
    return;
  }
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  if (std::min(M, N) <= kSkinny) {
    // memory-bound: worth the pool's fork-join only when the long operand is large (>= 2 MiB)
    const int64_t serial_v = g_serial.load(std::memory_order_relaxed);
    const double bytes = 4.0 * static_cast<double>(std::max(M, N)) * static_cast<double>(K) * static_cast<double>(batch);
    const bool serial = serial_v >= 0 ? flops * static_cast<double>(batch) < static_cast<double>(serial_v)
                                      : bytes < static_cast<double>(2 << 20);
    gemm_skinny(current_set(), transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc,
                strideC, batch, serial);
    return;
  }
  const int64_t small_v = g_small.load(std::memory_order_relaxed);
  const bool in_place = flops < static_cast<double>(small_v >= 0 ? small_v : kDefaultSmallFlops);
  const Plan plan = plan_gemm(transA, transB, M, N, K, batch, in_place, num_threads());
  const KernelSet& ks = *plan.ks;
  const Blocking blk = blocking_for(ks);
  const int64_t per = plan.pm * plan.pn;
  auto run = [&](int64_t b0, int64_t b1, int) {
    for (int64_t t = b0; t < b1; ++t) {
      const int64_t bi = t / per, q = t % per, qm = q / plan.pn, qn = q % plan.pn;
      const Mat Am{A + bi * strideA, transA ? 1 : lda, transA ? lda : 1};
      const Mat Bm{B + bi * strideB, transB ? 1 : ldb, transB ? ldb : 1};
      const int64_t m0 = cut(M, ks.mr, plan.pm, qm), m1 = cut(M, ks.mr, plan.pm, qm + 1);
      const int64_t n0 = cut(N, ks.nr, plan.pn, qn), n1 = cut(N, ks.nr, plan.pn, qn + 1);
      if (m0 >= m1 || n0 >= n1) continue;
      gemm_block(ks, blk, in_place, Am, Bm, C + bi * strideC, ldc, m0, m1, n0, n1, K, alpha, beta);
    }
  };
  const int64_t total = batch * per;
  if (!plan.parallel || total <= 1)
    run(0, total, 0);
  else
    parallel_for(total, 1, [&](int64_t b0, int64_t b1, int tid) { run(b0, b1, tid); });
}

}  // namespace

void gemm_cpu(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_impl(transA, transB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

void gemm_batched_cpu(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta, float* C,
                      int64_t ldc, int64_t strideC, int64_t batch) {
  gemm_impl(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

void gemm_set_tuning(const GemmTuning& t) {
  g_mc.store(t.mc);
  g_kc.store(t.kc);
  g_nc.store(t.nc);
  g_small.store(t.small_flops);
  g_serial.store(t.serial_flops);
  g_kernel.store(t.kernel);
  g_split.store(t.split);
}

GemmTuning gemm_get_tuning() {
  GemmTuning t;
  t.mc = g_mc.load();
  t.kc = g_kc.load();
  t.nc = g_nc.load();
  t.small_flops = g_small.load();
  t.serial_flops = g_serial.load();
  t.kernel = g_kernel.load();
  t.split = g_split.load();
  return t;
}

const char* gemm_kernel_name() { return current_set().name; }

std::string gemm_plan_describe(bool transA, bool transB, int64_t M, int64_t N, int64_t K, int64_t batch) {
  if (std::min(M, N) <= kSkinny) return std::string("skinny ") + simd_name(simd_level());
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int64_t small_v = g_small.load(std::memory_order_relaxed);
  const bool in_place = flops < static_cast<double>(small_v >= 0 ? small_v : kDefaultSmallFlops);
  const Plan p = plan_gemm(transA, transB, M, N, K, batch, in_place, num_threads());
  return std::string(p.ks->name) + (in_place && !transA ? " A in place" : "") + ", " + std::to_string(p.pm) + "x" +
         std::to_string(p.pn) + " blocks" + (p.parallel ? ", parallel" : ", serial");
}

// --- op adapter ---

Status op_gemm_cpu(const OpArgs& a) {
  GemmArgs p;
  MC_RETURN_IF_ERROR(gemm_check_args("gemm", a, &p));
  gemm_impl(p.transA, p.transB, p.M, p.N, p.K, p.alpha, a.t[0].f32(), p.transA ? p.M : p.K, p.strideA, a.t[1].f32(),
            p.transB ? p.K : p.N, p.strideB, p.beta, a.t[2].f32(), p.N, p.strideC, p.batch);
  return Status::Ok();
}

Status op_gemm_grouped_cpu(const OpArgs& a) {
  GemmGroupedArgs p;
  MC_RETURN_IF_ERROR(gemm_grouped_check_args("gemm_grouped", a, &p));
  // one product after the other, each across the pool (the CPU gains nothing from one launch)
  for (int g = 0; g < p.G; ++g) {
    const GemmGroup& q = p.g[g];
    if (q.M == 0 || q.N == 0) continue;
    gemm_impl(p.transA, p.transB, q.M, q.N, q.K, p.alpha, q.A, p.transA ? q.M : q.K, 0, q.B, p.transB ? q.K : q.N, 0,
              p.beta, q.C, q.N, 0, 1);
  }
  return Status::Ok();
}

}  // namespace mc
