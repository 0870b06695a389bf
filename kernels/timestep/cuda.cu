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
  int64_t N = 0, dim = 0;
  double mp = 0;
  MC_RETURN_IF_ERROR(timestep_check_args(a, &N, &dim, &mp));
  const int64_t half = dim / 2;
  if (N * half > 0)
    timestep_kernel<<<grid_for(N * half, kBlock), kBlock>>>(a.t[1].f32(), a.t[0].f32(), N, half, std::log(mp));
  return cuda_launch_status("timestep_embedding");
}

}  // namespace mc
