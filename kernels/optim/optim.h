// Fused multi-tensor AdamW with global gradient-norm clipping (PyTorch semantics).
// Pass 1: norm = sqrt(sum over every grad of g^2) in double; chunks of a fixed size (independent of
// the thread count) each produce a partial, added in chunk order: deterministic. norm -> gnorm[0].
// If norm is not finite: E_NAN naming the first tensor holding a non-finite gradient, and NOTHING else
// changes (params and moments untouched), so training can stop with its last good state.
// clip = max_grad_norm > 0 ? min(1, max_grad_norm / (norm + 1e-6)) : 1.
// Pass 2, per element (grads are read, never written): g' = clip*g
//   m = b1*m + (1-b1)*g'          v = b2*v + (1-b2)*g'^2
//   p *= 1 - lr*wd                (only tensors whose decay flag is 1; decoupled weight decay)
//   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)     (step is 1-based)
// Cost: pass 1 2*P FLOPs, 4*P bytes; pass 2 ~15*P FLOPs, 28*P bytes (P = total parameter count).
#pragma once
#include <cstdint>
#include <vector>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

struct AdamWTensor {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  bool decay;
};

struct AdamWParams {
  int64_t step;  // 1-based
  double lr, beta1, beta2, eps, weight_decay, max_grad_norm;
};

// The per-step coefficients of pass 2 (float, as both devices use them), from the hyper-parameters and
// the pre-clip global norm; and the error for a non-finite norm (bad: the first tensor with a
// non-finite partial, -1 if none is known). Shared by the CPU and CUDA implementations.
struct AdamWCoef {
  float b1, omb1, b2, omb2, step_size, inv_sqrt_bc2, eps, decay_mul, clip;
};
AdamWCoef adamw_coef(const AdamWParams& hp, double norm);
Status adamw_nonfinite(int bad, double norm);

// Writes the pre-clip global norm to *gnorm. E_NAN (and nothing else written) if it is not finite.
Status adamw_cpu(const AdamWTensor* ts, int count, const AdamWParams& hp, float* gnorm);

// Checks and unpacks the adamw op's arguments (the CPU and CUDA adapters share it).
Status adamw_unpack(const OpArgs& a, std::vector<AdamWTensor>* out, AdamWParams* params, float** gnorm);
Status op_adamw_cpu(const OpArgs& a);
// CUDA versions (kernels/optim/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_adamw_cuda(const OpArgs& a);

}  // namespace mc
