// Sinusoidal timestep embedding (DESIGN.md section 2): for t[N] and an even dim with half = dim/2,
//   f_k = exp(-ln(max_period) * k / half),  out[n] = [cos(t f_0..f_{half-1}), sin(t f_0..f_{half-1})]
// (cos first). BAGEL: dim 256, max_period 10000, t in [0, 1] (not x1000). No backward: t is data.
// Computed in double and rounded once (N*half sincos; tiny next to the Linear layers that follow, so
// no SIMD path: it would not pay). Cost: N*dim transcendental evaluations, 4*N*(dim + 1) bytes.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void timestep_embedding_cpu(float* out, const float* t, int64_t N, int64_t dim, double max_period);

// Argument checks (t[N], out[N, dim]), shared by the CPU and CUDA adapters.
Status timestep_check_args(const OpArgs& a, int64_t* N, int64_t* dim, double* max_period);
Status op_timestep_embedding_cpu(const OpArgs& a);
// CUDA versions (kernels/timestep/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_timestep_embedding_cuda(const OpArgs& a);

}  // namespace mc
