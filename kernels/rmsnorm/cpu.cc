#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "rmsnorm.h"

namespace mc {
namespace {

constexpr int64_t kMaxBlocks = 64;       // dw partial rows (fixed by R only: deterministic)
constexpr int64_t kChunkElems = 1 << 14;  // rows per forward chunk ~ 16k elements

inline float rstd_of(double ss, int64_t D, float eps) {
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + static_cast<double>(eps)));
}

// ---------------- scalar ----------------
void fwd_rows_scalar(float* y, float* rstd, const float* x, const float* w, int64_t r0, int64_t r1, int64_t D,
                     float eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    double ss = 0.0;
    for (int64_t i = 0; i < D; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    float rs = rstd_of(ss, D, eps);
    rstd[r] = rs;
    for (int64_t i = 0; i < D; ++i) yr[i] = xr[i] * rs * w[i];
  }
}

void bwd_rows_scalar(float* dx, float* dwp, const float* x, const float* w, const float* rstd, const float* dy,
                     int64_t r0, int64_t r1, int64_t D) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    const float* dyr = dy + r * D;
    float* dxr = dx + r * D;
    float rs = rstd[r];
    double dot = 0.0;
    for (int64_t i = 0; i < D; ++i) dot += static_cast<double>(dyr[i]) * w[i] * xr[i];
    float c = static_cast<float>(dot * rs * rs / static_cast<double>(D));  // mean(g*xhat) * rstd
    for (int64_t i = 0; i < D; ++i) {
      dxr[i] = rs * (dyr[i] * w[i] - xr[i] * c);
      dwp[i] += dyr[i] * (xr[i] * rs);
    }
  }
}

#if MC_X86
// ---------------- AVX-512 ----------------
MC_AVX512 void fwd_rows_avx512(float* y, float* rstd, const float* x, const float* w, int64_t r0, int64_t r1,
                               int64_t D, float eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= D; i += 64) {
      __m512 v0 = _mm512_loadu_ps(xr + i), v1 = _mm512_loadu_ps(xr + i + 16);
      __m512 v2 = _mm512_loadu_ps(xr + i + 32), v3 = _mm512_loadu_ps(xr + i + 48);
      a0 = _mm512_fmadd_ps(v0, v0, a0);
      a1 = _mm512_fmadd_ps(v1, v1, a1);
      a2 = _mm512_fmadd_ps(v2, v2, a2);
      a3 = _mm512_fmadd_ps(v3, v3, a3);
    }
    for (; i < D; i += 16) {
      __m512 v = _mm512_maskz_loadu_ps(vm::tail16(std::min<int64_t>(16, D - i)), xr + i);
      a0 = _mm512_fmadd_ps(v, v, a0);
    }
    float ss = vm::hsum512(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    float rs = rstd_of(ss, D, eps);
    rstd[r] = rs;
    __m512 vr = _mm512_set1_ps(rs);
    for (i = 0; i < D; i += 16) {
      __mmask16 m = vm::tail16(std::min<int64_t>(16, D - i));
      __m512 v = _mm512_maskz_loadu_ps(m, xr + i);
      __m512 wv = _mm512_maskz_loadu_ps(m, w + i);
      _mm512_mask_storeu_ps(yr + i, m, _mm512_mul_ps(_mm512_mul_ps(v, vr), wv));
    }
  }
}

MC_AVX512 void bwd_rows_avx512(float* dx, float* dwp, const float* x, const float* w, const float* rstd,
                               const float* dy, int64_t r0, int64_t r1, int64_t D) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    const float* dyr = dy + r * D;
    float* dxr = dx + r * D;
    float rs = rstd[r];
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= D; i += 32) {
      a0 = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(dyr + i), _mm512_loadu_ps(w + i)), _mm512_loadu_ps(xr + i),
                           a0);
      a1 = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(dyr + i + 16), _mm512_loadu_ps(w + i + 16)),
                           _mm512_loadu_ps(xr + i + 16), a1);
    }
    for (; i < D; i += 16) {
      __mmask16 m = vm::tail16(std::min<int64_t>(16, D - i));
      a0 = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, dyr + i), _mm512_maskz_loadu_ps(m, w + i)),
                           _mm512_maskz_loadu_ps(m, xr + i), a0);
    }
    float dot = vm::hsum512(_mm512_add_ps(a0, a1));
    __m512 vc = _mm512_set1_ps(static_cast<float>(static_cast<double>(dot) * rs * rs / static_cast<double>(D)));
    __m512 vr = _mm512_set1_ps(rs);
    for (i = 0; i < D; i += 16) {
      __mmask16 m = vm::tail16(std::min<int64_t>(16, D - i));
      __m512 xv = _mm512_maskz_loadu_ps(m, xr + i);
      __m512 dyv = _mm512_maskz_loadu_ps(m, dyr + i);
      __m512 g = _mm512_mul_ps(dyv, _mm512_maskz_loadu_ps(m, w + i));
      _mm512_mask_storeu_ps(dxr + i, m, _mm512_mul_ps(vr, _mm512_fnmadd_ps(xv, vc, g)));
      __m512 dwv = _mm512_maskz_loadu_ps(m, dwp + i);
      _mm512_mask_storeu_ps(dwp + i, m, _mm512_fmadd_ps(dyv, _mm512_mul_ps(xv, vr), dwv));
    }
  }
}

// ---------------- AVX2 ----------------
MC_AVX2 void fwd_rows_avx2(float* y, float* rstd, const float* x, const float* w, int64_t r0, int64_t r1, int64_t D,
                           float eps) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= D; i += 32) {
      __m256 v0 = _mm256_loadu_ps(xr + i), v1 = _mm256_loadu_ps(xr + i + 8);
      __m256 v2 = _mm256_loadu_ps(xr + i + 16), v3 = _mm256_loadu_ps(xr + i + 24);
      a0 = _mm256_fmadd_ps(v0, v0, a0);
      a1 = _mm256_fmadd_ps(v1, v1, a1);
      a2 = _mm256_fmadd_ps(v2, v2, a2);
      a3 = _mm256_fmadd_ps(v3, v3, a3);
    }
    for (; i + 8 <= D; i += 8) {
      __m256 v = _mm256_loadu_ps(xr + i);
      a0 = _mm256_fmadd_ps(v, v, a0);
    }
    double ss = vm::hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < D; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    float rs = rstd_of(ss, D, eps);
    rstd[r] = rs;
    __m256 vr = _mm256_set1_ps(rs);
    for (i = 0; i + 8 <= D; i += 8)
      _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vr), _mm256_loadu_ps(w + i)));
    for (; i < D; ++i) yr[i] = xr[i] * rs * w[i];
  }
}

MC_AVX2 void bwd_rows_avx2(float* dx, float* dwp, const float* x, const float* w, const float* rstd, const float* dy,
                           int64_t r0, int64_t r1, int64_t D) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    const float* dyr = dy + r * D;
    float* dxr = dx + r * D;
    float rs = rstd[r];
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= D; i += 16) {
      a0 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + i), _mm256_loadu_ps(w + i)), _mm256_loadu_ps(xr + i),
                           a0);
      a1 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + i + 8), _mm256_loadu_ps(w + i + 8)),
                           _mm256_loadu_ps(xr + i + 8), a1);
    }
    for (; i + 8 <= D; i += 8)
      a0 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + i), _mm256_loadu_ps(w + i)), _mm256_loadu_ps(xr + i),
                           a0);
    double dot = vm::hsum256(_mm256_add_ps(a0, a1));
    for (; i < D; ++i) dot += static_cast<double>(dyr[i]) * w[i] * xr[i];
    float c = static_cast<float>(dot * rs * rs / static_cast<double>(D));
    __m256 vc = _mm256_set1_ps(c), vr = _mm256_set1_ps(rs);
    for (i = 0; i + 8 <= D; i += 8) {
      __m256 xv = _mm256_loadu_ps(xr + i);
      __m256 dyv = _mm256_loadu_ps(dyr + i);
      __m256 g = _mm256_mul_ps(dyv, _mm256_loadu_ps(w + i));
      _mm256_storeu_ps(dxr + i, _mm256_mul_ps(vr, _mm256_fnmadd_ps(xv, vc, g)));
      _mm256_storeu_ps(dwp + i, _mm256_fmadd_ps(dyv, _mm256_mul_ps(xv, vr), _mm256_loadu_ps(dwp + i)));
    }
    for (; i < D; ++i) {
      dxr[i] = rs * (dyr[i] * w[i] - xr[i] * c);
      dwp[i] += dyr[i] * (xr[i] * rs);
    }
  }
}
#endif

using FwdFn = void (*)(float*, float*, const float*, const float*, int64_t, int64_t, int64_t, float);
using BwdFn = void (*)(float*, float*, const float*, const float*, const float*, const float*, int64_t, int64_t,
                       int64_t);

FwdFn pick_fwd() {
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: return fwd_rows_avx512;
    case Simd::Avx2: return fwd_rows_avx2;
    default: break;
  }
#endif
  return fwd_rows_scalar;
}
BwdFn pick_bwd() {
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: return bwd_rows_avx512;
    case Simd::Avx2: return bwd_rows_avx2;
    default: break;
  }
#endif
  return bwd_rows_scalar;
}

}  // namespace

void rmsnorm_forward_cpu(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t D, float eps) {
  FwdFn fn = pick_fwd();
  parallel_for(R, std::max<int64_t>(1, kChunkElems / std::max<int64_t>(D, 1)),
               [&](int64_t b, int64_t e, int) { fn(y, rstd, x, w, b, e, D, eps); });
}

void rmsnorm_backward_cpu(float* dx, float* dw, const float* x, const float* w, const float* rstd, const float* dy,
                          int64_t R, int64_t D, bool accumulate_dw) {
  if (D <= 0) return;
  if (R <= 0) {
    if (!accumulate_dw) std::fill(dw, dw + D, 0.0f);
    return;
  }
  BwdFn fn = pick_bwd();
  const int64_t nb = std::min(R, kMaxBlocks);
  // per-call scratch, grown per calling thread and reused across calls
  thread_local std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < nb * D) scratch.resize(static_cast<size_t>(nb * D));
  float* part = scratch.data();
  parallel_for(nb, 1, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      int64_t r0 = R * b / nb, r1 = R * (b + 1) / nb;
      float* pb = part + b * D;
      std::fill(pb, pb + D, 0.0f);
      fn(dx, pb, x, w, rstd, dy, r0, r1, D);
    }
  });
  // fixed-order reduction of the block partials, parallel over columns
  parallel_for(D, 256, [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c) {
      float s = accumulate_dw ? dw[c] : 0.0f;
      float t = 0.0f;
      for (int64_t b = 0; b < nb; ++b) t += part[b * D + c];
      dw[c] = s + t;
    }
  });
}

// ---------------- op adapters ----------------

namespace {
Status check_rows(const char* op, const TensorView& x, int64_t D) {
  return check_arg(op, "x", D > 0 && x.numel() % D == 0 && x.ndim >= 1 && x.dim(-1) == D,
                   "last dimension " + std::to_string(D) + " (numel of w)", "shape " + x.shape_str());
}
}  // namespace

Status rmsnorm_check_args(const OpArgs& a, bool backward, RmsArgs* p) {
  const char* op = backward ? "rmsnorm_backward" : "rmsnorm_forward";
  MC_RETURN_IF_ERROR(backward ? check_count(op, a, 6, 1, 0) : check_count(op, a, 4, 0, 1));
  static const char* const fwd_names[4] = {"x", "w", "y", "rstd"};
  static const char* const bwd_names[6] = {"x", "w", "rstd", "dy", "dx", "dw"};
  const char* const* names = backward ? bwd_names : fwd_names;
  for (int i = 0; i < a.nt; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], DType::F32));
  const TensorView &x = a.t[0], &w = a.t[1];
  const int64_t D = w.numel();
  MC_RETURN_IF_ERROR(check_arg(op, "w", D > 0, "at least 1 element", "shape " + w.shape_str()));
  MC_RETURN_IF_ERROR(check_rows(op, x, D));
  const int64_t R = x.numel() / D;
  p->R = R;
  p->D = D;
  if (!backward) {
    MC_RETURN_IF_ERROR(check_numel(op, "y", a.t[2], x.numel()));
    MC_RETURN_IF_ERROR(check_numel(op, "rstd", a.t[3], R));
    const double eps = a.f[0];
    MC_RETURN_IF_ERROR(check_arg(op, "eps", std::isfinite(eps) && eps >= 0.0, "a finite eps >= 0", std::to_string(eps)));
    p->eps = static_cast<float>(eps);
    return Status::Ok();
  }
  MC_RETURN_IF_ERROR(check_numel(op, "rstd", a.t[2], R));
  MC_RETURN_IF_ERROR(check_numel(op, "dy", a.t[3], x.numel()));
  MC_RETURN_IF_ERROR(check_numel(op, "dx", a.t[4], x.numel()));
  MC_RETURN_IF_ERROR(check_numel(op, "dw", a.t[5], D));
  p->acc = a.i[0] != 0;
  return Status::Ok();
}

Status op_rmsnorm_forward_cpu(const OpArgs& a) {
  RmsArgs p;
  MC_RETURN_IF_ERROR(rmsnorm_check_args(a, false, &p));
  rmsnorm_forward_cpu(a.t[2].f32(), a.t[3].f32(), a.t[0].f32(), a.t[1].f32(), p.R, p.D, p.eps);
  return Status::Ok();
}

Status op_rmsnorm_backward_cpu(const OpArgs& a) {
  RmsArgs p;
  MC_RETURN_IF_ERROR(rmsnorm_check_args(a, true, &p));
  rmsnorm_backward_cpu(a.t[4].f32(), a.t[5].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), a.t[3].f32(), p.R, p.D,
                       p.acc);
  return Status::Ok();
}

}  // namespace mc
