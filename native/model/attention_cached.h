// Attention for cached inference: M new queries (rows [q0, q0+M) of the combined sequence) against
// all N = q0 + M keys (the cached prefix followed by the new tokens), under the same segment rules as
// the training kernel (kernels/attention). Decoding and denoising passes have few queries, so this is
// a per-(head, query) pass over the visible key runs: scores into a scratch row, then softmax and the
// weighted sum of V; no score matrix beyond one row per thread is kept.
#pragma once
#include <cstdint>

#include "../../kernels/common/status.h"

namespace mc {

// out[M,H,hd]; q[M,H,hd]; k,v[N,Hkv,hd]; seg[S,4] covers [0, N).
Status attention_cached_forward_cpu(float* out, const float* q, const float* k, const float* v, const int32_t* seg,
                                    int64_t S, int64_t N, int64_t q0, int64_t H, int64_t Hkv, int64_t hd, float scale);

}  // namespace mc
