// CPU flow_step and flow_noise (see flow.h): one task per sample, elements in order, logp summed in
// double. The argument checks here are shared with the CUDA adapters.
#include <cmath>
#include <limits>
#include <string>

#include "../common/threadpool.h"
#include "flow.h"

namespace mc {

Status check_flow_step_args(const char* op, const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count(op, a, 10, 2, 2));
  const char* names[10] = {"x", "v", "eps", "xNext", "mean", "offsets", "sigma", "sigmaNext", "std", "logp"};
  for (int i = 0; i < 10; ++i)
    MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[i], i == 5 ? DType::I32 : DType::F32));
  if (a.t[0].ndim != 2) return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'x' expected [N, C], received " + a.t[0].shape_str());
  for (int i = 1; i < 5; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], a.t[0].numel()));
  const int64_t S = a.t[5].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", S >= 0, "at least 1 element", "0"));
  for (int i = 6; i < 10; ++i) MC_RETURN_IF_ERROR(check_numel(op, names[i], a.t[i], S));
  const int64_t mode = a.i[0];
  MC_RETURN_IF_ERROR(check_arg(op, "mode", mode >= 0 && mode <= 2, "0 (ode), 1 (sde) or 2 (cps)", std::to_string(mode)));
  MC_RETURN_IF_ERROR(check_arg(op, "logpOnly", a.i[1] == 0 || (a.i[1] == 1 && mode != kFlowOde), "0, or 1 with mode sde or cps",
                               std::to_string(a.i[1]) + " with mode " + std::to_string(mode)));
  const double lvl = a.f[0], smax = a.f[1];
  if (mode == kFlowSde)
    MC_RETURN_IF_ERROR(check_arg(op, "noiseLevel", std::isfinite(lvl) && lvl > 0, "a finite number > 0 for sde", std::to_string(lvl)));
  if (mode == kFlowCps)
    MC_RETURN_IF_ERROR(check_arg(op, "noiseLevel", lvl >= 0 && lvl <= 1, "a number in [0, 1] for cps", std::to_string(lvl)));
  if (mode == kFlowSde)
    MC_RETURN_IF_ERROR(check_arg(op, "sigmaMax", smax > 0 && smax < 1, "a number in (0, 1) for sde", std::to_string(smax)));
  return Status::Ok();
}

Status check_flow_noise_args(const char* op, const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 2, 0));
  MC_RETURN_IF_ERROR(check_dtype(op, "out", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "offsets", a.t[1], DType::I32));
  MC_RETURN_IF_ERROR(check_dtype(op, "keys", a.t[2], DType::I32));
  if (a.t[0].ndim != 2) return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'out' expected [N, C], received " + a.t[0].shape_str());
  const int64_t S = a.t[1].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", S >= 0, "at least 1 element", "0"));
  MC_RETURN_IF_ERROR(check_numel(op, "keys", a.t[2], S));
  MC_RETURN_IF_ERROR(check_arg(op, "seed", a.i[0] >= 0, "a non-negative integer", std::to_string(a.i[0])));
  MC_RETURN_IF_ERROR(check_arg(op, "step", a.i[1] >= 0 && a.i[1] <= 0xFFFFFFFFLL, "an integer in [0, 2^32)", std::to_string(a.i[1])));
  return Status::Ok();
}

namespace {
// Host offsets: 0 = offsets[0] <= ... <= offsets[S] = N.
Status check_host_offsets(const char* op, const int32_t* off, int64_t S, int64_t N) {
  if (off[0] != 0) return Status::Error(Code::E_ARG, std::string(op) + ": argument 'offsets' expected to start at 0, received " + std::to_string(off[0]));
  for (int64_t s = 0; s < S; ++s)
    if (off[s + 1] < off[s])
      return Status::Error(Code::E_ARG, std::string(op) + ": argument 'offsets' expected non-decreasing values, received " +
                                            std::to_string(off[s]) + " then " + std::to_string(off[s + 1]) + " at sample " + std::to_string(s));
  if (off[S] != N)
    return Status::Error(Code::E_ARG, std::string(op) + ": argument 'offsets' expected to end at the row count " + std::to_string(N) +
                                          ", received " + std::to_string(off[S]));
  return Status::Ok();
}
}  // namespace

Status op_flow_step_cpu(const OpArgs& a) {
  const char* op = "flow_step";
  MC_RETURN_IF_ERROR(check_flow_step_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], S = a.t[5].numel() - 1;
  const int32_t* off = a.t[5].i32();
  MC_RETURN_IF_ERROR(check_host_offsets(op, off, S, N));
  const int mode = static_cast<int>(a.i[0]);
  const bool logp_only = a.i[1] == 1;
  const double lvl = a.f[0], smax = a.f[1];
  const float *x = a.t[0].f32(), *v = a.t[1].f32(), *eps = a.t[2].f32();
  float *xn = a.t[3].f32(), *mean = a.t[4].f32();
  const float *sig = a.t[6].f32(), *sig_next = a.t[7].f32();
  float *std_out = a.t[8].f32(), *logp = a.t[9].f32();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  parallel_for(S, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t s = b; s < e; ++s) {
      const FlowCoef k = flow_coefficients(mode, sig[s], sig_next[s], lvl, smax);
      const int64_t lo = off[s] * C, hi = off[s + 1] * C;
      if (!k.valid) {
        for (int64_t j = lo; j < hi; ++j) {
          mean[j] = nan;
          if (!logp_only) xn[j] = nan;
        }
        std_out[s] = nan;
        logp[s] = nan;
        continue;
      }
      double acc = 0.0;
      for (int64_t j = lo; j < hi; ++j) {
        const double m = k.cx * x[j] + k.cv * v[j];
        mean[j] = static_cast<float>(m);
        if (!logp_only) xn[j] = static_cast<float>(mode == kFlowOde ? m : m + k.std * eps[j]);
        const double d = static_cast<double>(xn[j]) - m;
        acc += d * d;
      }
      std_out[s] = static_cast<float>(k.std);
      logp[s] = static_cast<float>(flow_logp(mode, acc, hi - lo, k.std));
    }
  });
  return Status::Ok();
}

Status op_flow_noise_cpu(const OpArgs& a) {
  const char* op = "flow_noise";
  MC_RETURN_IF_ERROR(check_flow_noise_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], S = a.t[1].numel() - 1;
  const int32_t* off = a.t[1].i32();
  MC_RETURN_IF_ERROR(check_host_offsets(op, off, S, N));
  const int32_t* keys = a.t[2].i32();
  const uint64_t seed = static_cast<uint64_t>(a.i[0]);
  const int32_t step = static_cast<int32_t>(static_cast<uint32_t>(a.i[1]));
  float* out = a.t[0].f32();
  // one task per (sample, chunk of 4096 Philox blocks)
  for (int64_t s = 0; s < S; ++s) {
    const int64_t n = (static_cast<int64_t>(off[s + 1]) - off[s]) * C;
    float* o = out + static_cast<int64_t>(off[s]) * C;
    const uint64_t stream = flow_stream(keys[s], step);
    parallel_for((n + 3) / 4, 1024, [&](int64_t b, int64_t e, int) {
      float z[4];
      for (int64_t blk = b; blk < e; ++blk) {
        philox_normal4(seed, static_cast<uint64_t>(blk), stream, z);
        for (int l = 0; l < 4; ++l) {
          const int64_t j = blk * 4 + l;
          if (j < n) o[j] = z[l];
        }
      }
    });
  }
  return Status::Ok();
}

}  // namespace mc
