// Block-wide sums for the CUDA kernels: a fixed shuffle tree for a fixed blockDim, so results are
// deterministic run to run; every thread of the block gets the sum. One definition for every op.
#pragma once
#include <cuda_runtime.h>

namespace mc {

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__device__ T block_sum(T v) {
  __shared__ T sh[32];
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    v = lane < nw ? sh[lane] : T(0);
    v = warp_sum(v);
    if (lane == 0) sh[0] = v;
  }
  __syncthreads();
  const T r = sh[0];
  __syncthreads();  // sh may be reused by the next call
  return r;
}

}  // namespace mc
