// CUDA grpo_advantages and grpo_loss (see grpo.h). Both reduce in double and in a fixed order, so a
// run repeats bit for bit. grpo_advantages: one block (rollout batches are small), each thread owning
// whole groups (its members found by a scan of the B ids), then per sample. grpo_loss: grid
// (blocks per sample, samples) partial sums of the squared deviations and the KL term, a one-block
// pass per sample (logp, ratio, the loss terms, the gradient factors, the batch statistics), then the
// elementwise gradient. Group ids and offsets stay on the device: an id outside [0, G) counts in no
// group (A = 0, flagged), and each sample's row range is clamped into [0, N); timesteps the step does
// not define give NaN statistics (the CPU backend rejects both with an error instead).
#include <string>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "../sampler/flow.h"
#include "grpo.h"

namespace mc {
namespace {

constexpr int kBlock = 256;

__global__ void grpo_adv_kernel(const float* r, const int32_t* g, float* adv, int32_t* flag, float* stats, double* scratch, int64_t B,
                                int64_t G, int global, double eps, double clip, double thr) {
  // scratch: [3G] = sum, sumsq-dev, count per group
  double* sum = scratch;
  double* sq = scratch + G;
  double* cnt = scratch + 2 * G;
  double all = 0.0;
  for (int64_t i = threadIdx.x; i < B; i += blockDim.x) all += r[i];
  all = block_sum(all);
  const double mean_all = B ? all / static_cast<double>(B) : 0.0;
  double var = 0.0;
  for (int64_t i = threadIdx.x; i < B; i += blockDim.x) var += (r[i] - mean_all) * (r[i] - mean_all);
  var = block_sum(var);
  const double std_all = B ? sqrt(var / static_cast<double>(B)) : 0.0;
  for (int64_t k = threadIdx.x; k < G; k += blockDim.x) {
    double s = 0.0, c = 0.0;
    for (int64_t i = 0; i < B; ++i)
      if (g[i] == k) {
        s += r[i];
        c += 1.0;
      }
    double q = 0.0;
    const double m = c > 0 ? s / c : 0.0;
    for (int64_t i = 0; i < B; ++i)
      if (g[i] == k) q += (r[i] - m) * (r[i] - m);
    sum[k] = s;
    sq[k] = q;
    cnt[k] = c;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < B; i += blockDim.x) {
    const int32_t k = g[i];
    if (k < 0 || k >= G) {
      adv[i] = 0.f;
      flag[i] = 1;
      continue;
    }
    const double mean = sum[k] / cnt[k];
    const double std_g = sqrt(sq[k] / cnt[k]);
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
  double groups = 0.0, zero = 0.0;
  for (int64_t k = threadIdx.x; k < G; k += blockDim.x) {
    if (cnt[k] <= 0) continue;
    groups += 1.0;
    if (sqrt(sq[k] / cnt[k]) <= thr) zero += 1.0;
  }
  groups = block_sum(groups);
  zero = block_sum(zero);
  if (threadIdx.x == 0) {
    stats[0] = groups > 0 ? static_cast<float>(zero / groups) : 0.f;
    stats[1] = static_cast<float>(mean_all);
    stats[2] = static_cast<float>(std_all);
    stats[3] = static_cast<float>(groups);
  }
}

__device__ __forceinline__ void rows_of(const int32_t* off, int64_t b, int64_t N, int64_t C, int64_t* lo, int64_t* hi) {
  int64_t a = off[b], e = off[b + 1];
  a = a < 0 ? 0 : (a > N ? N : a);
  e = e < a ? a : (e > N ? N : e);
  *lo = a * C;
  *hi = e * C;
}

__global__ void grpo_sums_kernel(const float* v, const float* x, const float* xn, const float* mref, const int32_t* off, const float* sig,
                                 const float* sign, int64_t N, int64_t C, int mode, double lvl, double smax, int beta, double* partial) {
  const int64_t b = blockIdx.y;
  int64_t lo, hi;
  rows_of(off, b, N, C, &lo, &hi);
  const FlowCoef k = flow_coefficients(mode, sig[b], sign[b], lvl, smax);
  double sq = 0.0, kl = 0.0;
  for (int64_t j = lo + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < hi; j += (int64_t)gridDim.x * blockDim.x) {
    const double m = k.cx * x[j] + k.cv * v[j];
    const double d = static_cast<double>(xn[j]) - m;
    sq += d * d;
    if (beta) {
      const double e = m - mref[j];
      kl += e * e;
    }
  }
  sq = block_sum(sq);
  kl = block_sum(kl);
  if (threadIdx.x == 0) {
    partial[2 * (b * gridDim.x + blockIdx.x)] = sq;
    partial[2 * (b * gridDim.x + blockIdx.x) + 1] = kl;
  }
}

__global__ void grpo_finish_kernel(const double* partial, int nb, const int32_t* off, const float* sig, const float* sign, const float* lpo,
                                   const float* adv, int64_t B, int64_t N, int64_t C, int mode, double lvl, double smax, double clip,
                                   double beta, float* logp, double* gfac, float* stats) {
  double pol = 0.0, kl = 0.0, clipped = 0.0, akl = 0.0, bad = 0.0;
  for (int64_t b = threadIdx.x; b < B; b += blockDim.x) {
    int64_t lo, hi;
    rows_of(off, b, N, C, &lo, &hi);
    const int64_t n = hi - lo;
    const FlowCoef k = flow_coefficients(mode, sig[b], sign[b], lvl, smax);
    double sq = 0.0, ks = 0.0;
    for (int i = 0; i < nb; ++i) {
      sq += partial[2 * (b * nb + i)];
      ks += partial[2 * (b * nb + i) + 1];
    }
    if (!(k.valid && k.std > 0)) bad += 1.0;
    const double lp = flow_logp(mode, sq, n, k.std);
    const GrpoSample s = grpo_sample(lp, lpo[b], adv[b], clip, ks, n, k.std);
    logp[b] = static_cast<float>(lp);
    const double s2 = k.std * k.std;
    gfac[2 * b] = s.dlogp / static_cast<double>(B) * (mode == kFlowSde ? 1.0 / (n * s2) : 2.0 / n);
    gfac[2 * b + 1] = beta / static_cast<double>(B) / (n * s2);
    pol += s.term;
    kl += s.kl;
    clipped += s.clipped ? 1.0 : 0.0;
    akl += 0.5 * (lp - lpo[b]) * (lp - lpo[b]);
  }
  pol = block_sum(pol);
  kl = block_sum(kl);
  clipped = block_sum(clipped);
  akl = block_sum(akl);
  bad = block_sum(bad);
  if (threadIdx.x == 0) {
    const double inv = 1.0 / static_cast<double>(B);
    const float nan = __int_as_float(0x7fc00000);
    stats[0] = bad > 0 ? nan : static_cast<float>(pol * inv + beta * kl * inv);
    stats[1] = bad > 0 ? nan : static_cast<float>(pol * inv);
    stats[2] = bad > 0 ? nan : static_cast<float>(kl * inv);
    stats[3] = bad > 0 ? nan : static_cast<float>(clipped * inv);
    stats[4] = bad > 0 ? nan : static_cast<float>(akl * inv);
  }
}

__global__ void grpo_grad_kernel(const float* v, const float* x, const float* xn, const float* mref, const int32_t* off, const float* sig,
                                 const float* sign, const double* gfac, int64_t N, int64_t C, int mode, double lvl, double smax, int beta,
                                 float* dv) {
  const int64_t b = blockIdx.y;
  int64_t lo, hi;
  rows_of(off, b, N, C, &lo, &hi);
  const FlowCoef k = flow_coefficients(mode, sig[b], sign[b], lvl, smax);
  const double glp = gfac[2 * b], gkl = gfac[2 * b + 1];
  for (int64_t j = lo + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < hi; j += (int64_t)gridDim.x * blockDim.x) {
    const double m = k.cx * x[j] + k.cv * v[j];
    double gm = glp * (static_cast<double>(xn[j]) - m);
    if (beta) gm += gkl * (m - mref[j]);
    dv[j] = static_cast<float>(gm * k.cv);
  }
}

}  // namespace

Status op_grpo_advantages_cuda(const OpArgs& a) {
  const char* op = "grpo_advantages";
  MC_RETURN_IF_ERROR(check_grpo_advantages_args(op, a));
  const int64_t B = a.t[0].numel(), G = a.i[0];
  double* scratch = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&scratch), static_cast<size_t>(3 * G) * sizeof(double), 0)));
  grpo_adv_kernel<<<1, 1024>>>(a.t[0].f32(), a.t[1].i32(), a.t[2].f32(), a.t[3].i32(), a.t[4].f32(), scratch, B, G, static_cast<int>(a.i[1]),
                               a.f[0], a.f[1], a.f[2]);
  Status st = cuda_launch_status(op);
  Status fr = cuda_status(op, cudaFreeAsync(scratch, 0));
  return st.ok() ? fr : st;
}

Status op_grpo_loss_cuda(const OpArgs& a) {
  const char* op = "grpo_loss";
  MC_RETURN_IF_ERROR(check_grpo_loss_args(op, a));
  const int64_t N = a.t[0].shape[0], C = a.t[0].shape[1], B = a.t[4].numel() - 1;
  MC_RETURN_IF_ERROR(check_arg(op, "offsets", B <= 65535, "at most 65535 samples per call on CUDA", std::to_string(B)));
  const int mode = static_cast<int>(a.i[0]);
  const int beta = a.f[3] != 0 ? 1 : 0;
  const unsigned nb = flow_blocks_per_sample(N * C, B, 4);
  double* partial = nullptr;
  double* gfac = nullptr;
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&partial), static_cast<size_t>(2 * B * nb) * sizeof(double), 0)));
  Status st = cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&gfac), static_cast<size_t>(2 * B) * sizeof(double), 0));
  const float* mref = a.t[3].f32();
  if (st.ok()) {
    grpo_sums_kernel<<<dim3(nb, static_cast<unsigned>(B)), kBlock>>>(a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), mref, a.t[4].i32(), a.t[5].f32(),
                                                                       a.t[6].f32(), N, C, mode, a.f[0], a.f[1], beta, partial);
    st = cuda_launch_status(op);
  }
  if (st.ok()) {
    grpo_finish_kernel<<<1, kBlock>>>(partial, static_cast<int>(nb), a.t[4].i32(), a.t[5].f32(), a.t[6].f32(), a.t[7].f32(), a.t[8].f32(), B, N, C,
                                      mode, a.f[0], a.f[1], a.f[2], a.f[3], a.t[10].f32(), gfac, a.t[11].f32());
    st = cuda_launch_status(op);
  }
  if (st.ok()) {
    grpo_grad_kernel<<<dim3(nb, static_cast<unsigned>(B)), kBlock>>>(a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), mref, a.t[4].i32(), a.t[5].f32(),
                                                                       a.t[6].f32(), gfac, N, C, mode, a.f[0], a.f[1], beta, a.t[9].f32());
    st = cuda_launch_status(op);
  }
  Status f1 = cuda_status(op, cudaFreeAsync(partial, 0));
  Status f2 = gfac ? cuda_status(op, cudaFreeAsync(gfac, 0)) : Status::Ok();
  if (!st.ok()) return st;
  return f1.ok() ? f2 : f1;
}

}  // namespace mc
