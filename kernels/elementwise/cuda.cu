// CUDA versions of the elementwise ops: grid-stride loops, memory-bound, one launch each.
#include "../common/cuda_check.cuh"
#include "elementwise.h"

namespace mc {
namespace {

__global__ void fill_kernel(float* x, int64_t n, float v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) x[i] = v;
}
__global__ void add_kernel(float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = alpha * a[i] + beta * b[i];
}
__global__ void silu_fwd_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = x[i] / (1.0f + expf(-x[i]));
}
__global__ void silu_bwd_kernel(float* dx, const float* x, const float* dy, int64_t n, bool acc) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float s = 1.0f / (1.0f + expf(-x[i]));
    float g = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    dx[i] = acc ? dx[i] + g : g;
  }
}
__global__ void bias_add_kernel(float* out, const float* x, const float* b, int64_t n, int64_t D) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = x[i] + b[i % D];
}
// One thread per column (grid-stride), rows summed in order in double and rounded once, exactly as
// the CPU (deterministic, and bitwise equal to it; the MoT model's bias grads are small).
__global__ void bias_grad_kernel(float* db, const float* dy, int64_t N, int64_t D, bool acc) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < D; c += (int64_t)gridDim.x * blockDim.x) {
    double s = 0.0;
    for (int64_t r = 0; r < N; ++r) s += dy[r * D + c];
    db[c] = static_cast<float>(acc ? db[c] + s : s);
  }
}

constexpr int kBlock = 256;

}  // namespace

Status op_fill_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("fill", a, {"x"}, 0, 1));
  const int64_t n = a.t[0].numel();
  if (n) fill_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[0].f32(), n, static_cast<float>(a.f[0]));
  return cuda_launch_status("fill");
}

Status op_add_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("add", a, {"a", "b", "out"}, 0, 2));
  const int64_t n = a.t[0].numel();
  if (n)
    add_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, static_cast<float>(a.f[0]),
                                                 static_cast<float>(a.f[1]));
  return cuda_launch_status("add");
}

Status op_silu_forward_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("silu_forward", a, {"x", "y"}, 0, 0));
  const int64_t n = a.t[0].numel();
  if (n) silu_fwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[1].f32(), a.t[0].f32(), n);
  return cuda_launch_status("silu_forward");
}

Status op_silu_backward_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("silu_backward", a, {"x", "dy", "dx"}, 1, 0));
  const int64_t n = a.t[0].numel();
  if (n) silu_bwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, a.i[0] != 0);
  return cuda_launch_status("silu_backward");
}

Status op_bias_add_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("bias_add", a, {"x", "b", "out"}, 0, 0, 1));
  const int64_t D = a.t[1].numel(), n = a.t[0].numel();
  if (n) bias_add_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, D);
  return cuda_launch_status("bias_add");
}

Status op_bias_grad_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("bias_grad", a, {"dy", "db"}, 1, 0, 1));
  const int64_t D = a.t[1].numel();
  bias_grad_kernel<<<grid_for(D, kBlock), kBlock>>>(a.t[1].f32(), a.t[0].f32(), a.t[0].numel() / D, D, a.i[0] != 0);
  return cuda_launch_status("bias_grad");
}

}  // namespace mc
