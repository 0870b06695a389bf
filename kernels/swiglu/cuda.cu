// CUDA SwiGLU: grid-stride elementwise loops, same formulas as the CPU scalar path.
#include "../common/cuda_check.cuh"
#include "swiglu.h"

namespace mc {
namespace {

__global__ void swiglu_fwd_kernel(float* h, const float* g, const float* u, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = g[i];
    h[i] = (gi / (1.0f + expf(-gi))) * u[i];  // silu first: no g*u overflow
  }
}

__global__ void swiglu_bwd_kernel(float* dg, float* du, const float* g, const float* u, const float* dh, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float gi = g[i], ui = u[i], d = dh[i];
    const float s = 1.0f / (1.0f + expf(-gi));
    const float ds = d * s;  // (dh*s)*g: no Inf*0 for huge negative g
    dg[i] = ds * ui * (1.0f + gi * (1.0f - s));
    du[i] = ds * gi;
  }
}

constexpr int kBlock = 256;

}  // namespace

Status op_swiglu_forward_cuda(const OpArgs& a) {
  int64_t n = 0;
  MC_RETURN_IF_ERROR(swiglu_check_args(a, false, &n));
  if (n) swiglu_fwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n);
  return cuda_launch_status("swiglu_forward");
}

Status op_swiglu_backward_cuda(const OpArgs& a) {
  int64_t n = 0;
  MC_RETURN_IF_ERROR(swiglu_check_args(a, true, &n));
  if (n)
    swiglu_bwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[3].f32(), a.t[4].f32(), a.t[0].f32(), a.t[1].f32(),
                                                        a.t[2].f32(), n);
  return cuda_launch_status("swiglu_backward");
}

}  // namespace mc
