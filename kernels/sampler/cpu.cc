#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/threadpool.h"
#include "sampler.h"

namespace mc {
namespace {
double row_norm(const float* x, int64_t C) {
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += static_cast<double>(x[c]) * x[c];
  return std::sqrt(s);
}
float clamp_scale(double num, double den, float lo) {
  double s = num / (den + 1e-8);
  return static_cast<float>(std::min(1.0, std::max(static_cast<double>(lo), s)));
}
}  // namespace

void cfg_combine_cpu(float* out, const float* v, const float* vt, const float* vi, int64_t T, int64_t C, float s_text,
                     float s_img, float renorm_min, int mode) {
  // per token: text guidance (+ per-token renorm), then image guidance (+ per-token renorm)
  parallel_for(T, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) {
      const float* a = v + t * C;
      const float* at = vt + t * C;
      const float* ai = vi + t * C;
      float* o = out + t * C;
      for (int64_t c = 0; c < C; ++c) o[c] = at[c] + s_text * (a[c] - at[c]);
      if (mode == kRenormTextChannel) {
        float sc = clamp_scale(row_norm(a, C), row_norm(o, C), renorm_min);
        for (int64_t c = 0; c < C; ++c) o[c] *= sc;
      }
      if (s_img > 1.0f)
        for (int64_t c = 0; c < C; ++c) o[c] = ai[c] + s_img * (o[c] - ai[c]);
      if (mode == kRenormChannel) {
        float sc = clamp_scale(row_norm(a, C), row_norm(o, C), renorm_min);
        for (int64_t c = 0; c < C; ++c) o[c] *= sc;
      }
    }
  });
  if (mode == kRenormGlobal) {
    double nv = 0, no = 0;
    for (int64_t i = 0; i < T * C; ++i) {
      nv += static_cast<double>(v[i]) * v[i];
      no += static_cast<double>(out[i]) * out[i];
    }
    float sc = clamp_scale(std::sqrt(nv), std::sqrt(no), renorm_min);
    for (int64_t i = 0; i < T * C; ++i) out[i] *= sc;
  }
}

// tensors: v, vt, vi, out [T, C]; ints: mode; floats: s_text, s_img, renorm_min
Status op_cfg_combine_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("cfg_combine", a, 4, 1, 3));
  const char* names[4] = {"v", "vNoText", "vNoImage", "out"};
  for (int i = 0; i < 4; ++i) MC_RETURN_IF_ERROR(check_dtype("cfg_combine", names[i], a.t[i], DType::F32));
  if (a.t[0].ndim != 2) return Status::Error(Code::E_SHAPE, "cfg_combine: argument 'v' expected [T, C], received " + a.t[0].shape_str());
  for (int i = 1; i < 4; ++i) MC_RETURN_IF_ERROR(check_numel("cfg_combine", names[i], a.t[i], a.t[0].numel()));
  MC_RETURN_IF_ERROR(check_arg("cfg_combine", "renorm", a.i[0] >= 0 && a.i[0] <= 2, "0 (global), 1 (channel) or 2 (text_channel)", std::to_string(a.i[0])));
  cfg_combine_cpu(a.t[3].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), a.t[0].shape[0], a.t[0].shape[1],
                  static_cast<float>(a.f[0]), static_cast<float>(a.f[1]), static_cast<float>(a.f[2]), static_cast<int>(a.i[0]));
  return Status::Ok();
}

}  // namespace mc
