#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "loss.h"

namespace mc {
namespace {

// ============ cross-entropy row kernels ============
// max of the row; *finite = false when any element is NaN or +-inf
float ce_max_scalar(const float* x, int64_t V, bool* finite) {
  float m = -std::numeric_limits<float>::infinity();
  float bad = 0.0f;  // x*0 is NaN exactly when x is not finite
  for (int64_t i = 0; i < V; ++i) {
    m = std::max(m, x[i]);
    bad += x[i] * 0.0f;
  }
  *finite = (bad == 0.0f);
  return m;
}
// e = exp(x - m); returns sum(e)
double ce_expsum_scalar(float* e, const float* x, int64_t V, float m) {
  double s = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    e[i] = std::exp(x[i] - m);
    s += e[i];
  }
  return s;
}
void ce_scale_scalar(float* e, int64_t V, float k) {
  for (int64_t i = 0; i < V; ++i) e[i] *= k;
}

#if MC_X86
MC_AVX512 float ce_max_avx512(const float* x, int64_t V, bool* finite) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m0 = ninf, m1 = ninf, b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
  const __m512 z = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= V; i += 32) {
    __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    m0 = _mm512_max_ps(m0, v0);
    m1 = _mm512_max_ps(m1, v1);
    b0 = _mm512_fmadd_ps(v0, z, b0);
    b1 = _mm512_fmadd_ps(v1, z, b1);
  }
  for (; i < V; i += 16) {
    __mmask16 k = vm::tail16(std::min<int64_t>(16, V - i));
    __m512 v = _mm512_mask_loadu_ps(ninf, k, x + i);
    m0 = _mm512_max_ps(m0, v);
    b0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), z, b0);
  }
  *finite = vm::hsum512(_mm512_add_ps(b0, b1)) == 0.0f;
  return vm::hmax512(_mm512_max_ps(m0, m1));
}
MC_AVX512 double ce_expsum_avx512(float* e, const float* x, int64_t V, float m) {
  const __m512 vm_ = _mm512_set1_ps(m);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= V; i += 32) {
    __m512 e0 = vm::exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm_));
    __m512 e1 = vm::exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm_));
    _mm512_storeu_ps(e + i, e0);
    _mm512_storeu_ps(e + i + 16, e1);
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  for (; i < V; i += 16) {
    __mmask16 k = vm::tail16(std::min<int64_t>(16, V - i));
    __m512 ev = _mm512_maskz_mov_ps(k, vm::exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm_)));
    _mm512_mask_storeu_ps(e + i, k, ev);
    s0 = _mm512_add_ps(s0, ev);
  }
  return vm::hsum512(_mm512_add_ps(s0, s1));
}
MC_AVX512 void ce_scale_avx512(float* e, int64_t V, float k) {
  const __m512 kv = _mm512_set1_ps(k);
  for (int64_t i = 0; i < V; i += 16) {
    __mmask16 m = vm::tail16(std::min<int64_t>(16, V - i));
    _mm512_mask_storeu_ps(e + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, e + i), kv));
  }
}

MC_AVX2 float ce_max_avx2(const float* x, int64_t V, bool* finite) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m0 = ninf, m1 = ninf, b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
  const __m256 z = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= V; i += 16) {
    __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    m0 = _mm256_max_ps(m0, v0);
    m1 = _mm256_max_ps(m1, v1);
    b0 = _mm256_fmadd_ps(v0, z, b0);
    b1 = _mm256_fmadd_ps(v1, z, b1);
  }
  float m = vm::hmax256(_mm256_max_ps(m0, m1));
  float bad = vm::hsum256(_mm256_add_ps(b0, b1));
  for (; i < V; ++i) {
    m = std::max(m, x[i]);
    bad += x[i] * 0.0f;
  }
  *finite = (bad == 0.0f);
  return m;
}
MC_AVX2 double ce_expsum_avx2(float* e, const float* x, int64_t V, float m) {
  const __m256 vm_ = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= V; i += 16) {
    __m256 e0 = vm::exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm_));
    __m256 e1 = vm::exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm_));
    _mm256_storeu_ps(e + i, e0);
    _mm256_storeu_ps(e + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  double s = vm::hsum256(_mm256_add_ps(s0, s1));
  for (; i < V; ++i) {
    e[i] = std::exp(x[i] - m);
    s += e[i];
  }
  return s;
}
MC_AVX2 void ce_scale_avx2(float* e, int64_t V, float k) {
  const __m256 kv = _mm256_set1_ps(k);
  int64_t i = 0;
  for (; i + 8 <= V; i += 8) _mm256_storeu_ps(e + i, _mm256_mul_ps(_mm256_loadu_ps(e + i), kv));
  for (; i < V; ++i) e[i] *= k;
}
#endif

// ============ MSE row kernels ============
double sqdiff_scalar(const float* p, const float* t, int64_t C) {
  double s = 0.0;
  for (int64_t i = 0; i < C; ++i) {
    double d = static_cast<double>(p[i]) - t[i];
    s += d * d;
  }
  return s;
}
void scaled_diff_scalar(float* d, const float* p, const float* t, int64_t C, float k) {
  for (int64_t i = 0; i < C; ++i) d[i] = k * (p[i] - t[i]);
}
#if MC_X86
MC_AVX512 double sqdiff_avx512(const float* p, const float* t, int64_t C) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= C; i += 32) {
    __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_loadu_ps(t + i));
    __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(p + i + 16), _mm512_loadu_ps(t + i + 16));
    a0 = _mm512_fmadd_ps(d0, d0, a0);
    a1 = _mm512_fmadd_ps(d1, d1, a1);
  }
  for (; i < C; i += 16) {
    __mmask16 m = vm::tail16(std::min<int64_t>(16, C - i));
    __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + i), _mm512_maskz_loadu_ps(m, t + i));
    a0 = _mm512_fmadd_ps(d, d, a0);
  }
  return vm::hsum512(_mm512_add_ps(a0, a1));
}
MC_AVX512 void scaled_diff_avx512(float* d, const float* p, const float* t, int64_t C, float k) {
  const __m512 kv = _mm512_set1_ps(k);
  for (int64_t i = 0; i < C; i += 16) {
    __mmask16 m = vm::tail16(std::min<int64_t>(16, C - i));
    __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + i), _mm512_maskz_loadu_ps(m, t + i));
    _mm512_mask_storeu_ps(d + i, m, _mm512_mul_ps(v, kv));
  }
}
MC_AVX2 double sqdiff_avx2(const float* p, const float* t, int64_t C) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= C; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(t + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(p + i + 8), _mm256_loadu_ps(t + i + 8));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
  }
  double s = vm::hsum256(_mm256_add_ps(a0, a1));
  return s + sqdiff_scalar(p + i, t + i, C - i);
}
MC_AVX2 void scaled_diff_avx2(float* d, const float* p, const float* t, int64_t C, float k) {
  const __m256 kv = _mm256_set1_ps(k);
  int64_t i = 0;
  for (; i + 8 <= C; i += 8)
    _mm256_storeu_ps(d + i, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(t + i)), kv));
  for (; i < C; ++i) d[i] = k * (p[i] - t[i]);
}
#endif

constexpr int64_t kMseBlocks = 64;

int64_t mask_count(const float* mask, int64_t N) {
  int64_t K = 0;
  for (int64_t n = 0; n < N; ++n) K += mask[n] > 0.0f;
  return K;
}

}  // namespace

Status cross_entropy_cpu(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t M,
                         int64_t V, float grad_scale) {
  for (int64_t r = 0; r < M; ++r)
    if (targets[r] < -1 || targets[r] >= V)
      return Status::Error(Code::E_ARG, "cross_entropy: argument 'targets' expected values in [-1, " +
                                            std::to_string(V) + ") (-1 = ignore), received " +
                                            std::to_string(targets[r]) + " at row " + std::to_string(r));
  auto fmax = ce_max_scalar;
  auto fexp = ce_expsum_scalar;
  auto fscale = ce_scale_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) {
    fmax = ce_max_avx512;
    fexp = ce_expsum_avx512;
    fscale = ce_scale_avx512;
  } else if (s == Simd::Avx2) {
    fmax = ce_max_avx2;
    fexp = ce_expsum_avx2;
    fscale = ce_scale_avx2;
  }
#endif
  std::atomic<int64_t> first_bad{M};
  parallel_for(M, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(V, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const float* x = logits + r * V;
      float* d = dlogits + r * V;
      const int32_t t = targets[r];
      if (t < 0) {
        losses[r] = 0.0f;
        std::memset(d, 0, static_cast<size_t>(V) * sizeof(float));
        continue;
      }
      bool finite = true;
      float m = fmax(x, V, &finite);
      if (!finite) {
        int64_t cur = first_bad.load();
        while (r < cur && !first_bad.compare_exchange_weak(cur, r)) {
        }
        losses[r] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      double sum = fexp(d, x, V, m);  // d = exp(x - m), sum >= 1
      losses[r] = static_cast<float>(std::log(sum) + static_cast<double>(m) - static_cast<double>(x[t]));
      fscale(d, V, static_cast<float>(static_cast<double>(grad_scale) / sum));
      d[t] -= grad_scale;
    }
  });
  int64_t bad = first_bad.load();
  if (bad < M)
    return Status::Error(Code::E_NAN, "cross_entropy: argument 'logits' has a non-finite value (NaN or Inf) in row " +
                                          std::to_string(bad));
  return Status::Ok();
}

float mse_forward_cpu(const float* pred, const float* target, const float* mask, int64_t N, int64_t C) {
  auto fn = sqdiff_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) fn = sqdiff_avx512;
  else if (s == Simd::Avx2) fn = sqdiff_avx2;
#endif
  if (N <= 0 || C <= 0) return 0.0f;
  const int64_t nb = std::min(N, kMseBlocks);
  double part[kMseBlocks];
  int64_t cnt[kMseBlocks];
  parallel_for(nb, 1, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0.0;
      int64_t k = 0;
      for (int64_t n = N * b / nb; n < N * (b + 1) / nb; ++n) {
        if (!(mask[n] > 0.0f)) continue;
        acc += fn(pred + n * C, target + n * C, C);
        ++k;
      }
      part[b] = acc;
      cnt[b] = k;
    }
  });
  double total = 0.0;
  int64_t K = 0;
  for (int64_t b = 0; b < nb; ++b) {
    total += part[b];
    K += cnt[b];
  }
  if (K == 0) return 0.0f;
  return static_cast<float>(total / (static_cast<double>(C) * static_cast<double>(K)));
}

void mse_backward_cpu(float* dpred, const float* pred, const float* target, const float* mask, int64_t N, int64_t C,
                      float grad_scale) {
  auto fn = scaled_diff_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) fn = scaled_diff_avx512;
  else if (s == Simd::Avx2) fn = scaled_diff_avx2;
#endif
  const int64_t K = mask_count(mask, N);
  const float k = K > 0 ? static_cast<float>(2.0 * grad_scale / (static_cast<double>(C) * static_cast<double>(K))) : 0.0f;
  parallel_for(N, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(C, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; ++n) {
      if (K > 0 && mask[n] > 0.0f)
        fn(dpred + n * C, pred + n * C, target + n * C, C, k);
      else
        std::memset(dpred + n * C, 0, static_cast<size_t>(C) * sizeof(float));
    }
  });
}

// ---------------- op adapters ----------------

// Argument checks shared by the CPU and CUDA adapters.
Status cross_entropy_check(const OpArgs& a, int64_t* M, int64_t* V) {
  const char* op = "cross_entropy";
  MC_RETURN_IF_ERROR(check_count(op, a, 4, 0, 1));
  const TensorView &logits = a.t[0], &targets = a.t[1], &losses = a.t[2], &dlogits = a.t[3];
  MC_RETURN_IF_ERROR(check_dtype(op, "logits", logits, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "targets", targets, DType::I32));
  MC_RETURN_IF_ERROR(check_dtype(op, "losses", losses, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "dlogits", dlogits, DType::F32));
  MC_RETURN_IF_ERROR(check_arg(op, "logits", logits.ndim == 2 && logits.dim(1) > 0, "shape [M, V] with V > 0",
                               "shape " + logits.shape_str()));
  *M = logits.dim(0);
  *V = logits.dim(1);
  MC_RETURN_IF_ERROR(check_numel(op, "targets", targets, *M));
  MC_RETURN_IF_ERROR(check_numel(op, "losses", losses, *M));
  MC_RETURN_IF_ERROR(check_numel(op, "dlogits", dlogits, *M * *V));
  MC_RETURN_IF_ERROR(check_arg(op, "grad_scale", std::isfinite(a.f[0]), "a finite number", std::to_string(a.f[0])));
  return Status::Ok();
}

Status op_cross_entropy_cpu(const OpArgs& a) {
  int64_t M = 0, V = 0;
  MC_RETURN_IF_ERROR(cross_entropy_check(a, &M, &V));
  const TensorView &logits = a.t[0], &targets = a.t[1], &losses = a.t[2], &dlogits = a.t[3];
  const double gs = a.f[0];
  return cross_entropy_cpu(losses.f32(), dlogits.f32(), logits.f32(), targets.i32(), M, V, static_cast<float>(gs));
}

namespace {
Status check_mse(const char* op, const OpArgs& a, int64_t* N, int64_t* C) {
  const TensorView &pred = a.t[0], &target = a.t[1], &mask = a.t[2];
  MC_RETURN_IF_ERROR(check_dtype(op, "pred", pred, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "target", target, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "mask", mask, DType::F32));
  MC_RETURN_IF_ERROR(check_arg(op, "pred", pred.ndim == 2 && pred.dim(1) > 0, "shape [N, C] with C > 0",
                               "shape " + pred.shape_str()));
  *N = pred.dim(0);
  *C = pred.dim(1);
  MC_RETURN_IF_ERROR(check_numel(op, "target", target, pred.numel()));
  MC_RETURN_IF_ERROR(check_numel(op, "mask", mask, *N));
  return Status::Ok();
}

}  // namespace

Status mse_check_args(const OpArgs& a, bool backward, int64_t* N, int64_t* C, double* grad_scale) {
  const char* op = backward ? "mse_backward" : "mse_forward";
  MC_RETURN_IF_ERROR(check_count(op, a, 4, 0, backward ? 1 : 0));
  MC_RETURN_IF_ERROR(check_mse(op, a, N, C));
  const char* out = backward ? "dpred" : "loss";
  MC_RETURN_IF_ERROR(check_dtype(op, out, a.t[3], DType::F32));
  MC_RETURN_IF_ERROR(check_numel(op, out, a.t[3], backward ? *N * *C : 1));
  *grad_scale = backward ? a.f[0] : 1.0;
  return check_arg(op, "grad_scale", std::isfinite(*grad_scale), "a finite number", std::to_string(*grad_scale));
}

Status op_mse_forward_cpu(const OpArgs& a) {
  int64_t N = 0, C = 0;
  double gs = 1;
  MC_RETURN_IF_ERROR(mse_check_args(a, false, &N, &C, &gs));
  a.t[3].f32()[0] = mse_forward_cpu(a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), N, C);
  return Status::Ok();
}

Status op_mse_backward_cpu(const OpArgs& a) {
  int64_t N = 0, C = 0;
  double gs = 1;
  MC_RETURN_IF_ERROR(mse_check_args(a, true, &N, &C, &gs));
  mse_backward_cpu(a.t[3].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), N, C, static_cast<float>(gs));
  return Status::Ok();
}

}  // namespace mc
