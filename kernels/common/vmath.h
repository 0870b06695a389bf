// Small SIMD helpers shared by the CPU kernels: target attributes, horizontal reductions and a
// vector exp (Cephes expf polynomial, ~1-2 ulp over the float range; the 2^n scale is applied as two
// factors so results overflow to +Inf above ~88.72 and underflow gradually to 0 below ~-87.3, like
// expf; NaN propagates). Everything here is `static inline` with a target attribute, so it inlines
// only into functions compiled for the same (or a wider) target — call it from MC_AVX512 / MC_AVX2
// functions, never from plain ones.
#pragma once
#include <cstdint>
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the AVX-512 intrinsics' own `_mm512_undefined_*` self-initialisation as uninitialised
// when they are inlined into target-attribute functions (a known false positive, gone in GCC 13). Must come
// before <immintrin.h>: the warnings are located in its headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define MC_X86 1
#define MC_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define MC_AVX2 __attribute__((target("avx2,fma")))
#else
#define MC_X86 0
#endif

namespace mc {
namespace vm {

#if MC_X86

// ---------------- AVX-512 ----------------
static inline MC_AVX512 float hsum512(__m512 v) { return _mm512_reduce_add_ps(v); }
static inline MC_AVX512 float hmax512(__m512 v) { return _mm512_reduce_max_ps(v); }
// lanes [0, n) set, n in [0, 16]
static inline MC_AVX512 __mmask16 tail16(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

static inline MC_AVX512 __m512 exp512(__m512 x) {
  // clamp with the constant first so a NaN in x survives (max/min return the second operand on NaN)
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // 2^n as 2^n1 * 2^n2 (n1 = n>>1, n2 = n-n1): both stay normal for n in [-150, 129]
  __m512i ni = _mm512_cvtps_epi32(n);
  __m512i n1 = _mm512_srai_epi32(ni, 1);
  __m512i n2 = _mm512_sub_epi32(ni, n1);
  __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, _mm512_set1_epi32(127)), 23));
  __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, _mm512_set1_epi32(127)), 23));
  return _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
}

// sin and cos of doubles, to ~1 ulp for |x| < 2^40: x = k*pi/2 + r with a three-part FMA
// Cody-Waite reduction (exact enough at any k below 2^40), then fdlibm's sin/cos polynomials on
// |r| <= pi/4 and the quadrant k mod 4 (read from the low bits of k + 1.5*2^52).
#define MC_SINCOS_CONSTS                                                             \
  const double kTwoOverPi = 0.636619772367581343076, kPio2a = 1.57079632679489655800, \
               kPio2b = 6.12323399573676603587e-17, kPio2c = -1.49738490485916983e-33,   \
               kMagic = 6755399441055744.0;                                            \
  const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,      \
               S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,      \
               S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;      \
  const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,      \
               C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,      \
               C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;

static inline MC_AVX512 void sincos512d(__m512d x, __m512d* s_out, __m512d* c_out) {
  MC_SINCOS_CONSTS
  __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(kTwoOverPi)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kPio2a), x);
  r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kPio2b), r);
  r = _mm512_fnmadd_pd(k, _mm512_set1_pd(kPio2c), r);
  __m512i q = _mm512_castpd_si512(_mm512_add_pd(k, _mm512_set1_pd(kMagic)));
  __m512d z = _mm512_mul_pd(r, r);
  __m512d ps = _mm512_set1_pd(S6);
  ps = _mm512_fmadd_pd(ps, z, _mm512_set1_pd(S5));
  ps = _mm512_fmadd_pd(ps, z, _mm512_set1_pd(S4));
  ps = _mm512_fmadd_pd(ps, z, _mm512_set1_pd(S3));
  ps = _mm512_fmadd_pd(ps, z, _mm512_set1_pd(S2));
  ps = _mm512_fmadd_pd(ps, z, _mm512_set1_pd(S1));
  __m512d sr = _mm512_fmadd_pd(_mm512_mul_pd(ps, z), r, r);
  __m512d pc = _mm512_set1_pd(C6);
  pc = _mm512_fmadd_pd(pc, z, _mm512_set1_pd(C5));
  pc = _mm512_fmadd_pd(pc, z, _mm512_set1_pd(C4));
  pc = _mm512_fmadd_pd(pc, z, _mm512_set1_pd(C3));
  pc = _mm512_fmadd_pd(pc, z, _mm512_set1_pd(C2));
  pc = _mm512_fmadd_pd(pc, z, _mm512_set1_pd(C1));
  __m512d cr = _mm512_fmadd_pd(_mm512_mul_pd(pc, z), z, _mm512_fnmadd_pd(_mm512_set1_pd(0.5), z, _mm512_set1_pd(1.0)));
  __mmask8 odd = _mm512_test_epi64_mask(q, _mm512_set1_epi64(1));
  __m512d sv = _mm512_mask_blend_pd(odd, sr, cr);
  __m512d cv = _mm512_mask_blend_pd(odd, cr, sr);
  // sign of sin: bit 1 of q; sign of cos: bit 1 of q+1 (moved to the sign bit)
  __m512i ssign = _mm512_slli_epi64(_mm512_and_si512(q, _mm512_set1_epi64(2)), 62);
  __m512i csign = _mm512_slli_epi64(_mm512_and_si512(_mm512_add_epi64(q, _mm512_set1_epi64(1)), _mm512_set1_epi64(2)), 62);
  *s_out = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(sv), ssign));
  *c_out = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(cv), csign));
}

// ---------------- AVX2 ----------------
static inline MC_AVX2 float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline MC_AVX2 float hmax256(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline MC_AVX2 double hsum256d(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

static inline MC_AVX2 __m256 exp256(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as 2^n1 * 2^n2 (n1 = n>>1, n2 = n-n1): both stay normal for n in [-150, 129]
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline MC_AVX2 void sincos256d(__m256d x, __m256d* s_out, __m256d* c_out) {
  MC_SINCOS_CONSTS
  __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(kTwoOverPi)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(kPio2a), x);
  r = _mm256_fnmadd_pd(k, _mm256_set1_pd(kPio2b), r);
  r = _mm256_fnmadd_pd(k, _mm256_set1_pd(kPio2c), r);
  __m256i q = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(kMagic)));
  __m256d z = _mm256_mul_pd(r, r);
  __m256d ps = _mm256_set1_pd(S6);
  ps = _mm256_fmadd_pd(ps, z, _mm256_set1_pd(S5));
  ps = _mm256_fmadd_pd(ps, z, _mm256_set1_pd(S4));
  ps = _mm256_fmadd_pd(ps, z, _mm256_set1_pd(S3));
  ps = _mm256_fmadd_pd(ps, z, _mm256_set1_pd(S2));
  ps = _mm256_fmadd_pd(ps, z, _mm256_set1_pd(S1));
  __m256d sr = _mm256_fmadd_pd(_mm256_mul_pd(ps, z), r, r);
  __m256d pc = _mm256_set1_pd(C6);
  pc = _mm256_fmadd_pd(pc, z, _mm256_set1_pd(C5));
  pc = _mm256_fmadd_pd(pc, z, _mm256_set1_pd(C4));
  pc = _mm256_fmadd_pd(pc, z, _mm256_set1_pd(C3));
  pc = _mm256_fmadd_pd(pc, z, _mm256_set1_pd(C2));
  pc = _mm256_fmadd_pd(pc, z, _mm256_set1_pd(C1));
  __m256d cr = _mm256_fmadd_pd(_mm256_mul_pd(pc, z), z, _mm256_fnmadd_pd(_mm256_set1_pd(0.5), z, _mm256_set1_pd(1.0)));
  __m256d odd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(q, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(1)));
  __m256d sv = _mm256_blendv_pd(sr, cr, odd);
  __m256d cv = _mm256_blendv_pd(cr, sr, odd);
  __m256i ssign = _mm256_slli_epi64(_mm256_and_si256(q, _mm256_set1_epi64x(2)), 62);
  __m256i csign = _mm256_slli_epi64(_mm256_and_si256(_mm256_add_epi64(q, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(2)), 62);
  *s_out = _mm256_castsi256_pd(_mm256_xor_si256(_mm256_castpd_si256(sv), ssign));
  *c_out = _mm256_castsi256_pd(_mm256_xor_si256(_mm256_castpd_si256(cv), csign));
}

#endif  // MC_X86

}  // namespace vm
}  // namespace mc
