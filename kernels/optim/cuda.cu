// CUDA fused multi-tensor AdamW with global grad-norm clipping (same semantics as cpu.cc).
// The tensors are cut into the CPU's fixed chunks (kChunk elements, chunk list independent of any
// launch geometry); a table of chunks goes to the device. Stage 1: one block per chunk sums g^2 in
// double (fixed block tree). Stage 2: the partials are copied to the host and added in chunk order
// (deterministic), giving the norm, which is written to gnorm[0]. Only if the norm is finite is the
// update kernel launched; otherwise E_NAN names the first tensor whose chunk partial is not finite and
// params and moments are untouched.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/cuda_check.cuh"
#include "../common/cuda_reduce.cuh"
#include "optim.h"

namespace mc {
namespace {

constexpr int64_t kChunk = 1 << 15;  // as the CPU
constexpr int kBlock = 256;

struct DevChunk {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t len;
  int32_t decay;
  int32_t tensor;
};

using Coef = AdamWCoef;

__global__ void sumsq_kernel(double* part, const DevChunk* ch, int64_t nc) {
  for (int64_t c = blockIdx.x; c < nc; c += gridDim.x) {
    const float* g = ch[c].g;
    const int64_t n = ch[c].len;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += static_cast<double>(g[i]) * g[i];
    s = block_sum(s);
    if (threadIdx.x == 0) part[c] = s;
  }
}

__global__ void update_kernel(const DevChunk* ch, int64_t nc, Coef c) {
  for (int64_t k = blockIdx.x; k < nc; k += gridDim.x) {
    const DevChunk C = ch[k];
    const float dm = C.decay ? c.decay_mul : 1.0f;
    for (int64_t i = threadIdx.x; i < C.len; i += blockDim.x) {
      const float gi = C.g[i] * c.clip;
      const float mi = c.b1 * C.m[i] + c.omb1 * gi;
      const float vi = c.b2 * C.v[i] + c.omb2 * gi * gi;
      C.m[i] = mi;
      C.v[i] = vi;
      const float pi = C.p[i] * dm;
      C.p[i] = pi - c.step_size * mi / (sqrtf(vi) * c.inv_sqrt_bc2 + c.eps);
    }
  }
}

unsigned chunk_grid(int64_t nc) { return static_cast<unsigned>(nc < 1 ? 1 : (nc > (1LL << 30) ? (1LL << 30) : nc)); }

Status adamw_cuda(const AdamWTensor* ts, int count, const AdamWParams& hp, float* gnorm_dev) {
  const char* op = "adamw";
  std::vector<DevChunk> chunks;
  for (int t = 0; t < count; ++t)
    for (int64_t b = 0; b < ts[t].n; b += kChunk)
      chunks.push_back(DevChunk{ts[t].p + b, ts[t].g + b, ts[t].m + b, ts[t].v + b, std::min(ts[t].n, b + kChunk) - b,
                                ts[t].decay ? 1 : 0, t});
  const int64_t nc = static_cast<int64_t>(chunks.size());
  std::vector<double> part(static_cast<size_t>(nc));
  void* scratch = nullptr;
  const size_t tbytes = static_cast<size_t>(nc) * sizeof(DevChunk);
  const size_t bytes = tbytes + static_cast<size_t>(nc) * sizeof(double);
  if (nc > 0) {
    MC_RETURN_IF_ERROR(cuda_status(op, cudaMalloc(&scratch, bytes)));
    DevChunk* dch = static_cast<DevChunk*>(scratch);
    double* dpart = reinterpret_cast<double*>(static_cast<char*>(scratch) + tbytes);
    Status st = cuda_status(op, cudaMemcpy(dch, chunks.data(), tbytes, cudaMemcpyHostToDevice));
    if (st.ok()) {
      sumsq_kernel<<<chunk_grid(nc), kBlock>>>(dpart, dch, nc);
      st = cuda_launch_status(op);
    }
    // synchronous copy back: the norm must be on the host before the update is decided
    if (st.ok())
      st = cuda_status(op, cudaMemcpy(part.data(), dpart, static_cast<size_t>(nc) * sizeof(double),
                                      cudaMemcpyDeviceToHost));
    if (!st.ok()) {
      cuda_status(op, cudaFree(scratch));  // already failing: report st, but clear any error of the free
      return st;
    }
  }
  double ss = 0.0;
  for (int64_t i = 0; i < nc; ++i) ss += part[i];
  const double norm = std::sqrt(ss);
  const float fnorm = static_cast<float>(norm);
  Status st = cuda_status(op, cudaMemcpy(gnorm_dev, &fnorm, sizeof(float), cudaMemcpyHostToDevice));
  if (st.ok() && !std::isfinite(norm)) {
    int bad = -1;
    for (int64_t i = 0; i < nc && bad < 0; ++i)
      if (!std::isfinite(part[i])) bad = chunks[i].tensor;
    st = adamw_nonfinite(bad, norm);
  }
  if (st.ok() && nc > 0) {
    const Coef c = adamw_coef(hp, norm);
    update_kernel<<<chunk_grid(nc), kBlock>>>(static_cast<const DevChunk*>(scratch), nc, c);
    st = cuda_launch_status(op);
  }
  // cudaFree waits for the update kernel to finish before releasing the chunk table
  if (scratch) {
    Status fr = cuda_status(op, cudaFree(scratch));
    if (st.ok()) st = fr;
  }
  return st;
}

}  // namespace

Status op_adamw_cuda(const OpArgs& a) {
  std::vector<AdamWTensor> ts;
  AdamWParams hp{};
  float* gnorm = nullptr;
  MC_RETURN_IF_ERROR(adamw_unpack(a, &ts, &hp, &gnorm));
  return adamw_cuda(ts.data(), static_cast<int>(ts.size()), hp, gnorm);
}

}  // namespace mc
