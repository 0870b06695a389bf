#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "optim.h"

namespace mc {
namespace {

constexpr int64_t kChunk = 1 << 15;  // elements per chunk (fixed: the norm's summation order)

struct Chunk {
  int t;
  int64_t b, e;
};

using Coef = AdamWCoef;

// ---- sum of squares (double) ----
double sumsq_scalar(const float* g, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  return s;
}

// ---- update ----
void update_scalar(float* p, const float* g, float* m, float* v, int64_t n, float clip, const Coef& c, bool decay) {
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] * clip;
    float mi = c.b1 * m[i] + c.omb1 * gi;
    float vi = c.b2 * v[i] + c.omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float pi = decay ? p[i] * c.decay_mul : p[i];
    p[i] = pi - c.step_size * mi / (std::sqrt(vi) * c.inv_sqrt_bc2 + c.eps);
  }
}

#if MC_X86
MC_AVX512 double sumsq_avx512(const float* g, int64_t n) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
    __m512d hi = _mm512_cvtps_pd(_mm256_loadu_ps(g + i + 8));
    a0 = _mm512_fmadd_pd(lo, lo, a0);
    a1 = _mm512_fmadd_pd(hi, hi, a1);
  }
  double s = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
  return s + sumsq_scalar(g + i, n - i);
}
MC_AVX512 void update_avx512(float* p, const float* g, float* m, float* v, int64_t n, float clip, const Coef& c,
                             bool decay) {
  const __m512 vclip = _mm512_set1_ps(clip), b1 = _mm512_set1_ps(c.b1), omb1 = _mm512_set1_ps(c.omb1);
  const __m512 b2 = _mm512_set1_ps(c.b2), omb2 = _mm512_set1_ps(c.omb2), ss = _mm512_set1_ps(c.step_size);
  const __m512 ibc2 = _mm512_set1_ps(c.inv_sqrt_bc2), eps = _mm512_set1_ps(c.eps);
  const __m512 dm = _mm512_set1_ps(decay ? c.decay_mul : 1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 k = vm::tail16(std::min<int64_t>(16, n - i));
    __m512 gi = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), vclip);
    __m512 mi = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(k, m + i), _mm512_mul_ps(omb1, gi));
    __m512 vi = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(k, v + i), _mm512_mul_ps(_mm512_mul_ps(omb2, gi), gi));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    __m512 pi = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + i), dm);
    __m512 den = _mm512_fmadd_ps(_mm512_sqrt_ps(vi), ibc2, eps);
    _mm512_mask_storeu_ps(p + i, k, _mm512_sub_ps(pi, _mm512_div_ps(_mm512_mul_ps(ss, mi), den)));
  }
}

MC_AVX2 double sumsq_avx2(const float* g, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(g + i));
    __m256d hi = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4));
    a0 = _mm256_fmadd_pd(lo, lo, a0);
    a1 = _mm256_fmadd_pd(hi, hi, a1);
  }
  return vm::hsum256d(_mm256_add_pd(a0, a1)) + sumsq_scalar(g + i, n - i);
}
MC_AVX2 void update_avx2(float* p, const float* g, float* m, float* v, int64_t n, float clip, const Coef& c,
                         bool decay) {
  const __m256 vclip = _mm256_set1_ps(clip), b1 = _mm256_set1_ps(c.b1), omb1 = _mm256_set1_ps(c.omb1);
  const __m256 b2 = _mm256_set1_ps(c.b2), omb2 = _mm256_set1_ps(c.omb2), ss = _mm256_set1_ps(c.step_size);
  const __m256 ibc2 = _mm256_set1_ps(c.inv_sqrt_bc2), eps = _mm256_set1_ps(c.eps);
  const __m256 dm = _mm256_set1_ps(decay ? c.decay_mul : 1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_mul_ps(_mm256_loadu_ps(g + i), vclip);
    __m256 mi = _mm256_fmadd_ps(b1, _mm256_loadu_ps(m + i), _mm256_mul_ps(omb1, gi));
    __m256 vi = _mm256_fmadd_ps(b2, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), dm);
    __m256 den = _mm256_fmadd_ps(_mm256_sqrt_ps(vi), ibc2, eps);
    _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(ss, mi), den)));
  }
  update_scalar(p + i, g + i, m + i, v + i, n - i, clip, c, decay);
}
#endif

}  // namespace

AdamWCoef adamw_coef(const AdamWParams& hp, double norm) {
  double clip = 1.0;
  if (hp.max_grad_norm > 0.0) clip = std::min(1.0, hp.max_grad_norm / (norm + 1e-6));
  const double bc1 = 1.0 - std::pow(hp.beta1, static_cast<double>(hp.step));
  const double bc2 = 1.0 - std::pow(hp.beta2, static_cast<double>(hp.step));
  AdamWCoef c;
  c.b1 = static_cast<float>(hp.beta1);
  c.omb1 = static_cast<float>(1.0 - hp.beta1);
  c.b2 = static_cast<float>(hp.beta2);
  c.omb2 = static_cast<float>(1.0 - hp.beta2);
  c.step_size = static_cast<float>(hp.lr / bc1);
  c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  c.eps = static_cast<float>(hp.eps);
  c.decay_mul = static_cast<float>(1.0 - hp.lr * hp.weight_decay);
  c.clip = static_cast<float>(clip);
  return c;
}

Status adamw_nonfinite(int bad, double norm) {
  return Status::Error(Code::E_NAN, "adamw: argument 'g_" + std::to_string(bad < 0 ? 0 : bad) +
                                        "' expected finite gradients, received a non-finite value (global grad "
                                        "norm " + std::to_string(norm) +
                                        "); parameters and moments were left unchanged");
}

Status adamw_cpu(const AdamWTensor* ts, int count, const AdamWParams& hp, float* gnorm) {
  auto fsum = sumsq_scalar;
  auto fupd = update_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) {
    fsum = sumsq_avx512;
    fupd = update_avx512;
  } else if (s == Simd::Avx2) {
    fsum = sumsq_avx2;
    fupd = update_avx2;
  }
#endif
  // chunk list and partials: grown per calling thread, reused across steps
  thread_local std::vector<Chunk> chunks;
  thread_local std::vector<double> part;
  chunks.clear();
  for (int t = 0; t < count; ++t)
    for (int64_t b = 0; b < ts[t].n; b += kChunk) chunks.push_back({t, b, std::min(ts[t].n, b + kChunk)});
  const int64_t nc = static_cast<int64_t>(chunks.size());
  part.resize(chunks.size());
  const Chunk* ch = chunks.data();
  double* pp = part.data();
  parallel_for(nc, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) pp[i] = fsum(ts[ch[i].t].g + ch[i].b, ch[i].e - ch[i].b);
  });
  double ss = 0.0;
  for (int64_t i = 0; i < nc; ++i) ss += pp[i];
  const double norm = std::sqrt(ss);
  *gnorm = static_cast<float>(norm);
  if (!std::isfinite(norm)) {
    int bad = -1;
    for (int64_t i = 0; i < nc && bad < 0; ++i)
      if (!std::isfinite(pp[i])) bad = ch[i].t;
    return adamw_nonfinite(bad, norm);
  }
  const Coef c = adamw_coef(hp, norm);
  const float fclip = c.clip;
  parallel_for(nc, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const AdamWTensor& T = ts[ch[i].t];
      const int64_t o = ch[i].b;
      fupd(T.p + o, T.g + o, T.m + o, T.v + o, ch[i].e - o, fclip, c, T.decay);
    }
  });
  return Status::Ok();
}

// ---------------- op adapter ----------------

// Checks and unpacks the adamw op's arguments (shared by the CPU and CUDA adapters).
Status adamw_unpack(const OpArgs& a, std::vector<AdamWTensor>* out, AdamWParams* params, float** gnorm) {
  const char* op = "adamw";
  if (a.ni < 1)
    return Status::Error(Code::E_ARG, "adamw: expected ints [n, step, decay_0..decay_{n-1}], received " +
                                          std::to_string(a.ni) + " ints");
  const int64_t n = a.i[0];
  MC_RETURN_IF_ERROR(check_arg(op, "n", n >= 1 && n <= (1 << 20), "a tensor count >= 1", std::to_string(n)));
  MC_RETURN_IF_ERROR(check_count(op, a, static_cast<int>(4 * n + 1), static_cast<int>(2 + n), 6));
  const int64_t step = a.i[1];
  MC_RETURN_IF_ERROR(check_arg(op, "step", step >= 1, "a 1-based step >= 1", std::to_string(step)));
  std::vector<AdamWTensor>& ts = *out;
  ts.assign(static_cast<size_t>(n), AdamWTensor{});
  const char* kinds[4] = {"p_", "g_", "m_", "v_"};
  for (int64_t t = 0; t < n; ++t) {
    const int64_t numel = a.t[t].numel();
    for (int k = 0; k < 4; ++k) {
      const TensorView& tv = a.t[k * n + t];
      std::string name = kinds[k] + std::to_string(t);
      MC_RETURN_IF_ERROR(check_dtype(op, name.c_str(), tv, DType::F32));
      MC_RETURN_IF_ERROR(check_numel(op, name.c_str(), tv, numel));
    }
    const int64_t d = a.i[2 + t];
    std::string dname = "decay_" + std::to_string(t);
    MC_RETURN_IF_ERROR(check_arg(op, dname.c_str(), d == 0 || d == 1, "0 or 1", std::to_string(d)));
    ts[t] = AdamWTensor{a.t[t].f32(), a.t[n + t].f32(), a.t[2 * n + t].f32(), a.t[3 * n + t].f32(), numel, d == 1};
  }
  const TensorView& gn = a.t[4 * n];
  MC_RETURN_IF_ERROR(check_dtype(op, "gnorm", gn, DType::F32));
  MC_RETURN_IF_ERROR(check_numel(op, "gnorm", gn, 1));
  AdamWParams hp{step, a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], a.f[5]};
  MC_RETURN_IF_ERROR(check_arg(op, "lr", std::isfinite(hp.lr) && hp.lr >= 0.0, "a finite lr >= 0", std::to_string(hp.lr)));
  MC_RETURN_IF_ERROR(check_arg(op, "beta1", hp.beta1 >= 0.0 && hp.beta1 < 1.0, "a value in [0, 1)",
                               std::to_string(hp.beta1)));
  MC_RETURN_IF_ERROR(check_arg(op, "beta2", hp.beta2 >= 0.0 && hp.beta2 < 1.0, "a value in [0, 1)",
                               std::to_string(hp.beta2)));
  MC_RETURN_IF_ERROR(check_arg(op, "eps", std::isfinite(hp.eps) && hp.eps > 0.0, "a finite eps > 0",
                               std::to_string(hp.eps)));
  MC_RETURN_IF_ERROR(check_arg(op, "weight_decay", std::isfinite(hp.weight_decay) && hp.weight_decay >= 0.0,
                               "a finite weight_decay >= 0", std::to_string(hp.weight_decay)));
  MC_RETURN_IF_ERROR(check_arg(op, "max_grad_norm", std::isfinite(hp.max_grad_norm),
                               "a finite number (<= 0 disables clipping)", std::to_string(hp.max_grad_norm)));
  *params = hp;
  *gnorm = gn.f32();
  return Status::Ok();
}

Status op_adamw_cpu(const OpArgs& a) {
  std::vector<AdamWTensor> ts;
  AdamWParams hp{};
  float* gnorm = nullptr;
  MC_RETURN_IF_ERROR(adamw_unpack(a, &ts, &hp, &gnorm));
  return adamw_cpu(ts.data(), static_cast<int>(ts.size()), hp, gnorm);
}

}  // namespace mc
