// CPU grpo_advantages and grpo_loss (see grpo.h): per group / per sample sums in double, in order.
// The argument checks here are shared with the CUDA adapters.
#include <cmath>
#include <string>
#include <vector>

#include "../common/threadpool.h"
#include "../sampler/flow.h"
#include "grpo.h"

namespace mc {

Status check_grpo_advantages_args(const char* op, const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count(op, a, 5, 2, 3));
  const char* names[5] = {"rewards", "groups", "adv", "flags", "stats"};
  const DType types[5] = {DType::F32, DType::I32, DType::F32, DType::I32, DType::F32};
  for (int i = 0; i < 5; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], types[i]));
  const int64_t B = a.t[0].numel();
  for (int i = 1; i < 4; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], B));
  MC_RETURN_IF_ERROR(check_numel(op, "stats", a.t[4], 4));
  MC_RETURN_IF_ERROR(check_arg(op, "groupCount", a.i[0] >= 1 && a.i[0] <= (1LL << 30), "an integer in [1, 2^30]", std::to_string(a.i[0])));
  MC_RETURN_IF_ERROR(check_arg(op, "globalStd", a.i[1] == 0 || a.i[1] == 1, "0 or 1", std::to_string(a.i[1])));
  MC_RETURN_IF_ERROR(check_arg(op, "eps", a.f[0] > 0 && std::isfinite(a.f[0]), "a finite number > 0", std::to_string(a.f[0])));
  MC_RETURN_IF_ERROR(check_arg(op, "clipMax", a.f[1] > 0, "a number > 0", std::to_string(a.f[1])));
  MC_RETURN_IF_ERROR(check_arg(op, "stdThreshold", a.f[2] >= 0 && std::isfinite(a.f[2]), "a finite number >= 0", std::to_string(a.f[2])));
  return Status::Ok();
}

Status check_grpo_loss_args(const char* op, const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count(op, a, 12, 1, 4));
  const char* names[12] = {"v", "x", "xNext", "meanRef", "offsets", "sigma", "sigmaNext", "logpOld", "adv", "dv", "logp", "stats"};
  for (int i = 0; i < 12; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], i == 4 ? DType::I32 : DType::F32));
  if (a.t[0].ndim != 2) return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'v' expected [N, C], received " + a.t[0].shape_str());
  const bool beta = a.f[3] != 0;
  for (int i : {1, 2, 9}) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], a.t[0].numel()));
  if (beta) MC_RETURN_IF_ERROR(check_numel(op, "meanRef", a.t[3], a.t[0].numel()));
  const int64_t B = a.t[4].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", B >= 1, "at least 2 elements", std::to_string(B + 1)));
  for (int i : {5, 6, 7, 8, 10}) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], B));
  MC_RETURN_IF_ERROR(check_numel(op, "stats", a.t[11], 5));
  MC_RETURN_IF_ERROR(check_arg(op, "mode", a.i[0] == kFlowSde || a.i[0] == kFlowCps, "1 (sde) or 2 (cps)", std::to_string(a.i[0])));
  if (a.i[0] == kFlowSde) {
    MC_RETURN_IF_ERROR(check_arg(op, "noiseLevel", a.f[0] > 0 && std::isfinite(a.f[0]), "a finite number > 0 for sde", std::to_string(a.f[0])));
    MC_RETURN_IF_ERROR(check_arg(op, "sigmaMax", a.f[1] > 0 && a.f[1] < 1, "a number in (0, 1) for sde", std::to_string(a.f[1])));
  } else {
    MC_RETURN_IF_ERROR(check_arg(op, "noiseLevel", a.f[0] > 0 && a.f[0] <= 1, "a number in (0, 1] for cps", std::to_string(a.f[0])));
  }
  MC_RETURN_IF_ERROR(check_arg(op, "clipRange", a.f[2] >= 0 && std::isfinite(a.f[2]), "a finite number >= 0", std::to_string(a.f[2])));
  MC_RETURN_IF_ERROR(check_arg(op, "beta", a.f[3] >= 0 && std::isfinite(a.f[3]), "a finite number >= 0", std::to_string(a.f[3])));
  return Status::Ok();
}

Status op_grpo_advantages_cpu(const OpArgs& a) {
  const char* op = "grpo_advantages";
  MC_RETURN_IF_ERROR(check_grpo_advantages_args(op, a));
  const int64_t B = a.t[0].numel(), G = a.i[0];
  const float* r = a.t[0].f32();
  const int32_t* g = a.t[1].i32();
  for (int64_t i = 0; i < B; ++i)
    if (g[i] < 0 || g[i] >= G)
      return Status::Error(Code::E_ARG, std::string(op) + ": argument 'groups' expected ids in [0, " + std::to_string(G) + "), received " +
                                            std::to_string(g[i]) + " at sample " + std::to_string(i));
  std::vector<double> sum(static_cast<size_t>(G), 0.0), sq(static_cast<size_t>(G), 0.0);
  std::vector<int64_t> cnt(static_cast<size_t>(G), 0);
  double all = 0.0;
  for (int64_t i = 0; i < B; ++i) {
    sum[g[i]] += r[i];
    cnt[g[i]] += 1;
    all += r[i];
  }
  const double mean_all = B ? all / static_cast<double>(B) : 0.0;
  double var_all = 0.0;
  for (int64_t i = 0; i < B; ++i) {
    const double d = r[i] - sum[g[i]] / static_cast<double>(cnt[g[i]]);
    sq[g[i]] += d * d;
    var_all += (r[i] - mean_all) * (r[i] - mean_all);
  }
  const double std_all = B ? std::sqrt(var_all / static_cast<double>(B)) : 0.0;
  const double eps = a.f[0], clip = a.f[1], thr = a.f[2];
  const bool global = a.i[1] == 1;
  float* adv = a.t[2].f32();
  int32_t* flag = a.t[3].i32();
  for (int64_t i = 0; i < B; ++i) {
    const int32_t k = g[i];
    const double mean = sum[k] / static_cast<double>(cnt[k]);
    const double std_g = std::sqrt(sq[k] / static_cast<double>(cnt[k]));
    if (std_g <= thr) {
      adv[i] = 0.f;
      flag[i] = 1;
      continue;
    }
    double v = (r[i] - mean) / ((global ? std_all : std_g) + eps);
    v = v < -clip ? -clip : (v > clip ? clip : v);
    adv[i] = static_cast<float>(v);
    flag[i] = 0;
  }
  int64_t groups = 0, zero = 0;
  for (int64_t k = 0; k < G; ++k) {
    if (!cnt[k]) continue;
    ++groups;
    if (std::sqrt(sq[k] / static_cast<double>(cnt[k])) <= thr) ++zero;
  }
  float* st = a.t[4].f32();
  st[0] = groups ? static_cast<float>(static_cast<double>(zero) / static_cast<double>(groups)) : 0.f;
  st[1] = static_cast<float>(mean_all);
  st[2] = static_cast<float>(std_all);
  st[3] = static_cast<float>(groups);
  return Status::Ok();
}

Status op_grpo_loss_cpu(const OpArgs& a) {
  const char* op = "grpo_loss";
  MC_RETURN_IF_ERROR(check_grpo_loss_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], B = a.t[4].numel() - 1;
  const int32_t* off = a.t[4].i32();
  if (off[0] != 0 || off[B] != N)
    return Status::Error(Code::E_ARG, std::string(op) + ": argument 'offsets' expected to run from 0 to the row count " + std::to_string(N) +
                                          ", received " + std::to_string(off[0]) + " .. " + std::to_string(off[B]));
  for (int64_t b = 0; b < B; ++b)
    if (off[b + 1] < off[b])
      return Status::Error(Code::E_ARG, std::string(op) + ": argument 'offsets' expected non-decreasing values, received " +
                                            std::to_string(off[b]) + " then " + std::to_string(off[b + 1]) + " at sample " + std::to_string(b));
  const int mode = static_cast<int>(a.i[0]);
  const double lvl = a.f[0], smax = a.f[1], clip = a.f[2], beta = a.f[3];
  const float *v = a.t[0].f32(), *x = a.t[1].f32(), *xn = a.t[2].f32(), *mref = a.t[3].f32();
  const float *sig = a.t[5].f32(), *sign = a.t[6].f32(), *lpo = a.t[7].f32(), *adv = a.t[8].f32();
  float *dv = a.t[9].f32(), *logp = a.t[10].f32(), *stats = a.t[11].f32();
  std::vector<GrpoSample> per(static_cast<size_t>(B));
  std::vector<FlowCoef> coef(static_cast<size_t>(B));
  std::vector<double> lp(static_cast<size_t>(B));
  std::vector<int> valid(static_cast<size_t>(B));
  parallel_for(B, 1, [&](int64_t lo_b, int64_t hi_b, int) {
    for (int64_t b = lo_b; b < hi_b; ++b) {
      const FlowCoef k = flow_coefficients(mode, sig[b], sign[b], lvl, smax);
      coef[b] = k;
      valid[b] = k.valid && k.std > 0;
      const int64_t lo = off[b] * C, hi = off[b + 1] * C;
      double sq = 0.0, kl = 0.0;
      for (int64_t j = lo; j < hi; ++j) {
        const double m = k.cx * x[j] + k.cv * v[j];
        const double d = static_cast<double>(xn[j]) - m;
        sq += d * d;
        if (beta != 0) {
          const double e = m - mref[j];
          kl += e * e;
        }
      }
      lp[b] = flow_logp(mode, sq, hi - lo, k.std);
      per[b] = grpo_sample(lp[b], lpo[b], adv[b], clip, kl, hi - lo, k.std);
    }
  });
  for (int64_t b = 0; b < B; ++b)
    if (!valid[b])
      return Status::Error(Code::E_ARG, std::string(op) + ": sample " + std::to_string(b) + " has timesteps " + std::to_string(sig[b]) + " -> " +
                                            std::to_string(sign[b]) + " that the " + (mode == kFlowSde ? "sde" : "cps") +
                                            " step does not define (expected 0 <= sigmaNext < sigma <= 1 and a std > 0)");
  parallel_for(B, 1, [&](int64_t lo_b, int64_t hi_b, int) {
    for (int64_t b = lo_b; b < hi_b; ++b) {
      const FlowCoef& k = coef[b];
      const int64_t lo = off[b] * C, hi = off[b + 1] * C, n = hi - lo;
      const double s2 = k.std * k.std;
      const double glp = per[b].dlogp / static_cast<double>(B) * (mode == kFlowSde ? 1.0 / (n * s2) : 2.0 / n);
      const double gkl = beta / static_cast<double>(B) / (n * s2);
      for (int64_t j = lo; j < hi; ++j) {
        const double m = k.cx * x[j] + k.cv * v[j];
        double gm = glp * (static_cast<double>(xn[j]) - m);
        if (beta != 0) gm += gkl * (m - mref[j]);
        dv[j] = static_cast<float>(gm * k.cv);
      }
    }
  });
  double pol = 0.0, kl = 0.0, clipped = 0.0, akl = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    logp[b] = static_cast<float>(lp[b]);
    pol += per[b].term;
    kl += per[b].kl;
    clipped += per[b].clipped ? 1.0 : 0.0;
    const double dl = lp[b] - lpo[b];
    akl += 0.5 * dl * dl;
  }
  const double inv = 1.0 / static_cast<double>(B);
  stats[0] = static_cast<float>(pol * inv + beta * kl * inv);
  stats[1] = static_cast<float>(pol * inv);
  stats[2] = static_cast<float>(kl * inv);
  stats[3] = static_cast<float>(clipped * inv);
  stats[4] = static_cast<float>(akl * inv);
  return Status::Ok();
}

}  // namespace mc
