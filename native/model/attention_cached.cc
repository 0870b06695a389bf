#include "attention_cached.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../../kernels/attention/attention.h"
#include "../../kernels/common/threadpool.h"

namespace mc {

Status attention_cached_forward_cpu(float* out, const float* q, const float* k, const float* v, const int32_t* seg,
                                    int64_t S, int64_t N, int64_t q0, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  MC_RETURN_IF_ERROR(attention_check_segments("attention_cached", seg, S, N));
  const int64_t M = N - q0;
  if (M <= 0) return Status::Ok();
  // segment of every token and, per segment, the visible key runs (earlier non-noise segments of the
  // same sample, merged when adjacent, then the segment itself)
  std::vector<int32_t> seg_of(static_cast<size_t>(N));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = seg[s * 4]; i < seg[s * 4 + 1]; ++i) seg_of[i] = static_cast<int32_t>(s);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> runs(static_cast<size_t>(S));
  for (int64_t s = 0; s < S; ++s) {
    auto& r = runs[s];
    for (int64_t t = 0; t < s; ++t) {
      if (seg[t * 4 + 3] != seg[s * 4 + 3] || seg[t * 4 + 2] == kAttnNoise) continue;
      if (!r.empty() && r.back().second == seg[t * 4]) r.back().second = seg[t * 4 + 1];
      else r.emplace_back(seg[t * 4], seg[t * 4 + 1]);
    }
  }
  const int64_t G = H / Hkv;
  // Two passes per (query, head): all visible scores into a scratch row (contiguous dot products the
  // compiler vectorises), then one max, one exp sweep and a weighted sum of V rows.
  parallel_for(M * H, 4, [&](int64_t b, int64_t e, int) {
    thread_local std::vector<float> sc;
    thread_local std::vector<int64_t> idx;
    std::vector<float> acc(static_cast<size_t>(hd));
    for (int64_t w = b; w < e; ++w) {
      const int64_t m = w / H, h = w % H, i = q0 + m, g = h / G;
      const int64_t s = seg_of[i];
      const float* qi = q + (m * H + h) * hd;
      idx.clear();
      for (auto& r : runs[s])
        for (int64_t j = r.first; j < r.second; ++j) idx.push_back(j);
      const int64_t own0 = seg[s * 4], own1 = seg[s * 4 + 2] == kAttnCausal ? i + 1 : seg[s * 4 + 1];
      for (int64_t j = own0; j < own1; ++j) idx.push_back(j);
      const int64_t nv = static_cast<int64_t>(idx.size());
      if (static_cast<int64_t>(sc.size()) < nv) sc.resize(static_cast<size_t>(nv));
      float mx = -INFINITY;
      for (int64_t t = 0; t < nv; ++t) {
        const float* kj = k + (idx[t] * Hkv + g) * hd;
        float d = 0.f;
#pragma omp simd reduction(+ : d)
        for (int64_t c = 0; c < hd; ++c) d += qi[c] * kj[c];
        d *= scale;
        sc[t] = d;
        mx = std::max(mx, d);
      }
      float den = 0.f;
      for (int64_t t = 0; t < nv; ++t) {
        sc[t] = std::exp(sc[t] - mx);
        den += sc[t];
      }
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t t = 0; t < nv; ++t) {
        const float p = sc[t];
        const float* vj = v + (idx[t] * Hkv + g) * hd;
#pragma omp simd
        for (int64_t c = 0; c < hd; ++c) acc[c] += p * vj[c];
      }
      float* o = out + (m * H + h) * hd;
      const float inv = 1.f / den;
      for (int64_t c = 0; c < hd; ++c) o[c] = acc[c] * inv;
    }
  });
  return Status::Ok();
}

}  // namespace mc
