// Losses.
// cross_entropy: fused softmax cross-entropy over the M given rows of logits[M, V] (the caller selects
// the loss positions). Per row with target t: loss = logsumexp(x) - x[t] (max subtracted first, sums in
// float lanes, final log in double); dlogits = (softmax(x) - onehot(t)) * grad_scale. Rows with
// t = -1 are ignored: loss 0 and a zero gradient row (their logits are not read). Targets outside
// [-1, V) -> E_ARG naming the row (checked before anything is written); a non-finite logit in a
// non-ignored row -> E_NAN naming the first such row. Losses are per row: the caller reduces them.
// Cost: ~5*M*V FLOPs + M*V exp; bytes 4*(2*M*V reads + 2*M*V writes) (exp values are staged in dlogits).
//
// mse_forward / mse_backward: per-token mean square over the C channels, averaged over tokens with
// mask > 0 (DESIGN.md section 3: flow-matching velocity loss over noisy tokens):
//   K = #{n : mask[n] > 0}, loss = (1/K) * sum_{mask>0} (1/C) * sum_c (pred - target)^2
//   dpred = grad_scale * 2 * (pred - target) / (C*K) on masked tokens, 0 elsewhere.
// K = 0 -> loss 0 and a zero gradient. The forward reduces per-block double partials in block order
// (blocks fixed by N only): deterministic. Cost: 3*N*C FLOPs, 8*N*C bytes (backward 12*N*C).
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

// Validates targets first (E_ARG), then computes; returns E_NAN naming the first non-finite row.
Status cross_entropy_cpu(float* losses, float* dlogits, const float* logits, const int32_t* targets, int64_t M,
                         int64_t V, float grad_scale);
float mse_forward_cpu(const float* pred, const float* target, const float* mask, int64_t N, int64_t C);
void mse_backward_cpu(float* dpred, const float* pred, const float* target, const float* mask, int64_t N, int64_t C,
                      float grad_scale);

// Argument checks shared by the CPU and CUDA adapters.
Status cross_entropy_check(const OpArgs& a, int64_t* M, int64_t* V);
// mse_forward (loss[1]) / mse_backward (dpred, grad_scale): every argument check, shared by both devices.
Status mse_check_args(const OpArgs& a, bool backward, int64_t* N, int64_t* C, double* grad_scale);
Status op_cross_entropy_cpu(const OpArgs& a);
Status op_mse_forward_cpu(const OpArgs& a);
Status op_mse_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/loss/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_cross_entropy_cuda(const OpArgs& a);
Status op_mse_forward_cuda(const OpArgs& a);
Status op_mse_backward_cuda(const OpArgs& a);

}  // namespace mc
