// Philox-based fill (common/philox.h): randn. Element j of a fill with (seed, stream) is the same on
// every backend and for every thread split. The sampler's per-sample noise (flow_noise,
// kernels/sampler/flow.h) draws from the same generator with one stream per (sample key, step).
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void randn_cpu(float* x, int64_t n, uint64_t seed, uint64_t stream, float mean, float std);

Status op_randn_cpu(const OpArgs& a);
Status op_randn_cuda(const OpArgs& a);  // kernels/random/cuda.cu (CUDA addon only)

}  // namespace mc
