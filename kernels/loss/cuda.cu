// CUDA losses.
// cross_entropy: the targets are copied to the host and validated like the CPU (E_ARG naming the row,
// before anything is written). One block per row: max and finiteness (x*0 summed: NaN iff some x is
// not finite), e = exp(x - max) staged in dlogits with a double sum, loss = log(sum) + max - x[t] in
// double, dlogits = e * (grad_scale / sum), then dlogits[t] -= grad_scale. Ignored rows (t = -1):
// loss 0, zero gradient row, logits unread. A non-finite row gets loss NaN, its gradient row is left
// untouched, and the lowest such row (atomicMin, read back after the kernel) is named in E_NAN.
// mse_forward: fixed row blocks (a function of N only), per-block double partials and mask counts,
// added in block order by one thread: deterministic. mse_backward: the mask count K is reduced on the
// device and read there by the elementwise kernel (no host round trip).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "loss.h"

namespace mc {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kMseBlocks = 1024;

__device__ float block_max(float v) {
  __shared__ float sh[32];
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    v = lane < nw ? sh[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) sh[0] = v;
  }
  __syncthreads();
  const float r = sh[0];
  __syncthreads();
  return r;
}

__global__ void ce_kernel(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t M,
                          int64_t V, float grad_scale, unsigned long long* first_bad) {
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const float* x = logits + r * V;
    float* d = dlogits + r * V;
    const int32_t t = targets[r];
    if (t < 0) {
      if (threadIdx.x == 0) losses[r] = 0.0f;
      for (int64_t i = threadIdx.x; i < V; i += blockDim.x) d[i] = 0.0f;
      continue;
    }
    float m = -INFINITY, bad = 0.0f;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      const float xi = x[i];
      m = fmaxf(m, xi);
      bad += xi * 0.0f;
    }
    m = block_max(m);
    bad = block_sum(bad);
    if (!(bad == 0.0f)) {
      if (threadIdx.x == 0) {
        losses[r] = __int_as_float(0x7fc00000);  // quiet NaN
        atomicMin(first_bad, static_cast<unsigned long long>(r));
      }
      continue;
    }
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      const float e = expf(x[i] - m);
      d[i] = e;
      s += e;
    }
    s = block_sum(s);  // >= 1
    if (threadIdx.x == 0) losses[r] = static_cast<float>(log(s) + static_cast<double>(m) - static_cast<double>(x[t]));
    const float k = static_cast<float>(static_cast<double>(grad_scale) / s);
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
      float v = d[i] * k;
      if (i == t) v -= grad_scale;
      d[i] = v;
    }
  }
}

// block b sums rows [N*b/nb, N*(b+1)/nb) with mask > 0
__global__ void mse_partial_kernel(double* part, long long* cnt, const float* pred, const float* target,
                                   const float* mask, int64_t N, int64_t C, int64_t nb) {
  const int64_t b = blockIdx.x;
  double acc = 0.0;
  long long k = 0;
  for (int64_t n = N * b / nb; n < N * (b + 1) / nb; ++n) {
    if (!(mask[n] > 0.0f)) continue;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const double dd = static_cast<double>(pred[n * C + i]) - target[n * C + i];
      acc += dd * dd;
    }
    ++k;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) {
    part[b] = acc;
    cnt[b] = k;
  }
}

__global__ void mse_final_kernel(float* loss, const double* part, const long long* cnt, int64_t nb, int64_t C) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double total = 0.0;
  long long K = 0;
  for (int64_t b = 0; b < nb; ++b) {
    total += part[b];
    K += cnt[b];
  }
  loss[0] = K == 0 ? 0.0f : static_cast<float>(total / (static_cast<double>(C) * static_cast<double>(K)));
}

__global__ void mask_count_kernel(long long* K, const float* mask, int64_t N) {
  long long k = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) k += mask[n] > 0.0f;
  k = block_sum(k);
  if (threadIdx.x == 0) *K = k;
}

__global__ void mse_bwd_kernel(float* dpred, const float* pred, const float* target, const float* mask,
                               const long long* Kp, int64_t N, int64_t C, float grad_scale) {
  const long long K = *Kp;
  const float k = K > 0 ? static_cast<float>(2.0 * grad_scale / (static_cast<double>(C) * static_cast<double>(K))) : 0.0f;
  const int64_t total = N * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / C;
    dpred[i] = (K > 0 && mask[n] > 0.0f) ? k * (pred[i] - target[i]) : 0.0f;
  }
}

unsigned row_grid(int64_t R) { return static_cast<unsigned>(R < 1 ? 1 : (R > (1LL << 30) ? (1LL << 30) : R)); }

}  // namespace

Status op_cross_entropy_cuda(const OpArgs& a) {
  const char* op = "cross_entropy";
  int64_t M = 0, V = 0;
  MC_RETURN_IF_ERROR(cross_entropy_check(a, &M, &V));
  const TensorView &logits = a.t[0], &targets = a.t[1], &losses = a.t[2], &dlogits = a.t[3];
  const double gs = a.f[0];
  if (M <= 0) return Status::Ok();
  // validate targets on the host first (nothing written on E_ARG)
  std::vector<int32_t> host(static_cast<size_t>(M));
  MC_RETURN_IF_ERROR(cuda_status(
      op, cudaMemcpy(host.data(), targets.data, static_cast<size_t>(M) * sizeof(int32_t), cudaMemcpyDeviceToHost)));
  for (int64_t r = 0; r < M; ++r)
    if (host[r] < -1 || host[r] >= V)
      return Status::Error(Code::E_ARG, "cross_entropy: argument 'targets' expected values in [-1, " +
                                            std::to_string(V) + ") (-1 = ignore), received " +
                                            std::to_string(host[r]) + " at row " + std::to_string(r));
  unsigned long long* bad = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMalloc(reinterpret_cast<void**>(&bad), sizeof(unsigned long long))));
  const unsigned long long init = static_cast<unsigned long long>(M);
  Status st = cuda_status(op, cudaMemcpy(bad, &init, sizeof(init), cudaMemcpyHostToDevice));
  unsigned long long first = init;
  if (st.ok()) {
    ce_kernel<<<row_grid(M), kBlock>>>(losses.f32(), dlogits.f32(), logits.f32(), targets.i32(), M, V,
                                       static_cast<float>(gs), bad);
    st = cuda_launch_status(op);
  }
  if (st.ok()) st = cuda_status(op, cudaMemcpy(&first, bad, sizeof(first), cudaMemcpyDeviceToHost));
  Status fr = cuda_status(op, cudaFree(bad));  // checked: an unchecked failure would surface in the next op
  if (st.ok()) st = fr;
  if (!st.ok()) return st;
  if (first < init)
    return Status::Error(Code::E_NAN, "cross_entropy: argument 'logits' has a non-finite value (NaN or Inf) in row " +
                                          std::to_string(first));
  return Status::Ok();
}

Status op_mse_forward_cuda(const OpArgs& a) {
  const char* op = "mse_forward";
  int64_t N = 0, C = 0;
  double gs = 1;
  MC_RETURN_IF_ERROR(mse_check_args(a, false, &N, &C, &gs));
  const int64_t nb = N < kMseBlocks ? N : kMseBlocks;
  void* scratch = nullptr;
  const size_t bytes = static_cast<size_t>(nb > 0 ? nb : 1) * (sizeof(double) + sizeof(long long));
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(&scratch, bytes, 0)));
  double* part = static_cast<double*>(scratch);
  long long* cnt = reinterpret_cast<long long*>(part + (nb > 0 ? nb : 1));
  Status st = Status::Ok();
  if (nb > 0) {
    mse_partial_kernel<<<static_cast<unsigned>(nb), kBlock>>>(part, cnt, a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), N,
                                                              C, nb);
    st = cuda_launch_status(op);
  }
  if (st.ok()) {
    mse_final_kernel<<<1, 1>>>(a.t[3].f32(), part, cnt, nb, C);
    st = cuda_launch_status(op);
  }
  Status fr = cuda_status(op, cudaFreeAsync(scratch, 0));
  return st.ok() ? fr : st;
}

Status op_mse_backward_cuda(const OpArgs& a) {
  const char* op = "mse_backward";
  int64_t N = 0, C = 0;
  double gs = 1;
  MC_RETURN_IF_ERROR(mse_check_args(a, true, &N, &C, &gs));
  if (N <= 0) return Status::Ok();
  long long* K = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&K), sizeof(long long), 0)));
  mask_count_kernel<<<1, 1024>>>(K, a.t[2].f32(), N);
  Status st = cuda_launch_status(op);
  if (st.ok()) {
    mse_bwd_kernel<<<grid_for(N * C, kBlock), kBlock>>>(a.t[3].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), K, N,
                                                        C, static_cast<float>(gs));
    st = cuda_launch_status(op);
  }
  Status fr = cuda_status(op, cudaFreeAsync(K, 0));
  return st.ok() ? fr : st;
}

}  // namespace mc
