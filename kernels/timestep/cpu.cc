#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/threadpool.h"
#include "timestep.h"

namespace mc {

void timestep_embedding_cpu(float* out, const float* t, int64_t N, int64_t dim, double max_period) {
  const int64_t half = dim / 2;
  std::vector<double> freqs(static_cast<size_t>(half));  // once per call
  const double lmp = std::log(max_period);
  for (int64_t k = 0; k < half; ++k) freqs[k] = std::exp(-lmp * static_cast<double>(k) / static_cast<double>(half));
  parallel_for(N, std::max<int64_t>(1, 4096 / std::max<int64_t>(dim, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; ++n) {
      const double tn = t[n];
      float* o = out + n * dim;
      for (int64_t k = 0; k < half; ++k) {
        const double ang = tn * freqs[k];
        o[k] = static_cast<float>(std::cos(ang));
        o[half + k] = static_cast<float>(std::sin(ang));
      }
    }
  });
}

Status timestep_check_args(const OpArgs& a, int64_t* N, int64_t* dim, double* max_period) {
  const char* op = "timestep_embedding";
  MC_RETURN_IF_ERROR(check_count(op, a, 2, 0, 1));
  const TensorView &t = a.t[0], &out = a.t[1];
  MC_RETURN_IF_ERROR(check_dtype(op, "t", t, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "out", out, DType::F32));
  *N = t.numel();
  MC_RETURN_IF_ERROR(check_arg(op, "out", out.ndim == 2 && out.dim(0) == *N && out.dim(1) >= 2 && out.dim(1) % 2 == 0,
                               "shape [" + std::to_string(*N) + ", dim] with an even dim >= 2",
                               "shape " + out.shape_str()));
  *dim = out.dim(1);
  *max_period = a.f[0];
  return check_arg(op, "max_period", std::isfinite(*max_period) && *max_period > 1.0, "a finite max_period > 1",
                   std::to_string(*max_period));
}

Status op_timestep_embedding_cpu(const OpArgs& a) {
  int64_t N = 0, dim = 0;
  double mp = 0;
  MC_RETURN_IF_ERROR(timestep_check_args(a, &N, &dim, &mp));
  timestep_embedding_cpu(a.t[1].f32(), a.t[0].f32(), N, dim, mp);
  return Status::Ok();
}

}  // namespace mc
