// SwiGLU gate of the MLP: h = silu(gate) * up, silu(g) = g * sigmoid(g), elementwise over [N, F].
// Backward with s = sigmoid(g): dgate = dh * up * s * (1 + g * (1 - s)), dup = dh * g * s.
// Outputs are overwritten (no accumulate). Flat over N*F; SIMD exp (common/vmath.h).
// Cost: forward ~ 5 FLOPs + 1 exp per element, 12 bytes/element; backward ~ 10 FLOPs + 1 exp,
// 20 bytes/element. Memory-bound once the exp is vectorised.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void swiglu_forward_cpu(float* h, const float* gate, const float* up, int64_t n);
void swiglu_backward_cpu(float* dgate, float* dup, const float* gate, const float* up, const float* dh, int64_t n);

// Argument checks of both ops (element count n), shared by the CPU and CUDA adapters.
Status swiglu_check_args(const OpArgs& a, bool backward, int64_t* n);
Status op_swiglu_forward_cpu(const OpArgs& a);
Status op_swiglu_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/swiglu/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_swiglu_forward_cuda(const OpArgs& a);
Status op_swiglu_backward_cuda(const OpArgs& a);

}  // namespace mc
