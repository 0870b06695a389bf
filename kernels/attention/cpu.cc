// CPU attention: the segment plan (ISA-neutral), the kernels of cpu_kernels.inc compiled for scalar,
// AVX2 and AVX-512 (picked per call by simd_level()), and the op adapters. See attention.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../common/cpu_features.h"
#include "../common/threadpool.h"
#include "../common/vmath.h"
#include "attention.h"

namespace mc {
namespace {  // everything up to the entry points has internal linkage

namespace attn {

constexpr int kKeyBlock = 64;  // keys per inner block
constexpr int kQTile = 64;     // max query rows per work item (forward, dq)
constexpr int kKTile = 64;     // max key rows per work item (dk/dv)
constexpr int64_t kOnePassMinItems = 8;  // (head, sample) items needed for the one-pass backward
constexpr int32_t kCausal = kAttnCausal, kNoise = kAttnNoise;

inline int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

struct Interval {
  int32_t a, b;
};
struct Seg {
  int32_t start, end, mode, sample_end;
  int32_t iv_begin, iv_end;  // the merged runs of earlier non-noise segments of the sample, in ivs
};
struct Tile {
  int32_t head, seg, r0, r1;  // head: query head (qtiles) or kv head (ktiles); rows [r0, r1)
  double cost;
};
struct Sample {
  int32_t seg_begin, seg_end, start, end;  // its segments [seg_begin, seg_end) and tokens [start, end)
  double cost;
};
struct Plan {
  int64_t N = 0, H = 0, Hkv = 0, hd = 0, group = 1;
  float scale = 1.f;
  std::vector<Seg> segs;
  std::vector<Interval> ivs;
  std::vector<Tile> qtiles, ktiles;  // forward / dq tiles; dk/dv tiles (two-pass backward)
  std::vector<Sample> samples;       // one-pass backward items, with the heads
  int64_t max_sample = 0;
  bool one_pass = false;
};

// Segments split into near-equal tiles of at most `tile` rows: tile i is [tile_start(i), tile_start(i+1)).
inline int64_t tiles_of(int32_t a, int32_t b, int tile) { return (static_cast<int64_t>(b - a) + tile - 1) / tile; }
inline int32_t tile_start(int32_t a, int32_t b, int64_t n, int64_t i) {
  return static_cast<int32_t>(a + static_cast<int64_t>(b - a) * i / n);
}

// A 64-byte aligned buffer owned by the calling thread, grown (never shrunk) on demand. The caller's
// thread owns it for the whole op, workers only write the slices it hands out. nullptr on failure.
float* scratch(int64_t n) {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<float, Free> buf;
  thread_local int64_t cap = 0;
  if (n > cap) {
    buf.reset();
    cap = 0;
    const size_t bytes = static_cast<size_t>((n * 4 + 63) / 64 * 64);
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p) return nullptr;
    buf.reset(p);
    cap = n;
  }
  return buf.get();
}

Plan make_plan(const int32_t* seg, int64_t S, int64_t N, int64_t H, int64_t Hkv, int64_t hd, float scale,
               bool backward) {
  Plan pl;
  pl.N = N;
  pl.H = H;
  pl.Hkv = Hkv;
  pl.hd = hd;
  pl.group = H / Hkv;
  pl.scale = scale;
  pl.segs.resize(static_cast<size_t>(S));
  int64_t sample_first = 0;
  for (int64_t s = 0; s < S; ++s) {
    const int32_t* r = seg + s * 4;
    if (s > 0 && r[3] != seg[(s - 1) * 4 + 3]) sample_first = s;
    Seg& g = pl.segs[static_cast<size_t>(s)];
    g.start = r[0];
    g.end = r[1];
    g.mode = r[2];
    g.iv_begin = static_cast<int32_t>(pl.ivs.size());
    for (int64_t e = sample_first; e < s; ++e) {
      const int32_t* re = seg + e * 4;
      if (re[2] == kNoise) continue;
      if (!pl.ivs.empty() && static_cast<int32_t>(pl.ivs.size()) > g.iv_begin && pl.ivs.back().b == re[0])
        pl.ivs.back().b = re[1];
      else
        pl.ivs.push_back({re[0], re[1]});
    }
    g.iv_end = static_cast<int32_t>(pl.ivs.size());
  }
  for (int64_t s = S - 1; s >= 0; --s) {
    const bool last = s == S - 1 || seg[(s + 1) * 4 + 3] != seg[s * 4 + 3];
    pl.segs[static_cast<size_t>(s)].sample_end = last ? seg[s * 4 + 1] : pl.segs[static_cast<size_t>(s + 1)].sample_end;
  }
  if (backward) {
    for (int64_t s = 0; s < S; ++s) {
      const Seg& g = pl.segs[static_cast<size_t>(s)];
      if (s == 0 || seg[s * 4 + 3] != seg[(s - 1) * 4 + 3])
        pl.samples.push_back({static_cast<int32_t>(s), static_cast<int32_t>(s), g.start, g.sample_end, 0.0});
      Sample& sm = pl.samples.back();
      sm.seg_end = static_cast<int32_t>(s + 1);
      // (keys x queries that see them) of this segment
      const double qa = g.mode == kCausal ? 0.5 * (g.start + g.end) : g.start;
      const double qb = g.mode == kNoise ? g.end : g.sample_end;
      sm.cost += (g.end - g.start) * (qb - qa + 16.0);
      pl.max_sample = std::max<int64_t>(pl.max_sample, g.sample_end - sm.start);
    }
    std::stable_sort(pl.samples.begin(), pl.samples.end(), [](const Sample& x, const Sample& y) { return x.cost > y.cost; });
    // One pass (5 products) when (head, sample) items are plentiful; two passes (7 products, finer
    // items) otherwise. The rule depends on the shapes only, never the thread count.
    pl.one_pass = H * static_cast<int64_t>(pl.samples.size()) >= kOnePassMinItems;
    if (const char* e = std::getenv("METACOT_ATTN_BWD")) pl.one_pass = e[0] == '1';
  }

  auto split = [](int32_t a, int32_t b, int tile, auto&& emit) {
    const int64_t n = tiles_of(a, b, tile);
    for (int64_t i = 0; i < n; ++i) emit(tile_start(a, b, n, i), tile_start(a, b, n, i + 1));
  };
  for (int64_t s = 0; s < S; ++s) {
    const Seg& g = pl.segs[static_cast<size_t>(s)];
    double earlier = 0;
    for (int32_t i = g.iv_begin; i < g.iv_end; ++i) earlier += pl.ivs[i].b - pl.ivs[i].a;
    split(g.start, g.end, kQTile, [&](int32_t r0, int32_t r1) {
      const double own = g.mode == kCausal ? 0.5 * (r0 + r1) - g.start + 1 : g.end - g.start;
      const double cost = (r1 - r0) * (earlier + own + 16.0);
      for (int64_t h = 0; h < H; ++h) pl.qtiles.push_back({static_cast<int32_t>(h), static_cast<int32_t>(s), r0, r1, cost});
    });
    if (!backward) continue;
    split(g.start, g.end, kKTile, [&](int32_t r0, int32_t r1) {
      const double qa = g.mode == kCausal ? 0.5 * (r0 + r1) : g.start;
      const double qb = g.mode == kNoise ? g.end : g.sample_end;
      const double cost = (r1 - r0) * static_cast<double>(pl.group) * (qb - qa + 16.0);
      for (int64_t x = 0; x < Hkv; ++x) pl.ktiles.push_back({static_cast<int32_t>(x), static_cast<int32_t>(s), r0, r1, cost});
    });
  }
  // Longest first: the dynamic scheduler then balances the uneven (causal, noise) tiles.
  auto by_cost = [](const Tile& x, const Tile& y) { return x.cost > y.cost; };
  std::stable_sort(pl.qtiles.begin(), pl.qtiles.end(), by_cost);
  std::stable_sort(pl.ktiles.begin(), pl.ktiles.end(), by_cost);
  return pl;
}

}  // namespace attn

// ------------------------------------- scalar -------------------------------------------------------
namespace attn_scalar {
struct Vec {
  using R = float;
  static constexpr int W = 1, ROWS = 4, QK_COLS = 4, PV_COLS = 4;
  static inline R zero() { return 0.f; }
  static inline R load(const float* p) { return *p; }
  static inline void store(float* p, R x) { *p = x; }
  static inline R set1(float x) { return x; }
  static inline R fma(R a, R b, R c) { return a * b + c; }
  static inline R add(R a, R b) { return a + b; }
  static inline R sub(R a, R b) { return a - b; }
  static inline R mul(R a, R b) { return a * b; }
  static inline R max(R a, R b) { return a > b ? a : b; }
  static inline float hmax(R x) { return x; }
  static inline float hsum(R x) { return x; }
  static inline R select_range(R x, int lo, int hi, R fill) { return (lo <= 0 && 0 < hi) ? x : fill; }
  static inline R exp2(R x) { return std::exp2(x); }
  // dst[d*W + l] = src[l*ld + d] for l < W, d < hd (W = 1: a row copy)
  static inline void transpose_panel(float* dst, const float* src, int64_t ld, int64_t hd) {
    (void)ld;
    std::memcpy(dst, src, static_cast<size_t>(hd) * sizeof(float));
  }
};
#include "cpu_kernels.inc"
}  // namespace attn_scalar

#if MC_X86
// 2^x on [-0.5, 0.5] after rounding: Taylor series of e^(f ln2) to degree 7 (error < 1e-8).
#define MC_EXP2_POLY(FMA, SET1, f)                                  \
  FMA(FMA(FMA(FMA(FMA(FMA(FMA(SET1(1.5252733804059838e-05f), f, SET1(1.5403530393381606e-04f)), f, \
                          SET1(1.3333558146428441e-03f)),                                        \
                      f, SET1(9.6181291076284770e-03f)),                                         \
                  f, SET1(5.5504108664821576e-02f)),                                             \
              f, SET1(2.4022650695910071e-01f)),                                                 \
          f, SET1(6.9314718055994531e-01f)),                                                     \
      f, SET1(1.0f))

// ------------------------------------- AVX2 ---------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace attn_avx2 {
struct Vec {
  using R = __m256;
  static constexpr int W = 8, ROWS = 6, QK_COLS = 2, PV_COLS = 2;
  static inline R zero() { return _mm256_setzero_ps(); }
  static inline R load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, R x) { _mm256_storeu_ps(p, x); }
  static inline R set1(float x) { return _mm256_set1_ps(x); }
  static inline R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static inline R add(R a, R b) { return _mm256_add_ps(a, b); }
  static inline R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static inline R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static inline R max(R a, R b) { return _mm256_max_ps(a, b); }
  static inline float hmax(R x) { return vm::hmax256(x); }
  static inline float hsum(R x) { return vm::hsum256(x); }
  static inline R select_range(R x, int lo, int hi, R fill) {
    const R iota = _mm256_setr_ps(0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f);
    const R m = _mm256_and_ps(_mm256_cmp_ps(iota, _mm256_set1_ps(static_cast<float>(lo)), _CMP_GE_OQ),
                              _mm256_cmp_ps(iota, _mm256_set1_ps(static_cast<float>(hi)), _CMP_LT_OQ));
    return _mm256_blendv_ps(fill, x, m);
  }
  static inline R exp2(R x) {
    const R n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const R f = _mm256_sub_ps(x, n);
    const R p = MC_EXP2_POLY(_mm256_fmadd_ps, _mm256_set1_ps, f);
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const R r = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    // below 2^-126 (and the -inf of masked scores): exactly 0; NaN compares false and propagates
    return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-126.f), _CMP_LT_OQ));
  }
  // dst[d*8 + l] = src[l*ld + d]: 8x8 register transposes, a scalar tail for hd % 8
  static inline void transpose_panel(float* dst, const float* src, int64_t ld, int64_t hd) {
    int64_t d = 0;
    for (; d + 8 <= hd; d += 8) {
      __m256 r[8];
      for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(src + l * ld + d);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* o = dst + d * 8;
      _mm256_storeu_ps(o + 0, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(o + 32, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(o + 40, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(o + 48, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(o + 56, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; d < hd; ++d)
      for (int l = 0; l < 8; ++l) dst[d * 8 + l] = src[l * ld + d];
  }
};
#include "cpu_kernels.inc"
}  // namespace attn_avx2
#pragma GCC pop_options

// ------------------------------------- AVX-512 ------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma")
namespace attn_avx512 {
struct Vec {
  using R = __m512;
  static constexpr int W = 16, ROWS = 6, QK_COLS = 4, PV_COLS = 4;
  static inline R zero() { return _mm512_setzero_ps(); }
  static inline R load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, R x) { _mm512_storeu_ps(p, x); }
  static inline R set1(float x) { return _mm512_set1_ps(x); }
  static inline R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static inline R add(R a, R b) { return _mm512_add_ps(a, b); }
  static inline R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static inline R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static inline R max(R a, R b) { return _mm512_max_ps(a, b); }
  static inline float hmax(R x) { return _mm512_reduce_max_ps(x); }
  static inline float hsum(R x) { return _mm512_reduce_add_ps(x); }
  static inline R select_range(R x, int lo, int hi, R fill) {
    const unsigned a = static_cast<unsigned>(std::clamp(lo, 0, 16)), b = static_cast<unsigned>(std::clamp(hi, 0, 16));
    const unsigned m = ((1u << b) - 1u) & ~((1u << a) - 1u);
    return _mm512_mask_blend_ps(static_cast<__mmask16>(m), fill, x);
  }
  static inline R exp2(R x) {
    const R n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const R f = _mm512_sub_ps(x, n);
    const R p = MC_EXP2_POLY(_mm512_fmadd_ps, _mm512_set1_ps, f);
    const R r = _mm512_scalef_ps(p, n);
    const __mmask16 small = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(small, r, _mm512_setzero_ps());
  }
  // dst[d*16 + l] = src[l*ld + d]: per 8 columns, rows l and l+8 share a zmm (two 8x8 transposes in
  // parallel lanes), then each output vector is one 256-bit half from each; scalar tail for hd % 8.
  static inline void transpose_panel(float* dst, const float* src, int64_t ld, int64_t hd) {
    int64_t d = 0;
    for (; d + 8 <= hd; d += 8) {
      __m512 r[8];
      for (int l = 0; l < 8; ++l)
        r[l] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(src + l * ld + d)),
                                  _mm256_loadu_ps(src + (l + 8) * ld + d), 1);
      const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
      const __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
      const __m512 t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]);
      const __m512 t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
      const __m512 u0 = _mm512_shuffle_ps(t0, t2, 0x44), u1 = _mm512_shuffle_ps(t0, t2, 0xEE);
      const __m512 u2 = _mm512_shuffle_ps(t1, t3, 0x44), u3 = _mm512_shuffle_ps(t1, t3, 0xEE);
      const __m512 u4 = _mm512_shuffle_ps(t4, t6, 0x44), u5 = _mm512_shuffle_ps(t4, t6, 0xEE);
      const __m512 u6 = _mm512_shuffle_ps(t5, t7, 0x44), u7 = _mm512_shuffle_ps(t5, t7, 0xEE);
      // 128-bit lanes: u* lane 0 = rows 0-3 cols a, lane 1 = rows 4-7 cols a (from r[4..7] halves)...
      // u0..u3 hold rows 0-3 (lanes 0, 1 for cols 0-3 / 4-7 of rows 0-3; lanes 2, 3 the same for rows
      // 8-11); u4..u7 rows 4-7 and 12-15. Column c of the block = 16 rows:
      //   rows 0-3: u[c%4] lane (c/4); rows 4-7: u[4 + c%4] lane (c/4); rows 8-11: u[c%4] lane 2 + c/4;
      //   rows 12-15: u[4 + c%4] lane 2 + c/4.
      const __m512 u[8] = {u0, u1, u2, u3, u4, u5, u6, u7};
      float* o = dst + d * 16;
      for (int c = 0; c < 8; ++c) {
        const __m512 a = u[c % 4], b = u[4 + c % 4];
        // lanes: [a.(c/4), b.(c/4), a.(2 + c/4), b.(2 + c/4)]
        const __m512 lo = _mm512_shuffle_f32x4(a, b, c < 4 ? 0x00 : 0x55);  // a.l, a.l, b.l, b.l
        const __m512 hi = _mm512_shuffle_f32x4(a, b, c < 4 ? 0xAA : 0xFF);  // a.2+l, a.2+l, b.2+l, b.2+l
        _mm512_storeu_ps(o + c * 16, _mm512_shuffle_f32x4(lo, hi, 0x88));   // lo.0, lo.2, hi.0, hi.2
      }
    }
    for (; d < hd; ++d)
      for (int l = 0; l < 16; ++l) dst[d * 16 + l] = src[l * ld + d];
  }
};
#include "cpu_kernels.inc"
}  // namespace attn_avx512
#pragma GCC pop_options
#undef MC_EXP2_POLY
#endif  // MC_X86

}  // namespace

// ------------------------------------- entry points -------------------------------------------------

Status attention_check_segments(const char* op, const int32_t* seg, int64_t S, int64_t N, bool sorted_samples) {
  // Messages match src/ops/attention.ts (checkSegments): "expected <rule for row i>, received row i = [...]".
  auto bad = [&](int64_t row, const std::string& expected) {
    const int32_t* r = seg + row * 4;
    return Status::Error(Code::E_ARG, std::string(op) + ": argument 'seg' expected " + expected + ", received row " +
                                          std::to_string(row) + " = [" + std::to_string(r[0]) + ", " +
                                          std::to_string(r[1]) + ", " + std::to_string(r[2]) + ", " +
                                          std::to_string(r[3]) + "]");
  };
  if (S == 0 && N > 0)
    return Status::Error(Code::E_ARG, std::string(op) + ": argument 'seg' expected segments covering [0, " +
                                          std::to_string(N) + "), received an empty table");
  for (int64_t s = 0; s < S; ++s) {
    const int32_t* r = seg + s * 4;
    const std::string row = "row " + std::to_string(s);
    if (s == 0 && r[0] != 0) return bad(s, row + " to start at 0");
    if (s > 0 && r[0] != seg[(s - 1) * 4 + 1])
      return bad(s, row + " to start at " + std::to_string(seg[(s - 1) * 4 + 1]) +
                        " (the previous row's end: segments are contiguous and sorted)");
    if (r[1] <= r[0]) return bad(s, row + " to end after its start (segments are non-empty)");
    if (r[1] > N) return bad(s, row + " to end at or before N = " + std::to_string(N));
    if (r[2] < 0 || r[2] > 2) return bad(s, row + " mode 0 (causal), 1 (full) or 2 (noise)");
    if (r[3] < 0) return bad(s, row + " sample >= 0");
    if (sorted_samples && s > 0 && r[3] < seg[(s - 1) * 4 + 3])
      return bad(s, row + " sample >= " + std::to_string(seg[(s - 1) * 4 + 3]) +
                        ", the previous row's (samples are contiguous and non-decreasing)");
  }
  if (S > 0 && seg[(S - 1) * 4 + 1] != N)
    return bad(S - 1, "row " + std::to_string(S - 1) + " to end at N = " + std::to_string(N) + " (segments cover [0, N))");
  return Status::Ok();
}

namespace {
Status oom(const char* op, int64_t floats) {
  return Status::Error(Code::E_OOM, std::string(op) + ": could not allocate " + std::to_string(floats * 4) +
                                        " bytes of packing scratch");
}
}  // namespace

Status attention_forward_cpu(float* out, float* lse, const float* q, const float* k, const float* v,
                                  const int32_t* seg, int64_t S, int64_t N, int64_t H, int64_t Hkv, int64_t hd,
                                  float scale, int64_t q_begin) {
  if (N == 0) return Status::Ok();
  attn::Plan pl = attn::make_plan(seg, S, N, H, Hkv, hd, scale, false);
  if (q_begin > 0) {
    // only the query rows from q_begin on (a segment start: query tiles never cross segments)
    bool at_start = false;
    for (int64_t s = 0; s < S; ++s) at_start = at_start || seg[s * 4] == q_begin;
    if (!at_start)
      return Status::Error(Code::E_ARG, "attention_forward: q_begin " + std::to_string(q_begin) + " is not a segment start");
    auto& qt = pl.qtiles;
    qt.erase(std::remove_if(qt.begin(), qt.end(), [&](const attn::Tile& t) { return t.r0 < q_begin; }), qt.end());
  }
  bool ok;
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: ok = attn_avx512::forward(pl, out, lse, q, k, v); break;
    case Simd::Avx2: ok = attn_avx2::forward(pl, out, lse, q, k, v); break;
    default: ok = attn_scalar::forward(pl, out, lse, q, k, v); break;
  }
#else
  ok = attn_scalar::forward(pl, out, lse, q, k, v);
#endif
  return ok ? Status::Ok() : oom("attention_forward", N * (H + 2 * Hkv) * (hd + 16));
}

Status attention_backward_cpu(float* dq, float* dk, float* dv, const float* q, const float* k, const float* v,
                                   const int32_t* seg, int64_t S, const float* out, const float* lse,
                                   const float* dout, int64_t N, int64_t H, int64_t Hkv, int64_t hd, float scale) {
  if (N == 0) return Status::Ok();
  const attn::Plan pl = attn::make_plan(seg, S, N, H, Hkv, hd, scale, true);
  bool ok;
#if MC_X86
  switch (simd_level()) {
    case Simd::Avx512: ok = attn_avx512::backward(pl, dq, dk, dv, q, k, v, out, lse, dout); break;
    case Simd::Avx2: ok = attn_avx2::backward(pl, dq, dk, dv, q, k, v, out, lse, dout); break;
    default: ok = attn_scalar::backward(pl, dq, dk, dv, q, k, v, out, lse, dout); break;
  }
#else
  ok = attn_scalar::backward(pl, dq, dk, dv, q, k, v, out, lse, dout);
#endif
  return ok ? Status::Ok() : oom("attention_backward", N * (4 * H + 3 * Hkv) * (hd + 16));
}

// ------------------------------------- op adapters --------------------------------------------------
namespace {

std::string dims_str(std::initializer_list<int64_t> d) {
  std::string s = "[";
  bool first = true;
  for (int64_t x : d) {
    if (!first) s += ", ";
    s += std::to_string(x);
    first = false;
  }
  return s + "]";
}

Status check_shape(const char* op, const char* arg, const TensorView& t, std::initializer_list<int64_t> dims) {
  bool ok = t.ndim == static_cast<int>(dims.size());
  int i = 0;
  for (int64_t d : dims) {
    if (!ok) break;
    ok = t.shape[i++] == d;
  }
  if (!ok)
    return Status::Error(Code::E_SHAPE, std::string(op) + ": argument '" + arg + "' expected shape " + dims_str(dims) +
                                            ", received " + t.shape_str());
  return Status::Ok();
}

}  // namespace

Status attention_check_args(const OpArgs& a, bool backward, AttnShape* d) {
  const char* op = backward ? "attention_backward" : "attention_forward";
  MC_RETURN_IF_ERROR(check_count(op, a, backward ? 10 : 6, 0, 1));
  // q, k, v, seg (tensors 0..3) and the scale: dtypes, ranks, the GQA and head_dim rules.
  const TensorView &q = a.t[0], &k = a.t[1], &v = a.t[2], &seg = a.t[3];
  MC_RETURN_IF_ERROR(check_dtype(op, "q", q, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "k", k, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "v", v, DType::F32));
  MC_RETURN_IF_ERROR(check_dtype(op, "seg", seg, DType::I32));
  if (q.ndim != 3)
    return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'q' expected shape [N, H, head_dim], received " +
                                            q.shape_str());
  d->N = q.shape[0];
  d->H = q.shape[1];
  d->hd = q.shape[2];
  if (k.ndim != 3 || k.shape[0] != d->N || k.shape[2] != d->hd)
    return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'k' expected shape [" + std::to_string(d->N) +
                                            ", Hkv, " + std::to_string(d->hd) + "], received " + k.shape_str());
  d->Hkv = k.shape[1];
  MC_RETURN_IF_ERROR(check_shape(op, "v", v, {d->N, d->Hkv, d->hd}));
  if (seg.ndim != 2 || seg.shape[1] != 4)
    return Status::Error(Code::E_SHAPE, std::string(op) + ": argument 'seg' expected shape [S, 4], received " +
                                            seg.shape_str());
  d->S = seg.shape[0];
  MC_RETURN_IF_ERROR(check_arg(op, "q", d->H >= 1, "at least 1 head", q.shape_str()));
  MC_RETURN_IF_ERROR(check_arg(op, "k", d->Hkv >= 1 && d->H % d->Hkv == 0,
                               "a kv head count dividing H = " + std::to_string(d->H), std::to_string(d->Hkv)));
  MC_RETURN_IF_ERROR(check_arg(op, "q", d->hd >= 2 && d->hd <= 256 && d->hd % 2 == 0,
                               "an even head_dim in [2, 256]", std::to_string(d->hd)));
  MC_RETURN_IF_ERROR(check_arg(op, "q", d->N <= std::numeric_limits<int32_t>::max() / 2,
                               "at most 2^30 tokens", std::to_string(d->N)));
  MC_RETURN_IF_ERROR(check_arg(op, "scale", std::isfinite(a.f[0]) && a.f[0] > 0.0, "a finite value > 0",
                               std::to_string(a.f[0])));
  d->scale = static_cast<float>(a.f[0]);
  // the outputs (forward: out, lse) or the rest of the backward's tensors
  const int64_t nout = backward ? 6 : 2;
  const char* names[6] = {"out", "lse", "dout", "dq", "dk", "dv"};
  for (int64_t i = 0; i < nout; ++i) MC_RETURN_IF_ERROR(check_dtype(op, names[i], a.t[4 + i], DType::F32));
  MC_RETURN_IF_ERROR(check_shape(op, "out", a.t[4], {d->N, d->H, d->hd}));
  MC_RETURN_IF_ERROR(check_shape(op, "lse", a.t[5], {d->H, d->N}));
  if (!backward) return Status::Ok();
  MC_RETURN_IF_ERROR(check_shape(op, "dout", a.t[6], {d->N, d->H, d->hd}));
  MC_RETURN_IF_ERROR(check_shape(op, "dq", a.t[7], {d->N, d->H, d->hd}));
  MC_RETURN_IF_ERROR(check_shape(op, "dk", a.t[8], {d->N, d->Hkv, d->hd}));
  return check_shape(op, "dv", a.t[9], {d->N, d->Hkv, d->hd});
}

Status op_attention_forward_cpu(const OpArgs& a) {
  AttnShape d;
  MC_RETURN_IF_ERROR(attention_check_args(a, false, &d));
  MC_RETURN_IF_ERROR(attention_check_segments("attention_forward", a.t[3].i32(), d.S, d.N));
  return attention_forward_cpu(a.t[4].f32(), a.t[5].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(), a.t[3].i32(),
                               d.S, d.N, d.H, d.Hkv, d.hd, d.scale);
}

Status op_attention_backward_cpu(const OpArgs& a) {
  AttnShape d;
  MC_RETURN_IF_ERROR(attention_check_args(a, true, &d));
  MC_RETURN_IF_ERROR(attention_check_segments("attention_backward", a.t[3].i32(), d.S, d.N));
  return attention_backward_cpu(a.t[7].f32(), a.t[8].f32(), a.t[9].f32(), a.t[0].f32(), a.t[1].f32(), a.t[2].f32(),
                                a.t[3].i32(), d.S, a.t[4].f32(), a.t[5].f32(), a.t[6].f32(), d.N, d.H, d.Hkv, d.hd,
                                d.scale);
}

}  // namespace mc
