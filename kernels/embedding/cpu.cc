#include <algorithm>
#include <cstring>
#include <string>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "embedding.h"

namespace mc {
namespace {

constexpr int64_t kColBlock = 64;  // columns per backward block: 256 bytes of each row

// dst[0, len) += src[0, len) for every token, in token order
void scatter_cols_scalar(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t D, int64_t c0,
                         int64_t c1) {
  for (int64_t n = 0; n < N; ++n) {
    float* __restrict d = dtable + static_cast<int64_t>(ids[n]) * D;
    const float* __restrict s = dout + n * D;
    for (int64_t c = c0; c < c1; ++c) d[c] += s[c];
  }
}

#if MC_X86
MC_AVX512 void scatter_cols_avx512(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t D,
                                   int64_t c0, int64_t c1) {
  for (int64_t n = 0; n < N; ++n) {
    float* d = dtable + static_cast<int64_t>(ids[n]) * D;
    const float* s = dout + n * D;
    for (int64_t c = c0; c < c1; c += 16) {
      __mmask16 m = vm::tail16(std::min<int64_t>(16, c1 - c));
      _mm512_mask_storeu_ps(d + c, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + c), _mm512_maskz_loadu_ps(m, s + c)));
    }
  }
}
MC_AVX2 void scatter_cols_avx2(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t D,
                               int64_t c0, int64_t c1) {
  for (int64_t n = 0; n < N; ++n) {
    float* d = dtable + static_cast<int64_t>(ids[n]) * D;
    const float* s = dout + n * D;
    int64_t c = c0;
    for (; c + 8 <= c1; c += 8) _mm256_storeu_ps(d + c, _mm256_add_ps(_mm256_loadu_ps(d + c), _mm256_loadu_ps(s + c)));
    for (; c < c1; ++c) d[c] += s[c];
  }
}
#endif

}  // namespace

Status embedding_check_ids(const char* op, const int32_t* ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n)
    if (ids[n] < 0 || ids[n] >= V)
      return Status::Error(Code::E_ARG, std::string(op) + ": argument 'ids' expected values in [0, " +
                                            std::to_string(V) + "), received " + std::to_string(ids[n]) +
                                            " at position " + std::to_string(n));
  return Status::Ok();
}

void embedding_forward_cpu(float* out, const int32_t* ids, const float* table, int64_t N, int64_t D) {
  parallel_for(N, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t n = b; n < e; ++n)
      std::memcpy(out + n * D, table + static_cast<int64_t>(ids[n]) * D, static_cast<size_t>(D) * sizeof(float));
  });
}

void embedding_backward_cpu(float* dtable, const int32_t* ids, const float* dout, int64_t N, int64_t D) {
  auto fn = scatter_cols_scalar;
#if MC_X86
  Simd s = simd_level();
  if (s == Simd::Avx512) fn = scatter_cols_avx512;
  else if (s == Simd::Avx2) fn = scatter_cols_avx2;
#endif
  const int64_t nblocks = (D + kColBlock - 1) / kColBlock;
  parallel_for(nblocks, 1, [&](int64_t b0, int64_t b1, int) {
    fn(dtable, ids, dout, N, D, b0 * kColBlock, std::min(D, b1 * kColBlock));
  });
}

// ---------------- op adapters ----------------

// Shapes and dtypes of embedding_forward (ids, table, out) and embedding_backward (ids, dout, dtable),
// shared by the CPU and CUDA adapters; the ids' values are checked separately (embedding_check_ids).
Status embedding_check_args(const OpArgs& a, bool backward, int64_t* N, int64_t* V, int64_t* D) {
  const char* op = backward ? "embedding_backward" : "embedding_forward";
  MC_RETURN_IF_ERROR(check_count(op, a, 3, 0, 0));
  const TensorView &ids = a.t[0], &rows = backward ? a.t[1] : a.t[2], &table = backward ? a.t[2] : a.t[1];
  const char* rows_name = backward ? "dout" : "out";
  const char* table_name = backward ? "dtable" : "table";
  MC_RETURN_IF_ERROR(check_dtype(op, "ids", ids, DType::I32));
  MC_RETURN_IF_ERROR(check_dtype(op, backward ? "dout" : "table", a.t[1], DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, backward ? "dtable" : "out", a.t[2], DType::F32));
  MC_RETURN_IF_ERROR(check_arg(op, table_name, table.ndim == 2 && table.dim(0) > 0 && table.dim(1) > 0,
                               "shape [V, D] with V, D > 0", "shape " + table.shape_str()));
  *N = ids.numel();
  *V = table.dim(0);
  *D = table.dim(1);
  return check_numel(op, rows_name, rows, *N * *D);
}

Status op_embedding_forward_cpu(const OpArgs& a) {
  int64_t N = 0, V = 0, D = 0;
  MC_RETURN_IF_ERROR(embedding_check_args(a, false, &N, &V, &D));
  const TensorView &ids = a.t[0], &table = a.t[1], &out = a.t[2];
  MC_RETURN_IF_ERROR(embedding_check_ids("embedding_forward", ids.i32(), N, V));
  embedding_forward_cpu(out.f32(), ids.i32(), table.f32(), N, D);
  return Status::Ok();
}

Status op_embedding_backward_cpu(const OpArgs& a) {
  int64_t N = 0, V = 0, D = 0;
  MC_RETURN_IF_ERROR(embedding_check_args(a, true, &N, &V, &D));
  const TensorView &ids = a.t[0], &dout = a.t[1], &dtable = a.t[2];
  MC_RETURN_IF_ERROR(embedding_check_ids("embedding_backward", ids.i32(), N, V));
  embedding_backward_cpu(dtable.f32(), ids.i32(), dout.f32(), N, D);
  return Status::Ok();
}

}  // namespace mc
