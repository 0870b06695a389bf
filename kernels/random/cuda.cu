// CUDA randn: the same Philox blocks as the CPU (common/philox.h), one thread per block of four.
#include "../common/cuda_check.cuh"
#include "../common/philox.h"
#include "random.h"

namespace mc {
namespace {
__global__ void randn_kernel(float* x, int64_t n, uint64_t seed, uint64_t stream, float mean, float std) {
  int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks; b += (int64_t)gridDim.x * blockDim.x) {
    float z[4];
    philox_normal4(seed, static_cast<uint64_t>(b), stream, z);
    for (int l = 0; l < 4; ++l) {
      int64_t j = b * 4 + l;
      if (j < n) x[j] = mean + std * z[l];
    }
  }
}
}  // namespace

Status op_randn_cuda(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("randn", a, 1, 2, 2));
  MC_RETURN_IF_ERROR(check_dtype("randn", "x", a.t[0], DType::F32));
  int64_t n = a.t[0].numel();
  if (n)
    randn_kernel<<<grid_for((n + 3) / 4, 256), 256>>>(a.t[0].f32(), n, static_cast<uint64_t>(a.i[0]),
                                                        static_cast<uint64_t>(a.i[1]), static_cast<float>(a.f[0]),
                                                        static_cast<float>(a.f[1]));
  return cuda_launch_status("randn");
}

}  // namespace mc
