#include <cmath>
#include <algorithm>
#include <vector>

#include "../common/threadpool.h"
#include "elementwise.h"

namespace mc {
namespace {
constexpr int64_t kGrain = 1 << 15;  // elements per chunk: ~128 KiB of floats per input
}

void fill_cpu(float* x, int64_t n, float value) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) x[i] = value;
  });
}

void add_cpu(float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  parallel_for(n, kGrain, [&](int64_t s, int64_t e, int) {
    for (int64_t i = s; i < e; ++i) out[i] = alpha * a[i] + beta * b[i];
  });
}

void silu_forward_cpu(float* y, const float* x, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t s, int64_t e, int) {
    for (int64_t i = s; i < e; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
  });
}

void silu_backward_cpu(float* dx, const float* x, const float* dy, int64_t n, bool accumulate) {
  parallel_for(n, kGrain, [&](int64_t s, int64_t e, int) {
    for (int64_t i = s; i < e; ++i) {
      float sg = 1.0f / (1.0f + std::exp(-x[i]));
      float g = dy[i] * sg * (1.0f + x[i] * (1.0f - sg));
      dx[i] = accumulate ? dx[i] + g : g;
    }
  });
}

void bias_add_cpu(float* out, const float* x, const float* b, int64_t N, int64_t D) {
  parallel_for(N, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1)), [&](int64_t s, int64_t e, int) {
    for (int64_t r = s; r < e; ++r)
      for (int64_t c = 0; c < D; ++c) out[r * D + c] = x[r * D + c] + b[c];
  });
}

void bias_grad_cpu(float* db, const float* dy, int64_t N, int64_t D, bool accumulate) {
  // Parallel over column blocks: every column is summed by one thread in row order, so the result
  // does not depend on the thread count.
  // (A serial region hands the whole range to one call: walk it in blocks of 64 columns.)
  parallel_for(D, 64, [&](int64_t s0, int64_t e0, int) {
    double acc[64];
    for (int64_t s = s0; s < e0; s += 64) {
      const int64_t e = std::min(e0, s + 64);
      for (int64_t c = s; c < e; ++c) acc[c - s] = 0.0;
      for (int64_t r = 0; r < N; ++r)
        for (int64_t c = s; c < e; ++c) acc[c - s] += dy[r * D + c];
      for (int64_t c = s; c < e; ++c) db[c] = static_cast<float>(accumulate ? db[c] + acc[c - s] : acc[c - s]);
    }
  });
}

// --- op adapters ---

Status elementwise_check(const char* op, const OpArgs& a, std::initializer_list<const char*> names, int ni, int nf,
                         int row_arg) {
  const int nt = static_cast<int>(names.size());
  MC_RETURN_IF_ERROR(check_count(op, a, nt, ni, nf));
  const char* const* nm = names.begin();
  for (int i = 0; i < nt; ++i) MC_RETURN_IF_ERROR(check_dtype(op, nm[i], a.t[i], DType::F32));
  const int64_t n = a.t[0].numel();
  if (row_arg >= 0) {
    const int64_t D = a.t[row_arg].numel();
    MC_RETURN_IF_ERROR(check_arg(op, nm[0], D > 0 && n % D == 0, "a multiple of " + std::to_string(D) + " elements",
                                 a.t[0].shape_str()));
  }
  for (int i = 1; i < nt; ++i)
    if (i != row_arg) MC_RETURN_IF_ERROR(check_numel(op, nm[i], a.t[i], n));
  return Status::Ok();
}

Status op_fill_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("fill", a, {"x"}, 0, 1));
  fill_cpu(a.t[0].f32(), a.t[0].numel(), static_cast<float>(a.f[0]));
  return Status::Ok();
}

Status op_add_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("add", a, {"a", "b", "out"}, 0, 2));
  add_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), a.t[0].numel(), static_cast<float>(a.f[0]), static_cast<float>(a.f[1]));
  return Status::Ok();
}

Status op_silu_forward_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("silu_forward", a, {"x", "y"}, 0, 0));
  silu_forward_cpu(a.t[1].f32(), a.t[0].f32(), a.t[0].numel());
  return Status::Ok();
}

Status op_silu_backward_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("silu_backward", a, {"x", "dy", "dx"}, 1, 0));
  silu_backward_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), a.t[0].numel(), a.i[0] != 0);
  return Status::Ok();
}

Status op_bias_add_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("bias_add", a, {"x", "b", "out"}, 0, 0, 1));
  const int64_t D = a.t[1].numel();
  bias_add_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), a.t[0].numel() / D, D);
  return Status::Ok();
}

Status op_bias_grad_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(elementwise_check("bias_grad", a, {"dy", "db"}, 1, 0, 1));
  const int64_t D = a.t[1].numel();
  bias_grad_cpu(a.t[1].f32(), a.t[0].f32(), a.t[0].numel() / D, D, a.i[0] != 0);
  return Status::Ok();
}

}  // namespace mc
