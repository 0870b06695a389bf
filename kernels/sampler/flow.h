// Rectified-flow sampling steps for a packed batch of samples (DESIGN.md sections 3 and 4), with
// per-sample timesteps. Sample s owns rows [offsets[s], offsets[s+1]) of x, v, eps, x_next, mean
// ([N, C]); sigma[s] = t_i and sigma_next[s] = t_{i+1} (t = 1 is pure noise, dt = sigma_next - sigma).
//
//   ode:  mean = x + dt v                                   x_next = mean, std = 0, logp = 0
//   sde:  s_t  = a sqrt(sigma / (1 - (sigma == 1 ? sigma_max : sigma)))       (Flow-GRPO's std_dev_t)
//         mean = x (1 + s_t^2 dt / (2 sigma)) + v (1 + s_t^2 (1 - sigma) / (2 sigma)) dt
//         std  = s_t sqrt(-dt)                              x_next = mean + std eps
//         logp = mean over the sample's elements of -(x_next - mean)^2 / (2 std^2) - log std - log sqrt(2 pi)
//   cps:  std  = sigma_next sin(a pi / 2);  x0 = x - sigma v;  x1 = x + (1 - sigma) v
//         mean = x0 (1 - sigma_next) + x1 sqrt(sigma_next^2 - std^2)     x_next = mean + std eps
//         logp = mean over the sample's elements of -(x_next - mean)^2    (constants dropped, as Flow-CPS)
//
// `std` is the standard deviation of x_next given x (Flow-GRPO returns s_t without sqrt(-dt) for the
// sde form). With logp_only, x_next is an input (a recorded rollout) and only mean, std and logp are
// written. Every mean is a per-sample affine map mean = cx x + cv v, so the coefficients are computed
// once per sample, in double, by flow_coefficients below (the same code on CPU and GPU); elements are
// computed in double and stored in float; the squared deviations accumulate in double. A sample whose timesteps are
// out of range (ode: 0 <= sigma_next, sigma <= 1; sde and cps: 0 <= sigma_next < sigma <= 1) gets NaN
// in every output. Cost ~8 FLOPs and 20 bytes (logp_only 16) per element: memory bound.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/philox.h"
#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

enum FlowMode : int32_t { kFlowOde = 0, kFlowSde = 1, kFlowCps = 2 };

struct FlowCoef {
  double cx, cv, std;
  bool valid;
};

MC_HD FlowCoef flow_coefficients(int mode, double sigma, double sigma_next, double a, double sigma_max) {
  FlowCoef k{1.0, 0.0, 0.0, false};
  const double dt = sigma_next - sigma;
  if (mode == kFlowOde) {
    k.valid = sigma_next >= 0.0 && sigma <= 1.0 && sigma >= 0.0 && sigma_next <= 1.0;
    k.cv = dt;
    return k;
  }
  k.valid = sigma_next >= 0.0 && sigma_next < sigma && sigma <= 1.0;
  if (!k.valid) return k;
  if (mode == kFlowSde) {
    const double st = a * sqrt(sigma / (1.0 - (sigma == 1.0 ? sigma_max : sigma)));
    k.cx = 1.0 + st * st * dt / (2.0 * sigma);
    k.cv = (1.0 + st * st * (1.0 - sigma) / (2.0 * sigma)) * dt;
    k.std = st * sqrt(-dt);
  } else {
    const double sd = sigma_next * sin(a * 3.14159265358979323846 / 2.0);
    const double c1 = sqrt(fmax(sigma_next * sigma_next - sd * sd, 0.0));
    // mean = (x - sigma v)(1 - sigma_next) + (x + (1 - sigma) v) c1
    k.cx = (1.0 - sigma_next) + c1;
    k.cv = -sigma * (1.0 - sigma_next) + (1.0 - sigma) * c1;
    k.std = sd;
  }
  return k;
}

// A sample's log-probability from the sum of (x_next - mean)^2 over its n elements (the mean of the
// per-element terms, with the constant terms taken out of the sum).
MC_HD double flow_logp(int mode, double sum_sq, int64_t n, double std) {
  if (n <= 0 || mode == kFlowOde) return 0.0;
  const double msq = sum_sq / static_cast<double>(n);
  if (mode == kFlowSde) return -msq / (2.0 * std * std) - log(std) - 0.91893853320467274178;  // log sqrt(2 pi)
  return -msq;
}

// The Philox stream of sample key k at step i: (k, i) -> one 64-bit stream, so the noise of a sample
// depends on (seed, key, step, element) only, never on the batch it was drawn in.
MC_HD uint64_t flow_stream(int32_t key, int32_t step) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(key)) << 32) | static_cast<uint32_t>(step);
}

// CUDA launch shape of the per-sample kernels (flow_step, flow_noise, grpo_loss): grid (blocks per
// sample, samples), about `per_thread` items per thread of a 256-thread block on average, 1 to 64
// blocks per sample (the per-block partial sums stay small).
inline unsigned flow_blocks_per_sample(int64_t total, int64_t samples, int64_t per_thread) {
  const int64_t avg = samples > 0 ? total / samples : 0;
  int64_t nb = (avg + 256 * per_thread - 1) / (256 * per_thread);
  return static_cast<unsigned>(nb < 1 ? 1 : (nb > 64 ? 64 : nb));
}

// tensors: x, v, eps, x_next, mean [N, C] f32; offsets [S+1] i32; sigma, sigma_next [S] f32; std, logp [S] f32
// ints: mode (0 ode, 1 sde, 2 cps), logp_only (0/1); floats: noise_level a, sigma_max
Status op_flow_step_cpu(const OpArgs& a);
Status op_flow_step_cuda(const OpArgs& a);  // kernels/sampler/flow_cuda.cu (CUDA addon only)

// tensors: out [N, C] f32, offsets [S+1] i32, keys [S] i32; ints: seed, step.
// Element j of sample s ((row - offsets[s]) * C + c) is Philox normal j of (seed, flow_stream(keys[s], step)).
Status op_flow_noise_cpu(const OpArgs& a);
Status op_flow_noise_cuda(const OpArgs& a);

// Shared argument checks of both backends (everything but the device-resident offsets and timesteps).
Status check_flow_step_args(const char* op, const OpArgs& a);
Status check_flow_noise_args(const char* op, const OpArgs& a);

}  // namespace mc
