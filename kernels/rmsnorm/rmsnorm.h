// RMSNorm over the last D elements: y = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps), per row.
// Row norm (x[N,D], w[D]) and per-head q/k norm (x[N,H,hd], w[hd]) are the same op: R = numel(x)/D
// rows, D = numel(w). Forward also stores rstd[R] for the backward.
// Backward: xhat = x*rstd, g = dy*w, dx = rstd * (g - xhat * mean(g*xhat)), dw (+)= sum_rows dy*xhat.
// dw is reduced deterministically: rows are split into a fixed number of blocks that depends only on
// R (never on the thread count), each block sums its rows into its own partial row, and the partials
// are added in block order (parallel over columns).
// Cost: forward 4*R*D FLOPs, 4*(2*R*D + D + R) bytes; backward ~9*R*D FLOPs, 4*(3*R*D + D + R) bytes
// plus the dw partials (nblocks*D floats). Memory-bound on CPU; SIMD keeps it at bandwidth.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void rmsnorm_forward_cpu(float* y, float* rstd, const float* x, const float* w, int64_t R, int64_t D, float eps);
// dw: overwritten, or added to when accumulate_dw is true.
void rmsnorm_backward_cpu(float* dx, float* dw, const float* x, const float* w, const float* rstd, const float* dy,
                          int64_t R, int64_t D, bool accumulate_dw);

// Argument checks of both ops, shared by the CPU and CUDA adapters (identical errors on either device).
struct RmsArgs {
  int64_t R = 0, D = 0;
  float eps = 0.f;        // forward
  bool acc = false;       // backward: accumulate into dw
};
Status rmsnorm_check_args(const OpArgs& a, bool backward, RmsArgs* p);
Status op_rmsnorm_forward_cpu(const OpArgs& a);
Status op_rmsnorm_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/rmsnorm/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_rmsnorm_forward_cuda(const OpArgs& a);
Status op_rmsnorm_backward_cuda(const OpArgs& a);

}  // namespace mc
