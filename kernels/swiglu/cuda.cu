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
  const char* op = "swiglu_forward";
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 0, 0));
  const char* names[3] = {"gate", "up", "h"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], DType::F32));
  const int64_t n = a.t[0].numel();
  for (int i = 1; i < 3; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], n));
  if (n) swiglu_fwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n);
  return cuda_launch_status(op);
}

Status op_swiglu_backward_cuda(const OpArgs& a) {
  const char* op = "swiglu_backward";
  MC_RETURN_IF_ERROR(check_count(op, a, 5, 0, 0));
  const char* names[5] = {"gate", "up", "dh", "dgate", "dup"};
  for (int i = 0; i < 5; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], DType::F32));
  const int64_t n = a.t[0].numel();
  for (int i = 1; i < 5; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], n));
  if (n)
    swiglu_bwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[3].f32(), a.t[4].f32(), a.t[0].f32(), a.t[1].f32(),
                                                        a.t[2].f32(), n);
  return cuda_launch_status(op);
}

}  // namespace mc
