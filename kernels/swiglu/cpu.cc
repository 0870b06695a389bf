#include <algorithm>
#include <cmath>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "swiglu.h"

namespace mc {
namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per chunk (multiple of 16)

void fwd_scalar(float* h, const float* g, const float* u, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) h[i] = (g[i] / (1.0f + std::exp(-g[i]))) * u[i];
}
void bwd_scalar(float* dg, float* du, const float* g, const float* u, const float* dh, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    float gi = g[i], ui = u[i], d = dh[i];
    float s = 1.0f / (1.0f + std::exp(-gi));
    float ds = d * s;  // (dh*s)*g, not (dh*g)*s: no overflow to Inf*0 for huge negative g
    dg[i] = ds * ui * (1.0f + gi * (1.0f - s));
    du[i] = ds * gi;
  }
}

#if MC_X86
MC_AVX512 void fwd_avx512(float* h, const float* g, const float* u, int64_t b, int64_t e) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = b; i < e; i += 16) {
    __mmask16 m = vm::tail16(std::min<int64_t>(16, e - i));
    __m512 gv = _mm512_maskz_loadu_ps(m, g + i), uv = _mm512_maskz_loadu_ps(m, u + i);
    __m512 den = _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv)));
    _mm512_mask_storeu_ps(h + i, m, _mm512_mul_ps(_mm512_div_ps(gv, den), uv));  // silu first: no g*u overflow
  }
}
MC_AVX512 void bwd_avx512(float* dg, float* du, const float* g, const float* u, const float* dh, int64_t b,
                          int64_t e) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = b; i < e; i += 16) {
    __mmask16 m = vm::tail16(std::min<int64_t>(16, e - i));
    __m512 gv = _mm512_maskz_loadu_ps(m, g + i), uv = _mm512_maskz_loadu_ps(m, u + i);
    __m512 d = _mm512_maskz_loadu_ps(m, dh + i);
    __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, vm::exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
    __m512 ds = _mm512_mul_ps(d, s);
    // 1 + g*(1-s)
    __m512 k = _mm512_fmadd_ps(gv, _mm512_sub_ps(one, s), one);
    _mm512_mask_storeu_ps(dg + i, m, _mm512_mul_ps(_mm512_mul_ps(ds, uv), k));
    _mm512_mask_storeu_ps(du + i, m, _mm512_mul_ps(ds, gv));
  }
}

MC_AVX2 void fwd_avx2(float* h, const float* g, const float* u, int64_t b, int64_t e) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 gv = _mm256_loadu_ps(g + i), uv = _mm256_loadu_ps(u + i);
    __m256 den = _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv)));
    _mm256_storeu_ps(h + i, _mm256_mul_ps(_mm256_div_ps(gv, den), uv));
  }
  fwd_scalar(h, g, u, i, e);
}
MC_AVX2 void bwd_avx2(float* dg, float* du, const float* g, const float* u, const float* dh, int64_t b, int64_t e) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    __m256 gv = _mm256_loadu_ps(g + i), uv = _mm256_loadu_ps(u + i), d = _mm256_loadu_ps(dh + i);
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, vm::exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
    __m256 ds = _mm256_mul_ps(d, s);
    __m256 k = _mm256_fmadd_ps(gv, _mm256_sub_ps(one, s), one);
    _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(ds, uv), k));
    _mm256_storeu_ps(du + i, _mm256_mul_ps(ds, gv));
  }
  bwd_scalar(dg, du, g, u, dh, i, e);
}
#endif

}  // namespace

void swiglu_forward_cpu(float* h, const float* gate, const float* up, int64_t n) {
  auto fn = fwd_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) fn = fwd_avx512;
  else if (s == Simd::Avx2) fn = fwd_avx2;
#endif
  parallel_for(n, kGrain, [&](int64_t b, int64_t e, int) { fn(h, gate, up, b, e); });
}

void swiglu_backward_cpu(float* dgate, float* dup, const float* gate, const float* up, const float* dh, int64_t n) {
  auto fn = bwd_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) fn = bwd_avx512;
  else if (s == Simd::Avx2) fn = bwd_avx2;
#endif
  parallel_for(n, kGrain, [&](int64_t b, int64_t e, int) { fn(dgate, dup, gate, up, dh, b, e); });
}

// ---------------- op adapters ----------------

Status swiglu_check_args(const OpArgs& a, bool backward, int64_t* n) {
  const char* op = backward ? "swiglu_backward" : "swiglu_forward";
  static const char* const fwd_names[3] = {"gate", "up", "h"};
  static const char* const bwd_names[5] = {"gate", "up", "dh", "dgate", "dup"};
  const char* const* names = backward ? bwd_names : fwd_names;
  const int nt = backward ? 5 : 3;
  MC_RETURN_IF_ERROR(check_count(op, a, nt, 0, 0));
  for (int i = 0; i < nt; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], DType::F32));
  *n = a.t[0].numel();
  for (int i = 1; i < nt; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], *n));
  return Status::Ok();
}

Status op_swiglu_forward_cpu(const OpArgs& a) {
  int64_t n = 0;
  MC_RETURN_IF_ERROR(swiglu_check_args(a, false, &n));
  swiglu_forward_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n);
  return Status::Ok();
}

Status op_swiglu_backward_cpu(const OpArgs& a) {
  int64_t n = 0;
  MC_RETURN_IF_ERROR(swiglu_check_args(a, true, &n));
  swiglu_backward_cpu(a.t[3].f32(), a.t[4].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), n);
  return Status::Ok();
}

}  // namespace mc
