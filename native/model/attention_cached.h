// Attention for cached inference: M new queries (rows [q0, q0+M) of the combined sequence) against
// all N = q0 + M keys (the cached prefix followed by the new tokens), under the same segment rules as
// the training kernel (kernels/attention). Decoding and denoising passes have few queries, so this is
// a per-(head, query) pass over the visible key runs: scores into a scratch row, then softmax and the
// weighted sum of V; no score matrix beyond one row per thread is kept.
#pragma once
#include <cstdint>

#include <vector>

#include "../../kernels/common/status.h"

namespace mc {

// out[M,H,hd]; q[M,H,hd]; k,v[N,Hkv,hd]; seg[S,4] covers [0, N).
Status attention_cached_forward_cpu(float* out, const float* q, const float* k, const float* v, const int32_t* seg,
                                    int64_t S, int64_t N, int64_t q0, int64_t H, int64_t Hkv, int64_t hd, float scale);

// The visible keys of each of the M new queries as key ranges [start, end): query m's ranges are
// rng[2*r .. 2*r+1] for r in [off[m], off[m+1]) (earlier non-noise segments of its sample, merged when
// adjacent, then its own segment up to itself when causal). seg must already be valid.
void attention_cached_ranges(const int32_t* seg, int64_t S, int64_t N, int64_t q0, std::vector<int32_t>* off,
                             std::vector<int32_t>* rng);

// CUDA (attention_cached_cuda.cu): the same attention with the ranges in device memory. One warp per
// (query, head), online softmax in fp32 over the visible keys; lanes split the head dim (hd <= 256).
Status attention_cached_forward_cuda(float* out, const float* q, const float* k, const float* v, const int32_t* off,
                                     const int32_t* rng, int64_t M, int64_t H, int64_t Hkv, int64_t hd, float scale);

}  // namespace mc
