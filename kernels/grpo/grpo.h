// Flow-GRPO's advantage and policy-loss kernels (DESIGN.md section 4; yifan123/flow_grpo's
// PerPromptStatTracker and train loop).
//
// grpo_advantages: B rewards r with group ids g in [0, G) (a group = the rollouts of one prompt):
//   mean_g, std_g = the population mean and std of group g's rewards
//   std = std_g (per group) or the population std of all B rewards (global_std)
//   A = clip((r - mean_g) / (std + eps), -clip_max, clip_max)            (eps 1e-4 in Flow-GRPO)
//   a group whose own std is <= std_threshold (default 0: all rewards equal; a group of one) is
//   flagged: its samples get A = 0 and flag 1, never NaN.
//   stats = [share of non-empty groups flagged (the zero-std ratio), mean r, population std of r,
//            non-empty groups]. Sums in double.
//
// grpo_loss: one trained timestep of B samples (sample b owns rows [offsets[b], offsets[b+1]) of the
// [N, C] tensors), the SDE step of flow_step (sde or cps form, kernels/sampler/flow.h) as the policy:
//   mean = cx(sigma, sigma_next) x + cv(sigma, sigma_next) v       (v: the policy's predicted velocity)
//   logp_b = flow_step's log-probability of the recorded x_next under that mean
//   ratio_b = exp(logp_b - logp_old_b)
//   L_b = max(-A_b ratio_b, -A_b clip(ratio_b, 1 - clip_range, 1 + clip_range))
//   KL_b = mean over b's elements of (mean - mean_ref)^2 / (2 std_b^2)   (std_b: the transition std)
//   loss = mean_b L_b + beta * mean_b KL_b
//   dv = dloss/dv = (1/B) [dL_b/dlogp_b * dlogp_b/dmean + beta dKL_b/dmean] * cv, with
//   dL_b/dlogp_b = -A_b ratio_b unless the clipped term is the larger and ratio_b is outside the range
//   (then 0); dlogp/dmean_j = (x_next_j - mean_j) / (n_b std_b^2) (sde) or 2 (x_next_j - mean_j) / n_b
//   (cps); dKL_b/dmean_j = (mean_j - mean_ref_j) / (n_b std_b^2).
//   stats = [loss, mean_b L_b, mean_b KL_b, clip fraction (|ratio - 1| > clip_range), approx KL
//            0.5 mean_b (logp_b - logp_old_b)^2]. Flow-GRPO divides its KL by s_t^2 (the std before
//   the sqrt(-dt) factor); here the transition's own std is used, so its beta is ours times -dt.
//   Per-sample sums in double; ~10 FLOPs and 20-24 bytes per element (memory bound).
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

// tensors: rewards [B] f32, groups [B] i32, adv [B] f32, flags [B] i32, stats [4] f32
// ints: G, global_std (0/1); floats: eps, clip_max, std_threshold
Status op_grpo_advantages_cpu(const OpArgs& a);
Status op_grpo_advantages_cuda(const OpArgs& a);

// tensors: v, x, x_next, mean_ref [N, C] f32 (mean_ref read only when beta > 0), offsets [B+1] i32,
//          sigma, sigma_next, logp_old, adv [B] f32, dv [N, C] f32, logp [B] f32, stats [5] f32
// ints: mode (1 sde, 2 cps); floats: noise_level, sigma_max, clip_range, beta
Status op_grpo_loss_cpu(const OpArgs& a);
Status op_grpo_loss_cuda(const OpArgs& a);

Status check_grpo_advantages_args(const char* op, const OpArgs& a);
Status check_grpo_loss_args(const char* op, const OpArgs& a);

// The per-sample part of grpo_loss, shared by both backends: from logp_b and the sample's KL sum,
// the loss terms and dL_b/dlogp_b.
struct GrpoSample {
  double ratio, term, kl, dlogp;
  bool clipped;
};

#if defined(__CUDACC__)
#define MC_GRPO_HD __host__ __device__ __forceinline__
#else
#define MC_GRPO_HD inline
#endif

MC_GRPO_HD GrpoSample grpo_sample(double logp, double logp_old, double adv, double clip_range, double kl_sum, int64_t n,
                                  double std) {
  GrpoSample r;
  r.ratio = exp(logp - logp_old);
  const double lo = 1.0 - clip_range, hi = 1.0 + clip_range;
  const double rc = r.ratio < lo ? lo : (r.ratio > hi ? hi : r.ratio);
  const double unclipped = -adv * r.ratio, clipped = -adv * rc;
  r.term = unclipped > clipped ? unclipped : clipped;
  const bool outside = r.ratio < lo || r.ratio > hi;
  r.clipped = outside;
  r.dlogp = (clipped > unclipped && outside) ? 0.0 : -adv * r.ratio;
  r.kl = n > 0 ? kl_sum / (static_cast<double>(n) * 2.0 * std * std) : 0.0;
  return r;
}

}  // namespace mc
