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
// One thread per column, rows summed in order (deterministic; the MoT model's bias grads are small).
__global__ void bias_grad_kernel(float* db, const float* dy, int64_t N, int64_t D, bool acc) {
  int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= D) return;
  float s = 0.f;
  for (int64_t r = 0; r < N; ++r) s += dy[r * D + c];
  db[c] = acc ? db[c] + s : s;
}

constexpr int kBlock = 256;

}  // namespace

Status op_fill_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("fill", a, 1, 0, 1));
  MC_RETURN_IF_ERROR(check_dtype("fill", "x", a.t[0], DType::F32));
  int64_t n = a.t[0].numel();
  if (n) fill_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[0].f32(), n, static_cast<float>(a.f[0]));
  return cuda_launch_status("fill");
}

Status op_add_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("add", a, 3, 0, 2));
  const char* names[3] = {"a", "b", "out"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("add", names[i], a.t[i], DType::F32));
  int64_t n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_numel("add", "b", a.t[1], n));
  MC_RETURN_IF_ERROR(check_numel("add", "out", a.t[2], n));
  if (n)
    add_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, static_cast<float>(a.f[0]),
                                                 static_cast<float>(a.f[1]));
  return cuda_launch_status("add");
}

Status op_silu_forward_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("silu_forward", a, 2, 0, 0));
  MC_RETURN_IF_ERROR(check_dtype("silu_forward", "x", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype("silu_forward", "y", a.t[1], DType::F32));
  int64_t n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_numel("silu_forward", "y", a.t[1], n));
  if (n) silu_fwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[1].f32(), a.t[0].f32(), n);
  return cuda_launch_status("silu_forward");
}

Status op_silu_backward_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("silu_backward", a, 3, 1, 0));
  const char* names[3] = {"x", "dy", "dx"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("silu_backward", names[i], a.t[i], DType::F32));
  int64_t n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_numel("silu_backward", "dy", a.t[1], n));
  MC_RETURN_IF_ERROR(check_numel("silu_backward", "dx", a.t[2], n));
  if (n) silu_bwd_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, a.i[0] != 0);
  return cuda_launch_status("silu_backward");
}

Status op_bias_add_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("bias_add", a, 3, 0, 0));
  const char* names[3] = {"x", "b", "out"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("bias_add", names[i], a.t[i], DType::F32));
  int64_t D = a.t[1].numel(), n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_arg("bias_add", "x", D > 0 && n % D == 0, "a multiple of " + std::to_string(D) + " elements",
                               a.t[0].shape_str()));
  MC_RETURN_IF_ERROR(check_numel("bias_add", "out", a.t[2], n));
  if (n) bias_add_kernel<<<grid_for(n, kBlock), kBlock>>>(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, D);
  return cuda_launch_status("bias_add");
}

Status op_bias_grad_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("bias_grad", a, 2, 1, 0));
  MC_RETURN_IF_ERROR(check_dtype("bias_grad", "dy", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype("bias_grad", "db", a.t[1], DType::F32));
  int64_t D = a.t[1].numel();
  MC_RETURN_IF_ERROR(check_arg("bias_grad", "dy", D > 0 && a.t[0].numel() % D == 0,
                               "a multiple of " + std::to_string(D) + " elements", a.t[0].shape_str()));
  bias_grad_kernel<<<grid_for(D, kBlock), kBlock>>>(a.t[1].f32(), a.t[0].f32(), a.t[0].numel() / D, D, a.i[0] != 0);
  return cuda_launch_status("bias_grad");
}

}  // namespace mc
