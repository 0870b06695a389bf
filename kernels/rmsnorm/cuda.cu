// CUDA RMSNorm. Forward: one block per row, sum of squares in double (block reduction), rstd rounded
// once to float as on the CPU. Backward: a fixed number of row blocks nb = min(R, kMaxBlocks) (a
// function of R only); each CUDA block walks its rows in order, writes dx, and accumulates dy*xhat
// into its own partial row (each thread owns its columns: no atomics). A second kernel adds the
// partials per column in block order: dw is deterministic, whatever the device.
#include <cmath>
#include <string>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "rmsnorm.h"

namespace mc {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kMaxBlocks = 256;  // dw partial rows (fixed by R only: deterministic)

__global__ void rms_fwd_kernel(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t D, float eps) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
    ss = block_sum(ss);
    const float rs = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(D) + static_cast<double>(eps)));
    if (threadIdx.x == 0) rstd[r] = rs;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) yr[i] = xr[i] * rs * w[i];
  }
}

// block b handles rows [R*b/nb, R*(b+1)/nb); part[b*D + c] = sum over its rows of dy*xhat
__global__ void rms_bwd_kernel(float* dx, float* part, const float* x, const float* w, const float* rstd,
                               const float* dy, int64_t R, int64_t D, int64_t nb) {
  const int64_t b = blockIdx.x;
  const int64_t r0 = R * b / nb, r1 = R * (b + 1) / nb;
  float* pb = part + b * D;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) pb[i] = 0.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * D;
    const float* dyr = dy + r * D;
    float* dxr = dx + r * D;
    const float rs = rstd[r];
    double dot = 0.0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dot += static_cast<double>(dyr[i]) * w[i] * xr[i];
    dot = block_sum(dot);
    const float c = static_cast<float>(dot * rs * rs / static_cast<double>(D));  // mean(g*xhat) * rstd
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      dxr[i] = rs * (dyr[i] * w[i] - xr[i] * c);
      pb[i] += dyr[i] * (xr[i] * rs);
    }
  }
}

// dw[c] = (accumulate ? dw[c] : 0) + sum_b part[b*D + c], b in order
__global__ void rms_dw_reduce_kernel(float* dw, const float* part, int64_t D, int64_t nb, bool acc) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < D; c += (int64_t)gridDim.x * blockDim.x) {
    const float s = acc ? dw[c] : 0.0f;
    float t = 0.0f;
    for (int64_t b = 0; b < nb; ++b) t += part[b * D + c];
    dw[c] = s + t;
  }
}

__global__ void zero_kernel(float* x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    x[i] = 0.0f;
}

unsigned row_grid(int64_t R) { return static_cast<unsigned>(R < 1 ? 1 : (R > (1LL << 30) ? (1LL << 30) : R)); }

}  // namespace

Status op_rmsnorm_forward_cuda(const OpArgs& a) {
  const char* op = "rmsnorm_forward";
  RmsArgs p;
  MC_RETURN_IF_ERROR(rmsnorm_check_args(a, false, &p));
  const int64_t R = p.R, D = p.D;
  const TensorView &x = a.t[0], &w = a.t[1], &y = a.t[2], &rstd = a.t[3];
  const float eps = p.eps;
  if (R > 0)
    rms_fwd_kernel<<<row_grid(R), kBlock>>>(y.f32(), rstd.f32(), x.f32(), w.f32(), R, D, eps);
  return cuda_launch_status(op);
}

Status op_rmsnorm_backward_cuda(const OpArgs& a) {
  const char* op = "rmsnorm_backward";
  RmsArgs p;
  MC_RETURN_IF_ERROR(rmsnorm_check_args(a, true, &p));
  const int64_t R = p.R, D = p.D;
  const TensorView &x = a.t[0], &w = a.t[1], &rstd = a.t[2], &dy = a.t[3], &dx = a.t[4], &dw = a.t[5];
  const bool acc = p.acc;
  if (R <= 0) {
    if (!acc) zero_kernel<<<grid_for(D, kBlock), kBlock>>>(dw.f32(), D);
    return cuda_launch_status(op);
  }
  const int64_t nb = R < kMaxBlocks ? R : kMaxBlocks;
  float* part = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&part),
                                                     static_cast<size_t>(nb * D) * sizeof(float), 0)));
  rms_bwd_kernel<<<static_cast<unsigned>(nb), kBlock>>>(dx.f32(), part, x.f32(), w.f32(), rstd.f32(), dy.f32(), R, D,
                                                        nb);
  Status st = cuda_launch_status(op);
  if (st.ok()) {
    rms_dw_reduce_kernel<<<grid_for(D, kBlock), kBlock>>>(dw.f32(), part, D, nb, acc);
    st = cuda_launch_status(op);
  }
  Status fr = cuda_status(op, cudaFreeAsync(part, 0));
  return st.ok() ? fr : st;
}

}  // namespace mc
