// CUDA RoPE (rotate-half): one block per token; each thread owns pairs (i, i + hd/2), computes the
// angle pos * theta^(-2i/hd) and its sin/cos in double (rounded once to float, as the CPU), then
// rotates that pair in every head. Each pair is read before it is written by the same thread, so
// y may alias x (in-place).
#include <cmath>
#include <string>

#include "../common/cuda_check.cuh"
#include "rope.h"

namespace mc {
namespace {

constexpr int kBlock = 128;

__global__ void rope_kernel(float* y, const float* x, const int32_t* pos, int64_t N, int64_t H, int64_t hd,
                            double theta, double sign) {
  const int64_t half = hd / 2, row = H * hd;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const double p = static_cast<double>(pos[n]);
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
      const double inv_freq = pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
      double sd, cd;
      sincos(p * inv_freq, &sd, &cd);
      const float c = static_cast<float>(cd), s = static_cast<float>(sign * sd);
      for (int64_t h = 0; h < H; ++h) {
        const int64_t o = n * row + h * hd + i;
        const float x1 = x[o], x2 = x[o + half];
        y[o] = x1 * c - x2 * s;
        y[o + half] = x2 * c + x1 * s;
      }
    }
  }
}

Status rope_op(const char* op, const char* xn, const char* yn, const OpArgs& a, bool inverse) {
  RopeArgs p;
  MC_RETURN_IF_ERROR(rope_check_args(op, xn, yn, a, &p));
  const int64_t N = p.N, H = p.H, hd = p.hd;
  const double theta = p.theta;
  const TensorView &x = a.t[0], &pos = a.t[1], &y = a.t[2];
  if (N > 0 && H > 0) {
    const unsigned grid = static_cast<unsigned>(N > (1LL << 30) ? (1LL << 30) : N);
    rope_kernel<<<grid, kBlock>>>(y.f32(), x.f32(), pos.i32(), N, H, hd, theta, inverse ? -1.0 : 1.0);
  }
  return cuda_launch_status(op);
}

}  // namespace

Status op_rope_forward_cuda(const OpArgs& a) { return rope_op("rope_forward", "x", "y", a, false); }
Status op_rope_backward_cuda(const OpArgs& a) { return rope_op("rope_backward", "dy", "dx", a, true); }

}  // namespace mc
