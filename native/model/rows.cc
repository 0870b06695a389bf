#include "rows.h"

#include <algorithm>
#include <cstring>

#include "../../kernels/common/threadpool.h"

namespace mc {

void copy_rows_cpu(float* dst, const int32_t* dst_idx, const float* src, const int32_t* src_idx, int64_t n, int64_t D,
                   bool add) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t d = dst_idx ? dst_idx[i] : i, s = src_idx ? src_idx[i] : i;
      if (!add) {
        std::memcpy(dst + d * D, src + s * D, static_cast<size_t>(D) * sizeof(float));
        continue;
      }
      float* __restrict y = dst + d * D;
      const float* __restrict x = src + s * D;
      for (int64_t c = 0; c < D; ++c) y[c] += x[c];
    }
  });
}

void add_rows_cpu(float* dst, const float* table, const int32_t* idx, int64_t n, int64_t D) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      float* __restrict d = dst + i * D;
      const float* __restrict t = table + static_cast<int64_t>(idx[i]) * D;
      for (int64_t c = 0; c < D; ++c) d[c] += t[c];
    }
  });
}

}  // namespace mc
