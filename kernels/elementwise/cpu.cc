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

Status op_fill_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("fill", a, 1, 0, 1));
  MC_RETURN_IF_ERROR(check_dtype("fill", "x", a.t[0], DType::F32));
  fill_cpu(a.t[0].f32(), a.t[0].numel(), static_cast<float>(a.f[0]));
  return Status::Ok();
}

Status op_add_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("add", a, 3, 0, 2));
  const char* names[3] = {"a", "b", "out"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("add", names[i], a.t[i], DType::F32));
  int64_t n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_numel("add", "b", a.t[1], n));
  MC_RETURN_IF_ERROR(check_numel("add", "out", a.t[2], n));
  add_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, static_cast<float>(a.f[0]), static_cast<float>(a.f[1]));
  return Status::Ok();
}

Status op_silu_forward_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("silu_forward", a, 2, 0, 0));
  MC_RETURN_IF_ERROR(check_dtype("silu_forward", "x", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype("silu_forward", "y", a.t[1], DType::F32));
  MC_RETURN_IF_ERROR(check_numel("silu_forward", "y", a.t[1], a.t[0].numel()));
  silu_forward_cpu(a.t[1].f32(), a.t[0].f32(), a.t[0].numel());
  return Status::Ok();
}

Status op_silu_backward_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("silu_backward", a, 3, 1, 0));
  const char* names[3] = {"x", "dy", "dx"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("silu_backward", names[i], a.t[i], DType::F32));
  int64_t n = a.t[0].numel();
  MC_RETURN_IF_ERROR(check_numel("silu_backward", "dy", a.t[1], n));
  MC_RETURN_IF_ERROR(check_numel("silu_backward", "dx", a.t[2], n));
  silu_backward_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), n, a.i[0] != 0);
  return Status::Ok();
}

Status op_bias_add_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("bias_add", a, 3, 0, 0));
  const char* names[3] = {"x", "b", "out"};
  for (int i = 0; i < 3; ++i) MC_RETURN_IF_ERROR(check_dtype("bias_add", names[i], a.t[i], DType::F32));
  int64_t D = a.t[1].numel();
  MC_RETURN_IF_ERROR(check_arg("bias_add", "x", D > 0 && a.t[0].numel() % D == 0,
                               "a multiple of " + std::to_string(D) + " elements", a.t[0].shape_str()));
  MC_RETURN_IF_ERROR(check_numel("bias_add", "out", a.t[2], a.t[0].numel()));
  bias_add_cpu(a.t[2].f32(), a.t[0].f32(), a.t[1].f32(), a.t[0].numel() / D, D);
  return Status::Ok();
}

Status op_bias_grad_cpu(const OpArgs& a) {
  MC_RETURN_IF_ERROR(check_count("bias_grad", a, 2, 1, 0));
  MC_RETURN_IF_ERROR(check_dtype("bias_grad", "dy", a.t[0], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype("bias_grad", "db", a.t[1], DType::F32));
  int64_t D = a.t[1].numel();
  MC_RETURN_IF_ERROR(check_arg("bias_grad", "dy", D > 0 && a.t[0].numel() % D == 0,
                               "a multiple of " + std::to_string(D) + " elements", a.t[0].shape_str()));
  bias_grad_cpu(a.t[1].f32(), a.t[0].f32(), a.t[0].numel() / D, D, a.i[0] != 0);
  return Status::Ok();
}

}  // namespace mc
