// CUDA cfg_combine: one block per token for the text/image guidance and the per-token renorms (row
// norms in double, block reduction). Global renorm: the token kernel also stores each token's double
// sums of v^2 and out^2; one block adds them in a fixed order (deterministic) and writes the scale,
// and a grid-stride kernel applies it.
#include <string>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "sampler.h"

namespace mc {
namespace {

constexpr int kBlock = 256;

__device__ __forceinline__ float clamp_scale(double num, double den, float lo) {
  const double s = num / (den + 1e-8);
  return static_cast<float>(fmin(1.0, fmax(static_cast<double>(lo), s)));
}

// Each thread owns columns c = threadIdx.x + k*blockDim.x of its token: writes and re-reads of o[c]
// stay within one thread; only the norms need the block.
__global__ void cfg_token_kernel(float* out, const float* v, const float* vt, const float* vi, int64_t T, int64_t C,
                                 float s_text, float s_img, float renorm_min, int mode, double* sums) {
  for (int64_t t = blockIdx.x; t < T; t += gridDim.x) {
    const float* a = v + t * C;
    const float* at = vt + t * C;
    const float* ai = vi + t * C;
    float* o = out + t * C;
    double na = 0.0, no = 0.0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const float val = at[c] + s_text * (a[c] - at[c]);
      o[c] = val;
      na += static_cast<double>(a[c]) * a[c];
      no += static_cast<double>(val) * val;
    }
    na = block_sum(na);
    if (mode == kRenormTextChannel) {
      no = block_sum(no);
      const float sc = clamp_scale(sqrt(na), sqrt(no), renorm_min);
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] *= sc;
    }
    if (s_img > 1.0f)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = ai[c] + s_img * (o[c] - ai[c]);
    if (mode == kRenormChannel || mode == kRenormGlobal) {
      double n2 = 0.0;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) n2 += static_cast<double>(o[c]) * o[c];
      n2 = block_sum(n2);
      if (mode == kRenormChannel) {
        const float sc = clamp_scale(sqrt(na), sqrt(n2), renorm_min);
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] *= sc;
      } else if (threadIdx.x == 0) {
        sums[2 * t] = na;
        sums[2 * t + 1] = n2;
      }
    }
  }
}

__global__ void cfg_global_scale_kernel(float* scale, const double* sums, int64_t T, float renorm_min) {
  double nv = 0.0, no = 0.0;
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    nv += sums[2 * t];
    no += sums[2 * t + 1];
  }
  nv = block_sum(nv);
  no = block_sum(no);
  if (threadIdx.x == 0) *scale = clamp_scale(sqrt(nv), sqrt(no), renorm_min);
}

__global__ void cfg_apply_scale_kernel(float* out, const float* scale, int64_t n) {
  const float sc = *scale;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] *= sc;
}

}  // namespace

// tensors: v, vt, vi, out [T, C]; ints: mode; floats: s_text, s_img, renorm_min
Status op_cfg_combine_cuda(const OpArgs& a) {
  const char* op = "cfg_combine";
  MC_RETURN_IF_ERROR(check_count(op, a, 4, 1, 3));
  const char* names[4] = {"v", "vNoText", "vNoImage", "out"};
  for (int i = 0; i < 4; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], DType::F32));
  if (a.t[0].ndim != 2)
    return Status::Error(Code::E_SHAPE, "cfg_combine: argument 'v' expected [T, C], received " + a.t[0].shape_str());
  for (int i = 1; i < 4; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], a.t[0].numel()));
  MC_RETURN_IF_ERROR(check_arg(op, "renorm", a.i[0] >= 0 && a.i[0] <= 2, "0 (global), 1 (channel) or 2 (text_channel)",
                               std::to_string(a.i[0])));
  const int64_t T = a.t[0].shape[0], C = a.t[0].shape[1];
  const int mode = static_cast<int>(a.i[0]);
  const float s_text = static_cast<float>(a.f[0]), s_img = static_cast<float>(a.f[1]);
  const float renorm_min = static_cast<float>(a.f[2]);
  if (T <= 0) return Status::Ok();
  double* sums = nullptr;  // [T, 2] per-token sums for the global renorm, then the scale
  if (mode == kRenormGlobal)
    MC_RETURN_IF_ERROR(cuda_status(
        op, cudaMallocAsync(reinterpret_cast<void**>(&sums), static_cast<size_t>(2 * T + 1) * sizeof(double), 0)));
  const unsigned grid = static_cast<unsigned>(T > (1LL << 30) ? (1LL << 30) : T);
  cfg_token_kernel<<<grid, kBlock>>>(a.t[3].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), T, C, s_text, s_img,
                                     renorm_min, mode, sums);
  Status st = cuda_launch_status(op);
  if (mode == kRenormGlobal) {
    float* scale = reinterpret_cast<float*>(sums + 2 * T);
    if (st.ok()) {
      cfg_global_scale_kernel<<<1, 1024>>>(scale, sums, T, renorm_min);
      st = cuda_launch_status(op);
    }
    if (st.ok() && C > 0) {
      cfg_apply_scale_kernel<<<grid_for(T * C, kBlock), kBlock>>>(a.t[3].f32(), scale, T * C);
      st = cuda_launch_status(op);
    }
    Status fr = cuda_status(op, cudaFreeAsync(sums, 0));
    if (st.ok()) st = fr;
  }
  return st;
}

}  // namespace mc
