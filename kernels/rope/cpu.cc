#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "rope.h"

namespace mc {
namespace {

constexpr int64_t kChunkElems = 1 << 14;

// Rotates the H heads of one token: c, s hold cos and (signed) sin for the hd/2 pairs.
void rot_scalar(float* y, const float* x, const float* c, const float* s, int64_t H, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t h = 0; h < H; ++h) {
    const float* xa = x + h * hd;
    float* ya = y + h * hd;
    for (int64_t i = 0; i < half; ++i) {
      float x1 = xa[i], x2 = xa[i + half];
      ya[i] = x1 * c[i] - x2 * s[i];
      ya[i + half] = x2 * c[i] + x1 * s[i];
    }
  }
}

#if MC_X86
MC_AVX512 void rot_avx512(float* y, const float* x, const float* c, const float* s, int64_t H, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t h = 0; h < H; ++h) {
    const float* xa = x + h * hd;
    float* ya = y + h * hd;
    for (int64_t i = 0; i < half; i += 16) {
      __mmask16 m = vm::tail16(std::min<int64_t>(16, half - i));
      __m512 x1 = _mm512_maskz_loadu_ps(m, xa + i), x2 = _mm512_maskz_loadu_ps(m, xa + half + i);
      __m512 cv = _mm512_maskz_loadu_ps(m, c + i), sv = _mm512_maskz_loadu_ps(m, s + i);
      _mm512_mask_storeu_ps(ya + i, m, _mm512_fmsub_ps(x1, cv, _mm512_mul_ps(x2, sv)));
      _mm512_mask_storeu_ps(ya + half + i, m, _mm512_fmadd_ps(x2, cv, _mm512_mul_ps(x1, sv)));
    }
  }
}

MC_AVX2 void rot_avx2(float* y, const float* x, const float* c, const float* s, int64_t H, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t h = 0; h < H; ++h) {
    const float* xa = x + h * hd;
    float* ya = y + h * hd;
    int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
      __m256 x1 = _mm256_loadu_ps(xa + i), x2 = _mm256_loadu_ps(xa + half + i);
      __m256 cv = _mm256_loadu_ps(c + i), sv = _mm256_loadu_ps(s + i);
      _mm256_storeu_ps(ya + i, _mm256_fmsub_ps(x1, cv, _mm256_mul_ps(x2, sv)));
      _mm256_storeu_ps(ya + half + i, _mm256_fmadd_ps(x2, cv, _mm256_mul_ps(x1, sv)));
    }
    for (; i < half; ++i) {
      float x1 = xa[i], x2 = xa[i + half];
      ya[i] = x1 * c[i] - x2 * s[i];
      ya[i + half] = x2 * c[i] + x1 * s[i];
    }
  }
}
#endif

using RotFn = void (*)(float*, const float*, const float*, const float*, int64_t, int64_t);

// cos/sin table of one position: c[i] = cos(pos * inv_freq[i]), s[i] = sign * sin(...), angles in double.
void table_scalar(float* c, float* s, double pos, const double* inv_freq, int64_t half, double sign) {
  for (int64_t i = 0; i < half; ++i) {
    const double ang = pos * inv_freq[i];
    c[i] = static_cast<float>(std::cos(ang));
    s[i] = static_cast<float>(sign * std::sin(ang));
  }
}

#if MC_X86
MC_AVX512 void table_avx512(float* c, float* s, double pos, const double* inv_freq, int64_t half, double sign) {
  const __m512d vp = _mm512_set1_pd(pos), vs = _mm512_set1_pd(sign);
  for (int64_t i = 0; i < half; i += 8) {
    const __mmask8 m = static_cast<__mmask8>((1u << std::min<int64_t>(8, half - i)) - 1u);
    __m512d sv, cv;
    vm::sincos512d(_mm512_mul_pd(vp, _mm512_maskz_loadu_pd(m, inv_freq + i)), &sv, &cv);
    _mm256_mask_storeu_ps(c + i, m, _mm512_cvtpd_ps(cv));
    _mm256_mask_storeu_ps(s + i, m, _mm512_cvtpd_ps(_mm512_mul_pd(sv, vs)));
  }
}
MC_AVX2 void table_avx2(float* c, float* s, double pos, const double* inv_freq, int64_t half, double sign) {
  const __m256d vp = _mm256_set1_pd(pos), vs = _mm256_set1_pd(sign);
  int64_t i = 0;
  for (; i + 4 <= half; i += 4) {
    __m256d sv, cv;
    vm::sincos256d(_mm256_mul_pd(vp, _mm256_loadu_pd(inv_freq + i)), &sv, &cv);
    _mm_storeu_ps(c + i, _mm256_cvtpd_ps(cv));
    _mm_storeu_ps(s + i, _mm256_cvtpd_ps(_mm256_mul_pd(sv, vs)));
  }
  table_scalar(c + i, s + i, pos, inv_freq + i, half - i, sign);
}
#endif

using TableFn = void (*)(float*, float*, double, const double*, int64_t, double);

TableFn pick_table() {
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: return table_avx512;
    case Simd::Avx2: return table_avx2;
    default: break;
  }
#endif
  return table_scalar;
}

RotFn pick() {
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: return rot_avx512;
    case Simd::Avx2: return rot_avx2;
    default: break;
  }
#endif
  return rot_scalar;
}

}  // namespace

void rope_cpu(float* y, const float* x, const int32_t* pos, int64_t N, int64_t H, int64_t hd, double theta,
              bool inverse) {
  if (N <= 0 || H <= 0 || hd <= 0) return;
  const int64_t half = hd / 2;
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
  // one cos/sin table per thread, allocated once per call
  std::vector<float> tables(static_cast<size_t>(max_threads()) * static_cast<size_t>(hd));
  RotFn fn = pick();
  TableFn table = pick_table();
  const double sign = inverse ? -1.0 : 1.0;
  const int64_t row = H * hd;
  parallel_for(N, std::max<int64_t>(1, kChunkElems / row), [&](int64_t b, int64_t e, int tid) {
    float* c = tables.data() + static_cast<int64_t>(tid) * hd;
    float* s = c + half;
    bool have = false;
    int32_t last = 0;
    for (int64_t n = b; n < e; ++n) {
      if (!have || pos[n] != last) {
        last = pos[n];
        have = true;
        table(c, s, static_cast<double>(last), inv_freq.data(), half, sign);
      }
      fn(y + n * row, x + n * row, c, s, H, hd);
    }
  });
}

// ---------------- op adapters ----------------

Status rope_check_args(const char* op, const char* xn, const char* yn, const OpArgs& a, RopeArgs* p) {
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 0, 1));
  const TensorView &x = a.t[0], &pos = a.t[1], &y = a.t[2];
  MC_RETURN_IF_ERROR(check_dtype(op, xn, x, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "pos", pos, DType::I32));
  MC_RETURN_IF_ERROR(check_dtype(op, yn, y, DType::F32));
  MC_RETURN_IF_ERROR(check_arg(op, xn, x.ndim == 3 && x.dim(2) > 0 && x.dim(2) % 2 == 0,
                               "shape [N, H, head_dim] with an even head_dim", "shape " + x.shape_str()));
  p->N = x.dim(0);
  p->H = x.dim(1);
  p->hd = x.dim(2);
  MC_RETURN_IF_ERROR(check_numel(op, "pos", pos, p->N));
  MC_RETURN_IF_ERROR(check_numel(op, yn, y, x.numel()));
  if (y.data != x.data) {
    const char* xb = static_cast<const char*>(x.data);
    const char* yb = static_cast<const char*>(y.data);
    const int64_t bytes = x.numel() * 4;
    MC_RETURN_IF_ERROR(check_arg(op, yn, yb + bytes <= xb || xb + bytes <= yb,
                                 "the same buffer as " + std::string(xn) + " or a disjoint one",
                                 "a partially overlapping buffer"));
  }
  p->theta = a.f[0];
  return check_arg(op, "theta", std::isfinite(p->theta) && p->theta > 0.0, "a finite theta > 0",
                   std::to_string(p->theta));
}

namespace {
Status rope_op(const char* op, const char* xn, const char* yn, const OpArgs& a, bool inverse) {
  RopeArgs p;
  MC_RETURN_IF_ERROR(rope_check_args(op, xn, yn, a, &p));
  rope_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].i32(), p.N, p.H, p.hd, p.theta, inverse);
  return Status::Ok();
}
}  // namespace

Status op_rope_forward_cpu(const OpArgs& a) { return rope_op("rope_forward", "x", "y", a, false); }
Status op_rope_backward_cpu(const OpArgs& a) { return rope_op("rope_backward", "dy", "dx", a, true); }

}  // namespace mc
