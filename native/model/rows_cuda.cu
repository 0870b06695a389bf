// CUDA row moves of the MoT model (see rows.h): one grid-stride pass over n*D elements (float4 when
// D % 4 == 0 and the pointers are 16-byte aligned); index arrays are device memory built by the model.
#include <cstdint>

#include "../../kernels/common/cuda_check.cuh"
#include "rows.h"

namespace mc {
namespace {

constexpr int kBlock = 256;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

__device__ __forceinline__ void acc(float& y, float x) { y += x; }
__device__ __forceinline__ void acc(float4& y, float4 x) {
  y.x += x.x;
  y.y += x.y;
  y.z += x.z;
  y.w += x.w;
}

template <typename V, bool ADD>
__global__ void copy_rows_kernel(V* dst, const int32_t* dst_idx, const V* src, const int32_t* src_idx, int64_t n,
                                 int64_t Dv) {
  const int64_t total = n * Dv;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / Dv, c = e % Dv;
    const int64_t d = dst_idx ? dst_idx[i] : i, s = src_idx ? src_idx[i] : i;
    if (ADD) {
      V y = dst[d * Dv + c];
      acc(y, src[s * Dv + c]);
      dst[d * Dv + c] = y;
    } else {
      dst[d * Dv + c] = src[s * Dv + c];
    }
  }
}

template <bool ADD>
void launch_copy_rows(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D) {
  if (D % 4 == 0 && aligned16(dst) && aligned16(src))
    copy_rows_kernel<float4, ADD><<<grid_for(n * D / 4, kBlock), kBlock>>>(
        reinterpret_cast<float4*>(dst), dst_idx, reinterpret_cast<const float4*>(src), src_idx, n, D / 4);
  else
    copy_rows_kernel<float, ADD><<<grid_for(n * D, kBlock), kBlock>>>(dst, dst_idx, src, src_idx, n, D);
}

__global__ void add_rows_kernel(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D) {
  const int64_t total = n * D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = e / D, c = e % D;
    dst[e] += table[static_cast<int64_t>(idx[i]) * D + c];
  }
}

}  // namespace

Status copy_rows_cuda(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D,
                      bool add) {
  if (n <= 0 || D <= 0) return Status::Ok();
  if (add)
    launch_copy_rows<true>(dst, dst_idx, src, src_idx, n, D);
  else
    launch_copy_rows<false>(dst, dst_idx, src, src_idx, n, D);
  return cuda_launch_status("model.copy_rows");
}

Status add_rows_cuda(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D) {
  if (n <= 0 || D <= 0) return Status::Ok();
  add_rows_kernel<<<grid_for(n * D, kBlock), kBlock>>>(dst, table, idx, n, D);
  return cuda_launch_status("model.add_rows");
}

}  // namespace mc
