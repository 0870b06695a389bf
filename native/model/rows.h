// Row moves of the MoT model between expert order ([N_e, D] per expert) and sequence order ([N, D]):
// dst[dst_idx ? dst_idx[i] : i, :] (+)= src[src_idx ? src_idx[i] : i, :] for i < n (destination rows
// distinct, so the order of the copies does not matter; `add` accumulates), and the 2-D position-table add
// dst[i, :] += table[idx[i], :]. Bytes: 8*n*D (copy), 12*n*D (add). CPU: parallel over rows; CUDA
// (rows_cuda.cu): one grid-stride pass, float4 when D % 4 == 0.
#pragma once
#include <cstdint>

#include "../../kernels/common/status.h"

namespace mc {

void copy_rows_cpu(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D,
                   bool add);
void add_rows_cpu(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D);
Status copy_rows_cuda(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D,
                      bool add);
Status add_rows_cuda(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D);

}  // namespace mc
