#include "../common/philox.h"
#include "../common/threadpool.h"
#include "random.h"

namespace mc {

void randn_cpu(float* x, int64_t n, uint64_t seed, uint64_t stream, float mean, float std) {
  int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, 4096, [&](int64_t b, int64_t e, int) {
    float z[4];
    for (int64_t blk = b; blk < e; ++blk) {
      philox_normal4(seed, static_cast<uint64_t>(blk), stream, z);
      for (int l = 0; l < 4; ++l) {
        int64_t j = blk * 4 + l;
        if (j < n) x[j] = mean + std * z[l];
      }
    }
  });
}

Status op_randn_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("randn", a, 1, 2, 2));
  MC_RETURN_IF_ERROR(check_dtype("randn", "x", a.t[0], DType::F32));
  randn_cpu(a.t[0].f32(), a.t[0].numel(), static_cast<uint64_t>(a.i[0]), static_cast<uint64_t>(a.i[1]),
            static_cast<float>(a.f[0]), static_cast<float>(a.f[1]));
  return Status::Ok();
}

}  // namespace mc
