// CUDA token embedding. The ids are copied to the host and validated exactly as on the CPU (E_ARG
// naming the first bad position) before anything is written.
// Forward: grid-stride gather. Backward: sort-free per-id ownership built on the host: the token
// positions are grouped by id (stable: ascending position within an id), and one thread owns
// (id, column), adding its tokens' rows in position order -- the same order as the CPU, so the result
// is deterministic (bitwise equal to the CPU's scalar sums) and no two threads touch one element.
#include <algorithm>
#include <string>
#include <vector>

#include "../common/cuda_check.cuh"
#include "embedding.h"

namespace mc {
namespace {

constexpr int kBlock = 256;

__global__ void emb_gather_kernel(float* out, const int32_t* ids, const float* table, int64_t N, int64_t D) {
  const int64_t total = N * D;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / D, c = i % D;
    out[i] = table[static_cast<int64_t>(ids[n]) * D + c];
  }
}

// groups: U distinct ids; uid[u] the id, start[u]..start[u+1] its token positions in tok[] (ascending).
// Grid: x over columns, y over groups (grid-stride on both).
__global__ void emb_scatter_kernel(float* dtable, const float* dout, const int32_t* uid, const int32_t* start,
                                   const int32_t* tok, int64_t U, int64_t D) {
  for (int64_t u = blockIdx.y; u < U; u += gridDim.y) {
    float* drow = dtable + static_cast<int64_t>(uid[u]) * D;
    const int32_t s0 = start[u], s1 = start[u + 1];
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < D; c += (int64_t)gridDim.x * blockDim.x) {
      float acc = drow[c];
      for (int32_t k = s0; k < s1; ++k) acc += dout[static_cast<int64_t>(tok[k]) * D + c];
      drow[c] = acc;
    }
  }
}

// Copies the ids to the host (synchronous) and validates them like the CPU.
Status fetch_ids(const char* op, const TensorView& ids, int64_t N, int64_t V, std::vector<int32_t>* host) {
  host->resize(static_cast<size_t>(N));
  if (N > 0)
    MC_RETURN_IF_ERROR(cuda_status(op, cudaMemcpy(host->data(), ids.data, static_cast<size_t>(N) * sizeof(int32_t),
                                                  cudaMemcpyDeviceToHost)));
  return embedding_check_ids(op, host->data(), N, V);
}

}  // namespace

Status op_embedding_forward_cuda(const OpArgs& a) {
  const char* op = "embedding_forward";
  int64_t N = 0, V = 0, D = 0;
  MC_RETURN_IF_ERROR(embedding_check_args(a, false, &N, &V, &D));
  const TensorView &ids = a.t[0], &table = a.t[1], &out = a.t[2];
  std::vector<int32_t> host;
  MC_RETURN_IF_ERROR(fetch_ids(op, ids, N, V, &host));
  if (N > 0) emb_gather_kernel<<<grid_for(N * D, kBlock), kBlock>>>(out.f32(), ids.i32(), table.f32(), N, D);
  return cuda_launch_status(op);
}

Status op_embedding_backward_cuda(const OpArgs& a) {
  const char* op = "embedding_backward";
  int64_t N = 0, V = 0, D = 0;
  MC_RETURN_IF_ERROR(embedding_check_args(a, true, &N, &V, &D));
  const TensorView &ids = a.t[0], &dout = a.t[1], &dtable = a.t[2];
  MC_RETURN_IF_ERROR(check_arg(op, "ids", N < (1LL << 31) - 1, "fewer than 2^31 - 1 tokens", std::to_string(N)));
  std::vector<int32_t> host;
  MC_RETURN_IF_ERROR(fetch_ids(op, ids, N, V, &host));
  if (N == 0) return Status::Ok();
  // group positions by id, ascending position within each id
  std::vector<int32_t> order(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) order[n] = static_cast<int32_t>(n);
  std::stable_sort(order.begin(), order.end(), [&](int32_t p, int32_t q) { return host[p] < host[q]; });
  // packed: [uid (U) | start (U+1) | tok (N)]
  std::vector<int32_t> packed;
  packed.reserve(static_cast<size_t>(2 * N + 1));
  std::vector<int32_t> start;
  for (int64_t k = 0; k < N; ++k)
    if (k == 0 || host[order[k]] != host[order[k - 1]]) {
      packed.push_back(host[order[k]]);
      start.push_back(static_cast<int32_t>(k));
    }
  const int64_t U = static_cast<int64_t>(start.size());
  start.push_back(static_cast<int32_t>(N));
  packed.insert(packed.end(), start.begin(), start.end());
  packed.insert(packed.end(), order.begin(), order.end());
  int32_t* dev = nullptr;
  const size_t bytes = packed.size() * sizeof(int32_t);
  MC_RETURN_IF_ERROR(cuda_status(op, cudaMallocAsync(reinterpret_cast<void**>(&dev), bytes, 0)));
  Status st = cuda_status(op, cudaMemcpy(dev, packed.data(), bytes, cudaMemcpyHostToDevice));
  if (st.ok()) {
    const unsigned gx = grid_for(D, kBlock);
    const unsigned gy = static_cast<unsigned>(U > 65535 ? 65535 : U);
    emb_scatter_kernel<<<dim3(gx, gy), kBlock>>>(dtable.f32(), dout.f32(), dev, dev + U, dev + 2 * U + 1, U, D);
    st = cuda_launch_status(op);
  }
  // stream-ordered free: after the scatter kernel
  Status fr = cuda_status(op, cudaFreeAsync(dev, 0));
  return st.ok() ? fr : st;
}

}  // namespace mc
