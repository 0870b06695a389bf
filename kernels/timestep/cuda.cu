// CUDA timestep embedding: one thread per (token, k) pair, angles and sincos in double, rounded once
// to float (as the CPU). Frequencies exp(-ln(max_period) * k / half) are computed on the device in double.
#include <cmath>
#include <string>

#include "../common/cuda_check.cuh"
#include "timestep.h"

namespace mc {
namespace {

__global__ void timestep_kernel(float* out, const float* t, int64_t N, int64_t half, double lmp) {
  const int64_t total = N * half;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / half, k = i % half;
    const double f = exp(-lmp * static_cast<double>(k) / static_cast<double>(half));
    const double ang = static_cast<double>(t[n]) * f;
    double s, c;
    sincos(ang, &s, &c);
    float* o = out + n * 2 * half;
    o[k] = static_cast<float>(c);
    o[half + k] = static_cast<float>(s);
  }
}

constexpr int kBlock = 256;

}  // namespace

Status op_timestep_embedding_cuda(const OpArgs& a) {
  const char* op = "timestep_embedding";
  MC_RETURN_IF_ERROR(check_count(op, a, 2, 0, 1));
  const TensorView &t = a.t[0], &out = a.t[1];
  MC_RETURN_IF_ERROR(check_dtype(op, "t", t, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "out", out, DType::F32));
  const int64_t N = t.numel();
  MC_RETURN_IF_ERROR(check_arg(op, "out", out.ndim == 2 && out.dim(0) == N && out.dim(1) >= 2 && out.dim(1) % 2 == 0,
                               "shape [" + std::to_string(N) + ", dim] with an even dim >= 2",
                               "shape " + out.shape_str()));
  const double mp = a.f[0];
  MC_RETURN_IF_ERROR(check_arg(op, "max_period", std::isfinite(mp) && mp > 1.0, "a finite max_period > 1",
                               std::to_string(mp)));
  const int64_t half = out.dim(1) / 2;
  if (N * half > 0) timestep_kernel<<<grid_for(N * half, kBlock), kBlock>>>(out.f32(), t.f32(), N, half, std::log(mp));
  return cuda_launch_status(op);
}

}  // namespace mc
