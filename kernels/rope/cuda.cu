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
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 0, 1));
  const TensorView &x = a.t[0], &pos = a.t[1], &y = a.t[2];
  MC_RETURN_IF_ERROR(check_dtype(op, xn, x, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "pos", pos, DType::I32));
  MC_RETURN_IF_ERROR(check_dtype(op, yn, y, DType::F32));
  MC_RETURN_IF_ERROR(check_arg(op, xn, x.ndim == 3 && x.dim(2) > 0 && x.dim(2) % 2 == 0,
                               "shape [N, H, head_dim] with an even head_dim", "shape " + x.shape_str()));
  const int64_t N = x.dim(0), H = x.dim(1), hd = x.dim(2);
  MC_RETURN_IF_ERROR(check_numel(op, "pos", pos, N));
  MC_RETURN_IF_ERROR(check_numel(op, yn, y, x.numel()));
  if (y.data != x.data) {
    const char* xb = static_cast<const char*>(x.data);
    const char* yb = static_cast<const char*>(y.data);
    const int64_t bytes = x.numel() * 4;
    MC_RETURN_IF_ERROR(check_arg(op, yn, yb + bytes <= xb || xb + bytes <= yb,
                                 "the same buffer as " + std::string(xn) + " or a disjoint one",
                                 "a partially overlapping buffer"));
  }
  const double theta = a.f[0];
  MC_RETURN_IF_ERROR(
      check_arg(op, "theta", std::isfinite(theta) && theta > 0.0, "a finite theta > 0", std::to_string(theta)));
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
