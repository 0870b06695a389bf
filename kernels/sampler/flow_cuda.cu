// CUDA flow_step and flow_noise (see flow.h). Grid (blocks per sample, samples): each block walks its
// share of one sample's elements with the same per-element formula as the CPU (double, stored as
// float). flow_step writes one double partial sum of squared deviations per block; a second kernel adds a sample's
// partials in a fixed order (deterministic) and writes std and logp. Offsets live on the device and are
// not read back: each sample's row range is clamped into [0, N] so that malformed offsets cannot reach
// outside the tensors (the CPU backend rejects them instead).
#include <string>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "flow.h"

namespace mc {
namespace {

constexpr int kBlock = 256;

__device__ __forceinline__ void sample_range(const int32_t* off, int64_t s, int64_t N, int64_t C, int64_t* lo, int64_t* hi) {
  int64_t a = off[s], b = off[s + 1];
  a = a < 0 ? 0 : (a > N ? N : a);
  b = b < a ? a : (b > N ? N : b);
  *lo = a * C;
  *hi = b * C;
}

__global__ void flow_step_kernel(const float* x, const float* v, const float* eps, float* xn, float* mean, const int32_t* off,
                                 const float* sig, const float* sig_next, int64_t N, int64_t C, int mode, int logp_only,
                                 double lvl, double smax, double* partial) {
  const int64_t s = blockIdx.y;
  int64_t lo, hi;
  sample_range(off, s, N, C, &lo, &hi);
  const FlowCoef k = flow_coefficients(mode, sig[s], sig_next[s], lvl, smax);
  const double nan = __longlong_as_double(0x7ff8000000000000LL);
  double acc = 0.0;
  for (int64_t j = lo + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < hi; j += (int64_t)gridDim.x * blockDim.x) {
    if (!k.valid) {
      mean[j] = static_cast<float>(nan);
      if (!logp_only) xn[j] = static_cast<float>(nan);
      continue;
    }
    const double m = k.cx * x[j] + k.cv * v[j];
    mean[j] = static_cast<float>(m);
    float next;
    if (logp_only) {
      next = xn[j];
    } else {
      next = static_cast<float>(mode == kFlowOde ? m : m + k.std * eps[j]);
      xn[j] = next;
    }
    const double d = static_cast<double>(next) - m;
    acc += d * d;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[s * gridDim.x + blockIdx.x] = acc;
}

__global__ void flow_finish_kernel(const double* partial, int nb, const int32_t* off, const float* sig, const float* sig_next,
                                   int64_t S, int64_t N, int64_t C, int mode, double lvl, double smax, float* std_out, float* logp) {
  for (int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; s < S; s += (int64_t)gridDim.x * blockDim.x) {
    int64_t lo, hi;
    sample_range(off, s, N, C, &lo, &hi);
    const FlowCoef k = flow_coefficients(mode, sig[s], sig_next[s], lvl, smax);
    if (!k.valid) {
      std_out[s] = __int_as_float(0x7fc00000);
      logp[s] = __int_as_float(0x7fc00000);
      continue;
    }
    double acc = 0.0;
    for (int b = 0; b < nb; ++b) acc += partial[s * nb + b];
    std_out[s] = static_cast<float>(k.std);
    logp[s] = static_cast<float>(flow_logp(mode, acc, hi - lo, k.std));
  }
}

__global__ void flow_noise_kernel(float* out, const int32_t* off, const int32_t* keys, int64_t N, int64_t C, uint64_t seed, int32_t step) {
  const int64_t s = blockIdx.y;
  int64_t lo, hi;
  sample_range(off, s, N, C, &lo, &hi);
  const int64_t n = hi - lo;
  const uint64_t stream = flow_stream(keys[s], step);
  float* o = out + lo;
  for (int64_t blk = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; blk * 4 < n; blk += (int64_t)gridDim.x * blockDim.x) {
    float z[4];
    philox_normal4(seed, static_cast<uint64_t>(blk), stream, z);
    for (int l = 0; l < 4; ++l) {
      const int64_t j = blk * 4 + l;
      if (j < n) o[j] = z[l];
    }
  }
}

constexpr int64_t kMaxGridY = 65535;

}  // namespace

Status op_flow_step_cuda(const OpArgs& a) {
  const char* op = "flow_step";
  MC_RETURN_IF_ERROR(check_flow_step_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], S = a.t[5].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", S <= kMaxGridY, "at most 65535 samples per call on CUDA", std::to_string(S)));
  if (S == 0) return Status::Ok();
  const int mode = static_cast<int>(a.i[0]);
  const unsigned nb = flow_blocks_per_sample(N * C, S, 4);
  double* partial = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&partial), static_cast<size_t>(S) * nb * sizeof(double), 0)));
  flow_step_kernel<<<dim3(nb, static_cast<unsigned>(S)), kBlock>>>(a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), a.t[3].f32(), a.t[4].f32(),
                                                                     a.t[5].i32(), a.t[6].f32(), a.t[7].f32(), N, C, mode,
                                                                     static_cast<int>(a.i[1]), a.f[0], a.f[1], partial);
  Status st = cuda_launch_status(op);
  if (st.ok()) {
    flow_finish_kernel<<<grid_for(S, kBlock), kBlock>>>(partial, static_cast<int>(nb), a.t[5].i32(), a.t[6].f32(), a.t[7].f32(), S, N, C,
                                                       mode, a.f[0], a.f[1], a.t[8].f32(), a.t[9].f32());
    st = cuda_launch_status(op);
  }
  Status fr = cuda_status(op, cudaFreeAsync(partial, 0));
  return st.ok() ? fr : st;
}

Status op_flow_noise_cuda(const OpArgs& a) {
  const char* op = "flow_noise";
  MC_RETURN_IF_ERROR(check_flow_noise_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], S = a.t[1].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", S <= kMaxGridY, "at most 65535 samples per call on CUDA", std::to_string(S)));
  if (S == 0 || N * C == 0) return Status::Ok();
  const unsigned nb = flow_blocks_per_sample((N * C + 3) / 4, S, 1);
  flow_noise_kernel<<<dim3(nb, static_cast<unsigned>(S)), kBlock>>>(a.t[0].f32(), a.t[1].i32(), a.t[2].i32(), N, C,
                                                                      static_cast<uint64_t>(a.i[0]),
                                                                      static_cast<int32_t>(static_cast<uint32_t>(a.i[1])));
  return cuda_launch_status(op);
}

}  // namespace mc
