// Rotary position embedding, Qwen2 rotate-half form: for head dim hd and i < hd/2, dims (i, i + hd/2)
// form a pair rotated by angle pos[n] * inv_freq_i, inv_freq_i = theta^(-2i/hd):
//   y[i]        = x[i] * cos - x[i+hd/2] * sin
//   y[i+hd/2]   = x[i+hd/2] * cos + x[i] * sin
// Backward is the inverse rotation (sin -> -sin). Positions are given per token (int32), so packed
// sequences with shared image positions need no special case. x[N,H,hd] -> y[N,H,hd]; y may alias x.
// Angles are computed in double (pos * inv_freq, then sin/cos in double — libm on the scalar path, a
// vectorised FMA Cody-Waite + fdlibm-polynomial sincos on AVX2/AVX-512 — rounded once to float), so
// positions of 1e5 and far beyond keep full float accuracy. One cos/sin table per token is shared by
// its H heads and reused while consecutive tokens share a position (image tokens).
// Cost: 6*N*H*hd/2 = 3*N*H*hd FLOPs + N*hd/2 double sincos (~40 FLOPs each); 8*N*H*hd + 4*N bytes.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

// inverse = false: forward rotation; true: backward (rotation by -angle). y may alias x.
void rope_cpu(float* y, const float* x, const int32_t* pos, int64_t N, int64_t H, int64_t hd, double theta,
              bool inverse);

// Argument checks of both ops (xn / yn: the input and output names, x / y or dy / dx), shared by the CPU
// and CUDA adapters.
struct RopeArgs {
  int64_t N = 0, H = 0, hd = 0;
  double theta = 0;
};
Status rope_check_args(const char* op, const char* xn, const char* yn, const OpArgs& a, RopeArgs* p);
Status op_rope_forward_cpu(const OpArgs& a);
Status op_rope_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/rope/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_rope_forward_cuda(const OpArgs& a);
Status op_rope_backward_cuda(const OpArgs& a);

}  // namespace mc
