#include "attention_cached.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../../kernels/attention/attention.h"
#include "../../kernels/gemm/gemm.h"
#include "../../kernels/common/threadpool.h"

namespace mc {

Status attention_cached_forward_cpu(float* out, const float* q, const float* k, const float* v, const int32_t* seg,
                                    int64_t S, int64_t N, int64_t q0, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  MC_RETURN_IF_ERROR(attention_check_segments("attention_cached", seg, S, N, false));
  const int64_t M = N - q0;
  if (M <= 0) return Status::Ok();
  // visible key ranges of every new query (the same ranges the CUDA kernel walks)
  std::vector<int32_t> off, rng;
  attention_cached_ranges(seg, S, N, q0, &off, &rng);
  const int64_t G = H / Hkv;
  // Runs of consecutive queries that see the same key ranges (the queries of one full or noise
  // segment: a denoising pass's noise segments): per (run, head), the visible K and V rows are
  // gathered once and the scores and the weighted sum are two GEMMs (the register-blocked kernel),
  // with the softmax between them. Shorter runs (decoding) take the per-query path below.
  constexpr int64_t kMinRun = 8;
  std::vector<int64_t> run_start;  // runs of at least kMinRun queries: [start, end) pairs
  std::vector<char> in_run(static_cast<size_t>(M), 0);
  for (int64_t m = 0; m < M;) {
    int64_t e = m + 1;
    auto same = [&](int64_t a, int64_t b2) {
      const int32_t na = off[a + 1] - off[a];
      if (na != off[b2 + 1] - off[b2]) return false;
      for (int32_t r = 0; r < 2 * na; ++r)
        if (rng[2 * off[a] + r] != rng[2 * off[b2] + r]) return false;
      return true;
    };
    while (e < M && same(m, e)) ++e;
    if (e - m >= kMinRun) {
      run_start.push_back(m);
      run_start.push_back(e);
      for (int64_t i = m; i < e; ++i) in_run[static_cast<size_t>(i)] = 1;
    }
    m = e;
  }
  const int64_t nruns = static_cast<int64_t>(run_start.size() / 2);
  if (nruns > 0)
    parallel_for(nruns * H, 1, [&](int64_t b, int64_t e, int) {
      thread_local std::vector<float> kg, vg, sc, ob;
      for (int64_t w = b; w < e; ++w) {
        const int64_t run = w / H, h = w % H, g = h / G;
        const int64_t m0 = run_start[2 * run], m1 = run_start[2 * run + 1], mc = m1 - m0;
        int64_t nk = 0;
        for (int32_t r = off[m0]; r < off[m0 + 1]; ++r) nk += rng[2 * r + 1] - rng[2 * r];
        kg.resize(static_cast<size_t>(nk * hd));
        vg.resize(static_cast<size_t>(nk * hd));
        sc.resize(static_cast<size_t>(mc * nk));
        ob.resize(static_cast<size_t>(mc * hd));
        int64_t t = 0;
        for (int32_t r = off[m0]; r < off[m0 + 1]; ++r)
          for (int64_t j = rng[2 * r]; j < rng[2 * r + 1]; ++j, ++t) {
            std::memcpy(kg.data() + t * hd, k + (j * Hkv + g) * hd, static_cast<size_t>(hd) * sizeof(float));
            std::memcpy(vg.data() + t * hd, v + (j * Hkv + g) * hd, static_cast<size_t>(hd) * sizeof(float));
          }
        // scores [mc, nk] = scale * Q_run K^T (Q rows of head h are H*hd apart)
        gemm_cpu(false, true, mc, nk, hd, scale, q + (m0 * H + h) * hd, H * hd, kg.data(), hd, 0.f, sc.data(), nk);
        for (int64_t i = 0; i < mc; ++i) {
          float* row = sc.data() + i * nk;
          float mx = -INFINITY;
          for (int64_t j = 0; j < nk; ++j) mx = std::max(mx, row[j]);
          float den = 0.f;
          for (int64_t j = 0; j < nk; ++j) {
            row[j] = std::exp(row[j] - mx);
            den += row[j];
          }
          const float inv = 1.f / den;
          for (int64_t j = 0; j < nk; ++j) row[j] *= inv;
        }
        gemm_cpu(false, false, mc, hd, nk, 1.f, sc.data(), nk, vg.data(), hd, 0.f, ob.data(), hd);
        for (int64_t i = 0; i < mc; ++i)
          std::memcpy(out + ((m0 + i) * H + h) * hd, ob.data() + i * hd, static_cast<size_t>(hd) * sizeof(float));
      }
    });
  // Two passes per (query, head) for the rest: all visible scores into a scratch row (contiguous dot
  // products the compiler vectorises), then one max, one exp sweep and a weighted sum of V rows.
  parallel_for(M * H, 4, [&](int64_t b, int64_t e, int) {
    thread_local std::vector<float> sc;
    thread_local std::vector<int64_t> idx;
    std::vector<float> acc(static_cast<size_t>(hd));
    for (int64_t w = b; w < e; ++w) {
      const int64_t m = w / H, h = w % H, g = h / G;
      if (in_run[static_cast<size_t>(m)]) continue;
      const float* qi = q + (m * H + h) * hd;
      idx.clear();
      for (int32_t r = off[m]; r < off[m + 1]; ++r)
        for (int64_t j = rng[2 * r]; j < rng[2 * r + 1]; ++j) idx.push_back(j);
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

void attention_cached_ranges(const int32_t* seg, int64_t S, int64_t N, int64_t q0, std::vector<int32_t>* off,
                             std::vector<int32_t>* rng) {
  off->assign(1, 0);
  rng->clear();
  int64_t s = 0;
  for (int64_t i = q0; i < N; ++i) {
    while (s + 1 < S && seg[s * 4 + 1] <= i) ++s;
    int32_t open_start = -1, open_end = -1;  // the run being merged
    for (int64_t t = 0; t < s; ++t) {
      if (seg[t * 4 + 3] != seg[s * 4 + 3] || seg[t * 4 + 2] == kAttnNoise) continue;
      if (open_end == seg[t * 4]) {
        open_end = seg[t * 4 + 1];
      } else {
        if (open_start >= 0) rng->insert(rng->end(), {open_start, open_end});
        open_start = seg[t * 4];
        open_end = seg[t * 4 + 1];
      }
    }
    if (open_start >= 0) rng->insert(rng->end(), {open_start, open_end});
    const int32_t own1 = seg[s * 4 + 2] == kAttnCausal ? static_cast<int32_t>(i + 1) : seg[s * 4 + 1];
    rng->insert(rng->end(), {seg[s * 4], own1});
    off->push_back(static_cast<int32_t>(rng->size() / 2));
  }
}

}  // namespace mc
