// Host checks of the plan and mask arithmetic of the CUDA attention (kernels/attention/cuda.cu), which
// is included as is: build_plan (per-token metadata, query and key tiles) and the __host__ __device__
// mask and walk helpers (visible, own_end, qtile_key_end, skip_noise, key_query_begin / end) decide
// which (query, key) pairs every kernel visits, so they are verified here without a GPU, on every CI
// run (test/native/cuda-host.test.ts compiles and runs this file wherever nvcc is found), against the
// mask rule of kernels/attention/attention.h evaluated by brute force. For every segment table:
//   1. the per-token metadata (sample and segment bounds, mode, end of the noise run) is right;
//   2. visible_tok(i, j) equals the rule for every pair;
//   3. query tiles and key tiles each partition [0, N) into <= 64-row pieces that never cross a
//      segment, each segment split into the fewest near-equal pieces;
//   4. the forward / dq key walk of each query tile (skip_noise steps up to qtile_key_end, keys staged
//      only when some row may see them, the per-element mask from the staged flags) visits each kept key
//      once, stays inside [0, N), and its mask equals the rule for every row of the tile and key of
//      every step, so that each visible pair is computed exactly once and nothing else is;
//   5. each key tile's query interval [qa, qb) holds every query that sees one of its keys, and the dk
//      dv mask (per-row metadata) equals the rule there;
//   6. the SIMT walks: per query, the keys visited are exactly the visible ones, once each; per key,
//      [key_query_begin, key_query_end) is exactly the set of queries that see it.
// Tables: the layouts of test/ops/attention.test.ts, hand-made edge cases (one long causal sample,
// ragged 65-row segments, noise runs across segments and samples, one-token segments, all noise) and
// thousands of random valid tables (fixed seeds). Prints one summary line; exits 1 on any failure.
#include "../../kernels/attention/cuda.cu"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>
#include <vector>

// cuda.cu's op adapters call these (defined in kernels/attention/cpu.cc, which needs the CPU kernels'
// sources); the checks below never reach the adapters, and only build valid tables (checked by
// valid_table, the same contract).
namespace mc {
Status attention_check_args(const OpArgs&, bool, AttnShape*) {
  std::fprintf(stderr, "attention_plan: attention_check_args is not available in this host test\n");
  std::abort();
}
Status attention_check_segments(const char*, const int32_t*, int64_t, int64_t, bool) {
  std::fprintf(stderr, "attention_plan: attention_check_segments is not available in this host test\n");
  std::abort();
}
}  // namespace mc

using namespace mc;
using Table = std::vector<int32_t>;  // rows [start, end, mode, sample]

#include "check.h"

// The contract of attention_check_segments (attention.h): contiguous sorted non-empty rows covering
// [0, N), mode 0..2, sample ids >= 0 and non-decreasing.
static bool valid_table(const Table& seg, int N) {
  const int S = static_cast<int>(seg.size() / 4);
  if (S == 0 || seg[0] != 0 || seg[(S - 1) * 4 + 1] != N) return false;
  for (int s = 0; s < S; ++s) {
    const int32_t* r = &seg[s * 4];
    if (r[1] <= r[0] || r[2] < 0 || r[2] > 2 || r[3] < 0) return false;
    if (s > 0 && (r[0] != seg[(s - 1) * 4 + 1] || r[3] < seg[(s - 1) * 4 + 3])) return false;
  }
  return true;
}

// The rule of attention.h, as attentionMaskRef (test/ref/attention.ts) states it: never across
// samples; within its own segment causal -> j <= i, else all; earlier segments of the sample unless
// noise; never later segments.
static std::vector<uint8_t> rule_mask(const Table& seg, int N) {
  const int S = static_cast<int>(seg.size() / 4);
  std::vector<int> segOf(N);
  for (int s = 0; s < S; ++s)
    for (int i = seg[s * 4]; i < seg[s * 4 + 1]; ++i) segOf[i] = s;
  std::vector<uint8_t> m(static_cast<size_t>(N) * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const int si = segOf[i], sj = segOf[j];
      bool ok;
      if (seg[si * 4 + 3] != seg[sj * 4 + 3]) ok = false;
      else if (si == sj) ok = seg[si * 4 + 2] == kAttnCausal ? j <= i : true;
      else if (sj < si) ok = seg[sj * 4 + 2] != kAttnNoise;
      else ok = false;
      m[static_cast<size_t>(i) * N + j] = ok;
    }
  return m;
}

static long g_tables = 0, g_pairs = 0, g_visible = 0, g_qtiles = 0, g_ktiles = 0, g_walked = 0;

static void check_table(const Table& seg, int N, const char* name) {
  const int S = static_cast<int>(seg.size() / 4);
  CHECK(valid_table(seg, N), "%s: the test built an invalid table", name);
  if (!valid_table(seg, N)) return;
  ++g_tables;
  HostPlan p;
  build_plan(seg.data(), S, N, &p);
  const auto mask = rule_mask(seg, N);
  auto rule = [&](int i, int j) { return mask[static_cast<size_t>(i) * N + j] != 0; };
  CHECK(static_cast<int>(p.meta.size()) == N, "%s: %zu metadata rows for %d tokens", name, p.meta.size(), N);
  if (static_cast<int>(p.meta.size()) != N) return;
  const TokMeta* meta = p.meta.data();

  // 1. metadata
  for (int s = 0; s < S; ++s) {
    int a = s, b = s;  // the sample's first and last rows
    while (a > 0 && seg[(a - 1) * 4 + 3] == seg[s * 4 + 3]) --a;
    while (b + 1 < S && seg[(b + 1) * 4 + 3] == seg[s * 4 + 3]) ++b;
    for (int t = seg[s * 4]; t < seg[s * 4 + 1]; ++t) {
      int ne = t;  // end of the run of consecutive noise tokens holding t
      if (seg[s * 4 + 2] == kAttnNoise) {
        int r = s;
        while (r + 1 < S && seg[(r + 1) * 4 + 2] == kAttnNoise) ++r;
        ne = seg[r * 4 + 1];
      }
      const TokMeta& m = meta[t];
      CHECK(m.samp_start == seg[a * 4] && m.samp_end == seg[b * 4 + 1] && m.seg_start == seg[s * 4] &&
                m.seg_end == seg[s * 4 + 1] && m.mode == seg[s * 4 + 2] && m.noise_end == ne,
            "%s: metadata of token %d: sample [%d, %d) segment [%d, %d) mode %d noise_end %d; "
            "want [%d, %d) [%d, %d) %d %d",
            name, t, m.samp_start, m.samp_end, m.seg_start, m.seg_end, m.mode, m.noise_end, seg[a * 4], seg[b * 4 + 1],
            seg[s * 4], seg[s * 4 + 1], seg[s * 4 + 2], ne);
    }
  }

  // 2. the mask function
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      CHECK(visible_tok(meta, i, j) == rule(i, j), "%s: visible_tok(%d, %d) = %d, rule %d", name, i, j,
            visible_tok(meta, i, j), rule(i, j));
      ++g_pairs;
      g_visible += rule(i, j);
    }

  // 3. tile partitions: every token in one query and one key tile; per segment ceil(len / 64) tiles of
  //    near-equal size, the same row ranges for both lists
  auto check_partition = [&](const std::vector<Tile4>& tiles, const char* what) {
    std::vector<int> cover(N, 0);
    for (const Tile4& t : tiles) {
      const bool ok = 0 <= t.a && t.a < t.b && t.b <= N && t.b - t.a <= kTile;
      CHECK(ok, "%s: %s tile [%d, %d)", name, what, t.a, t.b);
      if (!ok) continue;
      CHECK(meta[t.a].seg_start == meta[t.b - 1].seg_start, "%s: %s tile [%d, %d) crosses a segment", name, what, t.a,
            t.b);
      for (int i = t.a; i < t.b; ++i) ++cover[i];
    }
    for (int i = 0; i < N; ++i) CHECK(cover[i] == 1, "%s: token %d in %d %s tiles", name, i, cover[i], what);
    for (int s = 0; s < S; ++s) {
      const int a = seg[s * 4], b = seg[s * 4 + 1];
      int n = 0, lo = kTile, hi = 0;
      for (const Tile4& t : tiles)
        if (t.a >= a && t.b <= b) ++n, lo = std::min(lo, t.b - t.a), hi = std::max(hi, t.b - t.a);
      CHECK(n == (b - a + kTile - 1) / kTile && hi - lo <= 1, "%s: segment [%d, %d) in %d %s tiles of %d..%d rows",
            name, a, b, n, what, lo, hi);
    }
  };
  check_partition(p.qtiles, "query");
  check_partition(p.ktiles, "key");
  {
    std::vector<std::pair<int, int>> qr, kr;
    for (const Tile4& t : p.qtiles) qr.push_back({t.a, t.b});
    for (const Tile4& t : p.ktiles) kr.push_back({t.a, t.b});
    std::sort(qr.begin(), qr.end());
    std::sort(kr.begin(), kr.end());
    CHECK(qr == kr, "%s: query and key tiles split the segments differently", name);
  }

  // 4. the forward / dq walk of each query tile, as attn_fwd_tc_kernel and attn_dq_tc_kernel run it
  std::vector<int> pair_count(static_cast<size_t>(N) * N, 0);
  for (const Tile4& t : p.qtiles) {
    ++g_qtiles;
    const int r0 = t.a, r1 = t.b;
    if (!(0 <= r0 && r0 < r1 && r1 <= N)) continue;  // reported above
    const TokMeta m0 = meta[r0];
    const int kend = qtile_key_end(m0, r1);
    CHECK(kend <= N, "%s: query tile [%d, %d) walks keys up to %d > N", name, r0, r1, kend);
    std::vector<int> staged(N, 0);
    int steps = 0;
    for (int kt = skip_noise(meta, m0.seg_start, m0.samp_start); kt < kend;
         kt = skip_noise(meta, m0.seg_start, kt + kTile)) {
      if (++steps > N + 1) {
        CHECK(false, "%s: query tile [%d, %d): the key walk does not end", name, r0, r1);
        break;
      }
      const int k1 = std::min(kt + kTile, kend);
      CHECK(kt >= 0 && kt < k1 && k1 <= N, "%s: query tile [%d, %d) key step [%d, %d)", name, r0, r1, kt, k1);
      for (int c = 0; c < kTile; ++c) {
        const int j = kt + c;
        // stage_keys: flag 0 past k1, 2 noise, 1 else; keep: K / V staged (not zeros): in the step and
        // not an earlier noise key
        const int flag = j < k1 ? (meta[j].mode == kAttnNoise ? 2 : 1) : 0;
        const bool keep = j < k1 && (j >= m0.seg_start || meta[j].mode != kAttnNoise);
        if (keep) {
          CHECK(staged[j] == 0, "%s: query tile [%d, %d) stages key %d twice", name, r0, r1, j);
          ++staged[j];
        }
        for (int i = r0; i < r1; ++i) {
          const bool e = flag != 0 && visible(m0.samp_start, m0.seg_start, own_end(m0, i), j, flag == 2);
          if (j < N) CHECK(e == rule(i, j), "%s: tile mask (%d, %d) = %d, rule %d", name, i, j, e, rule(i, j));
          if (e) {
            CHECK(keep, "%s: visible key %d staged as zeros for row %d", name, j, i);
            if (j < N) ++pair_count[static_cast<size_t>(i) * N + j];
          }
        }
      }
    }
    for (int j = 0; j < N; ++j) g_walked += static_cast<long>(staged[j]) * (r1 - r0);
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      CHECK(pair_count[static_cast<size_t>(i) * N + j] == (rule(i, j) ? 1 : 0),
            "%s: pair (%d, %d) computed %d times by the query tiles, rule %d", name, i, j,
            pair_count[static_cast<size_t>(i) * N + j], rule(i, j));

  // 5. key tiles: [qa, qb) holds every query that sees a key of the tile; the dk dv mask there
  for (const Tile4& t : p.ktiles) {
    ++g_ktiles;
    const int c0 = t.a, c1 = t.b, qa = t.c, qb = t.d;
    const bool ok = 0 <= c0 && c0 < c1 && c1 <= N && 0 <= qa && qa < qb && qb <= N;
    CHECK(ok, "%s: key tile [%d, %d) queries [%d, %d)", name, c0, c1, qa, qb);
    if (!ok) continue;
    const bool key_noise = meta[c0].mode == kAttnNoise;  // as attn_dkv_tc_kernel: one segment per tile
    for (int j = c0; j < c1; ++j)
      for (int i = 0; i < N; ++i) {
        if (rule(i, j))
          CHECK(i >= qa && i < qb, "%s: key tile [%d, %d): query %d sees key %d but is outside [%d, %d)", name, c0, c1,
                i, j, qa, qb);
        if (i >= qa && i < qb) {
          const TokMeta mi = meta[i];
          const bool e = visible(mi.samp_start, mi.seg_start, own_end(mi, i), j, key_noise);
          CHECK(e == rule(i, j), "%s: dk dv mask (%d, %d) = %d, rule %d", name, i, j, e, rule(i, j));
        }
      }
  }

  // 6. SIMT walks
  for (int i = 0; i < N; ++i) {
    const TokMeta mi = meta[i];
    std::vector<int> seen(N, 0);
    int steps = 0;
    for (int j = skip_noise(meta, mi.seg_start, mi.samp_start); j < own_end(mi, i);
         j = skip_noise(meta, mi.seg_start, j + 1)) {
      const bool in = j >= 0 && j < N && ++steps <= N;
      CHECK(in, "%s: SIMT row %d visits key %d (step %d)", name, i, j, steps);
      if (!in) break;
      ++seen[j];
    }
    for (int j = 0; j < N; ++j)
      CHECK(seen[j] == (rule(i, j) ? 1 : 0), "%s: SIMT row %d visits key %d %d times, rule %d", name, i, j, seen[j],
            rule(i, j));
  }
  for (int j = 0; j < N; ++j) {
    const int qa = key_query_begin(meta[j], j), qb = key_query_end(meta[j]);
    for (int i = 0; i < N; ++i)
      CHECK((i >= qa && i < qb) == rule(i, j), "%s: SIMT key %d: query %d in [%d, %d) = %d, rule %d", name, j, i, qa,
            qb, i >= qa && i < qb, rule(i, j));
  }
}

// segmentTable (src/ops/attention.ts): samples of [length, mode] segments, sample ids 0, 1, 2, ...
static Table layout(const std::vector<std::vector<std::pair<int, int>>>& samples, int* N) {
  Table seg;
  int pos = 0;
  for (size_t s = 0; s < samples.size(); ++s)
    for (const auto& [len, mode] : samples[s]) {
      seg.insert(seg.end(), {pos, pos + len, mode, static_cast<int32_t>(s)});
      pos += len;
    }
  *N = pos;
  return seg;
}

// Many short segments, sometimes a long one; sample ids step by 1 or 2 (gaps are allowed).
static Table random_fine(std::mt19937& rng, int N) {
  Table seg;
  int pos = 0, sample = 0;
  std::uniform_int_distribution<int> mode(0, 2), coin(0, 3), len_small(1, 12), len_big(1, 150);
  while (pos < N) {
    const int len = std::min(coin(rng) == 0 ? len_big(rng) : len_small(rng), N - pos);
    if (coin(rng) == 0 && pos > 0) ++sample;
    if (coin(rng) == 0 && pos > 0) sample += 2;
    seg.insert(seg.end(), {pos, pos + len, mode(rng), sample});
    pos += len;
  }
  return seg;
}

// 1..7 segments, often longer than a tile, like the model's packed batches.
static Table random_coarse(std::mt19937& rng, int* N) {
  Table seg;
  int pos = 0, sample = 0;
  const int S = 1 + static_cast<int>(rng() % 7);
  for (int s = 0; s < S; ++s) {
    const int len = 1 + static_cast<int>(rng() % (rng() % 3 == 0 ? 150 : 20));
    if (s > 0 && rng() % 3 == 0) ++sample;
    seg.insert(seg.end(), {pos, pos + len, static_cast<int32_t>(rng() % 3), sample});
    pos += len;
  }
  *N = pos;
  return seg;
}

int main() {
  constexpr int C = kAttnCausal, F = kAttnFull, Z = kAttnNoise;
  int N = 0;
  // The layouts of test/ops/attention.test.ts (CASES).
  const std::vector<std::vector<std::vector<std::pair<int, int>>>> op_cases = {
      {{{1, C}}},
      {{{37, C}}},
      {{{37, F}}},
      {{{5, C}, {9, F}, {7, Z}, {16, C}}, {{1, C}}, {{3, Z}, {11, F}, {20, C}}},
      {{{6, F}, {7, C}}, {{4, Z}, {5, C}}},
      {{{9, F}, {10, C}, {4, Z}}},
      {{{70, F}, {33, F}, {21, C}, {80, C}, {40, Z}}, {{17, C}, {90, Z}}},
  };
  for (const auto& c : op_cases) {
    const Table seg = layout(c, &N);
    check_table(seg, N, "op test layout");
  }
  // Edge cases: one long causal sample (many tiles and key steps), ragged 65-row segments, noise runs
  // across segments and samples, one-token segments, all noise, a segment of exactly 64 then 1 token.
  const std::vector<std::pair<Table, int>> edge = {
      {{0, 300, 0, 0}, 300},
      {{0, 65, 1, 0, 65, 130, 0, 0}, 130},
      {{0, 70, 2, 0, 70, 140, 2, 0, 140, 150, 0, 0, 150, 220, 2, 1, 220, 290, 2, 1, 290, 300, 1, 1}, 300},
      {{0, 1, 0, 0, 1, 2, 2, 0, 2, 3, 1, 0, 3, 4, 0, 1, 4, 5, 2, 2}, 5},
      {{0, 100, 2, 0, 100, 200, 2, 0}, 200},
      {{0, 64, 0, 0, 64, 128, 0, 0, 128, 192, 2, 0, 192, 193, 0, 0}, 193},
      {{0, 5, 1, 0, 5, 12, 0, 0, 12, 18, 2, 0, 18, 22, 1, 1, 22, 31, 0, 1, 31, 37, 2, 1}, 37},
  };
  for (const auto& [seg, n] : edge) check_table(seg, n, "edge case");

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> nd(1, 300);
  for (int it = 0; it < 1000; ++it) {
    const int n = nd(rng);
    check_table(random_fine(rng, n), n, "random table (fine)");
  }
  for (int it = 0; it < 3000; ++it) {
    const Table seg = random_coarse(rng, &N);
    check_table(seg, N, "random table (coarse)");
  }

  if (g_fail)
    std::printf("attention_plan: FAILED %ld of %ld checks\n", g_fail, g_checks);
  else
    std::printf("attention_plan: ok, %ld checks (%ld tables, %ld pairs of which %ld visible, %ld query and %ld key "
                "tiles; the tiled key walk computes %.2f x the visible pairs)\n",
                g_checks, g_tables, g_pairs, g_visible, g_qtiles, g_ktiles, double(g_walked) / double(g_visible));
  return g_fail ? 1 : 0;
}
