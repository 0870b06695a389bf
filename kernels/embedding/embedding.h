// Token embedding. Forward gathers rows: out[n, :] = table[ids[n], :] (ids[N] int32, table[V, D]).
// Backward scatter-adds into dtable (always accumulates: dtable[ids[n], :] += dout[n, :]).
// Determinism: the backward runs in parallel over column blocks of D; each block walks n = 0..N-1 in
// order, so repeated ids add in the same order whatever the thread count (bitwise reproducible).
// Every id is validated before anything is written: out of [0, V) -> E_ARG naming position and value.
// Cost: forward 0 FLOPs, 8*N*D + 4*N bytes; backward N*D FLOPs, 12*N*D + 4*N bytes.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

// ids must already be in [0, V) (see embedding_check_ids).
void embedding_forward_cpu(float* out, const int32_t* ids, const float* table, int64_t N, int64_t D);
void embedding_backward_cpu(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t D);
// OK, or E_ARG naming the first position whose id is outside [0, V).
Status embedding_check_ids(const char* op, const int32_t* ids, int64_t N, int64_t V);

// Shapes and dtypes of the two ops (backward: ids, dout, dtable), shared by the CPU and CUDA adapters.
Status embedding_check_args(const OpArgs& a, bool backward, int64_t* N, int64_t* V, int64_t* D);
Status op_embedding_forward_cpu(const OpArgs& a);
Status op_embedding_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/embedding/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_embedding_forward_cuda(const OpArgs& a);
Status op_embedding_backward_cuda(const OpArgs& a);

}  // namespace mc
