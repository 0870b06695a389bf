// Philox-based fills (common/philox.h): randn and rand. Element j of a fill with (seed, stream) is
// the same on every backend and for every thread split, so noise for rectified flow and the SDE
// sampler is reproducible across CPU and GPU and across resumed runs.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void randn_cpu(float* x, int64_t n, uint64_t seed, uint64_t stream, float mean, float std);

Status op_randn_cpu(const OpArgs& a);
Status op_randn_cuda(const OpArgs& a);  // kernels/random/cuda.cu (CUDA addon only)

}  // namespace mc
