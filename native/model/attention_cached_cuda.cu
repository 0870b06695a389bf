// CUDA attention for cached inference (see attention_cached.h): decoding and denoising passes have few
// queries against a long cache, so one warp per (query, head) walks that query's visible key ranges
// with an online softmax in fp32: per key, lanes compute partial dot products over their head dims
// (c = lane, lane + 32, ...), a butterfly sum gives the score, and each lane rescales and accumulates
// its dims of V. No score row is stored. Bytes: each visible K and V row once per (query, head).
#include <cmath>
#include <cstdint>

#include "../../kernels/common/cuda_check.cuh"
#include "attention_cached.h"

namespace mc {
namespace {

constexpr int kWarps = 4;           // warps per block
constexpr int kMaxPerLane = 8;      // hd <= 256

__global__ void cached_attn_kernel(float* out, const float* q, const float* k, const float* v, const int32_t* off,
                                   const int32_t* rng, int64_t M, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  const int lane = threadIdx.x & 31;
  const int64_t w = blockIdx.x * (int64_t)kWarps + (threadIdx.x >> 5);
  if (w >= M * H) return;
  const int64_t m = w / H, h = w % H, g = h / (H / Hkv);
  const float* qi = q + (m * H + h) * hd;
  float qr[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int t = 0; t < kMaxPerLane; ++t) {
    const int64_t c = lane + 32 * t;
    qr[t] = c < hd ? qi[c] * scale : 0.f;
    acc[t] = 0.f;
  }
  float mx = -INFINITY, den = 0.f;
  for (int32_t r = off[m]; r < off[m + 1]; ++r) {
    for (int64_t j = rng[2 * r]; j < rng[2 * r + 1]; ++j) {
      const float* kj = k + (j * Hkv + g) * hd;
      float d = 0.f;
#pragma unroll
      for (int t = 0; t < kMaxPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        if (c < hd) d += qr[t] * kj[c];
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
      const float nm = fmaxf(mx, d);
      const float corr = expf(mx - nm);  // mx = -inf on the first key: corr = 0, den and acc are 0
      const float p = expf(d - nm);
      den = den * corr + p;
      const float* vj = v + (j * Hkv + g) * hd;
#pragma unroll
      for (int t = 0; t < kMaxPerLane; ++t) {
        const int64_t c = lane + 32 * t;
        if (c < hd) acc[t] = acc[t] * corr + p * vj[c];
      }
      mx = nm;
    }
  }
  const float inv = den > 0.f ? 1.f / den : 0.f;
  float* o = out + (m * H + h) * hd;
#pragma unroll
  for (int t = 0; t < kMaxPerLane; ++t) {
    const int64_t c = lane + 32 * t;
    if (c < hd) o[c] = acc[t] * inv;
  }
}

}  // namespace

Status attention_cached_forward_cuda(float* out, const float* q, const float* k, const float* v, const int32_t* off,
                                     const int32_t* rng, int64_t M, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  const char* op = "attention_cached";
  if (hd < 1 || hd > 32 * kMaxPerLane)
    return Status::Error(Code::E_ARG, std::string(op) + ": head_dim expected 1..256 on CUDA, received " + std::to_string(hd));
  if (Hkv < 1 || H % Hkv != 0)
    return Status::Error(Code::E_ARG, std::string(op) + ": heads expected a multiple of kv_heads");
  if (M <= 0) return Status::Ok();
  const int64_t warps = M * H;
  cached_attn_kernel<<<static_cast<unsigned>((warps + kWarps - 1) / kWarps), 32 * kWarps>>>(out, q, k, v, off, rng, M, H,
                                                                                           Hkv, hd, scale);
  return cuda_launch_status(op);
}

}  // namespace mc
