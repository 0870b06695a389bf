// Standalone harness for the CPU attention kernels: checks forward and backward against a float64
// reference (dense mask built from the rules) on several layouts, then times the tiny model's shape.
// Build (from the repo root):
//   g++ -O3 -std=c++17 -pthread -Ikernels bench/native/attention_harness.cc kernels/attention/cpu.cc
//       kernels/common/threadpool.cc kernels/common/cpu_features.cc -o /tmp/attn_harness
// Run: /tmp/attn_harness [check|fuzz [seed]|bench [hd]] ; METACOT_SIMD=scalar|avx2|avx512 picks the path.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "common/cpu_features.h"
#include "common/threadpool.h"

using namespace mc;

struct Layout {
  std::vector<int32_t> seg;  // rows of 4
  int64_t N;
};

static Layout make_layout(const std::vector<std::vector<std::pair<int, int>>>& samples) {
  Layout L;
  int32_t pos = 0;
  for (size_t s = 0; s < samples.size(); ++s)
    for (auto [len, mode] : samples[s]) {
      L.seg.insert(L.seg.end(), {pos, pos + len, mode, static_cast<int32_t>(s)});
      pos += len;
    }
  L.N = pos;
  return L;
}

static bool visible(const std::vector<int32_t>& seg, const std::vector<int>& sid, int64_t i, int64_t j) {
  int si = sid[i], sj = sid[j];
  if (seg[si * 4 + 3] != seg[sj * 4 + 3]) return false;
  if (si == sj) return seg[si * 4 + 2] == 0 ? j <= i : true;
  if (sj < si) return seg[sj * 4 + 2] != 2;
  return false;
}

struct Ref {
  std::vector<double> out, lse, dq, dk, dv;
};

static Ref reference(const Layout& L, const std::vector<float>& q, const std::vector<float>& k,
                     const std::vector<float>& v, const std::vector<float>& dout, int64_t H, int64_t Hkv, int64_t hd,
                     double scale) {
  const int64_t N = L.N, S = L.seg.size() / 4, G = H / Hkv;
  std::vector<int> sid(N);
  for (int64_t s = 0; s < S; ++s)
    for (int32_t i = L.seg[s * 4]; i < L.seg[s * 4 + 1]; ++i) sid[i] = s;
  Ref R;
  R.out.assign(N * H * hd, 0);
  R.lse.assign(H * N, 0);
  R.dq.assign(N * H * hd, 0);
  R.dk.assign(N * Hkv * hd, 0);
  R.dv.assign(N * Hkv * hd, 0);
  std::vector<double> p(N);
  for (int64_t h = 0; h < H; ++h) {
    int64_t g = h / G;
    for (int64_t i = 0; i < N; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < N; ++j) {
        if (!visible(L.seg, sid, i, j)) { p[j] = -INFINITY; continue; }
        double s = 0;
        for (int64_t d = 0; d < hd; ++d) s += (double)q[(i * H + h) * hd + d] * k[(j * Hkv + g) * hd + d];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < N; ++j) { p[j] = std::isinf(p[j]) ? 0 : std::exp(p[j] - mx); sum += p[j]; }
      for (int64_t j = 0; j < N; ++j) p[j] /= sum;
      R.lse[h * N + i] = mx + std::log(sum);
      for (int64_t j = 0; j < N; ++j)
        if (p[j] != 0)
          for (int64_t d = 0; d < hd; ++d) R.out[(i * H + h) * hd + d] += p[j] * v[(j * Hkv + g) * hd + d];
      double D = 0;
      for (int64_t d = 0; d < hd; ++d) D += R.out[(i * H + h) * hd + d] * dout[(i * H + h) * hd + d];
      for (int64_t j = 0; j < N; ++j) {
        if (p[j] == 0) continue;
        double dp = 0;
        for (int64_t d = 0; d < hd; ++d) dp += (double)dout[(i * H + h) * hd + d] * v[(j * Hkv + g) * hd + d];
        double ds = p[j] * (dp - D);
        for (int64_t d = 0; d < hd; ++d) {
          R.dq[(i * H + h) * hd + d] += scale * ds * k[(j * Hkv + g) * hd + d];
          R.dk[(j * Hkv + g) * hd + d] += scale * ds * q[(i * H + h) * hd + d];
          R.dv[(j * Hkv + g) * hd + d] += p[j] * dout[(i * H + h) * hd + d];
        }
      }
    }
  }
  return R;
}

static double maxerr(const std::vector<float>& a, const std::vector<double>& b, double* maxref) {
  double e = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(a[i] - b[i]);
    if (!(d <= e)) e = d;  // NaN -> NaN
    m = std::max(m, std::fabs(b[i]));
  }
  *maxref = m;
  return e;
}

static int check_case(const char* name, const Layout& L, int64_t H, int64_t Hkv, int64_t hd, uint32_t seed) {
  const int64_t N = L.N, S = L.seg.size() / 4;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(N * H * hd), k(N * Hkv * hd), v(N * Hkv * hd), dout(N * H * hd);
  for (auto& x : q) x = nd(rng);
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  for (auto& x : dout) x = nd(rng);
  const float scale = 1.f / std::sqrt((float)hd);
  std::vector<float> out(N * H * hd, NAN), lse(H * N, NAN), dq(N * H * hd, NAN), dk(N * Hkv * hd, NAN),
      dv(N * Hkv * hd, NAN);
  Status st = attention_forward_cpu(out.data(), lse.data(), q.data(), k.data(), v.data(), L.seg.data(), S, N, H, Hkv,
                                    hd, scale);
  if (!st.ok()) { printf("%s: %s\n", name, st.message.c_str()); return 1; }
  st = attention_backward_cpu(dq.data(), dk.data(), dv.data(), q.data(), k.data(), v.data(), L.seg.data(), S,
                              out.data(), lse.data(), dout.data(), N, H, Hkv, hd, scale);
  if (!st.ok()) { printf("%s: %s\n", name, st.message.c_str()); return 1; }
  Ref R = reference(L, q, k, v, dout, H, Hkv, hd, scale);
  double m1, m2, m3, m4, m5;
  double e1 = maxerr(out, R.out, &m1), e2 = maxerr(lse, R.lse, &m2), e3 = maxerr(dq, R.dq, &m3),
         e4 = maxerr(dk, R.dk, &m4), e5 = maxerr(dv, R.dv, &m5);
  bool ok = e1 <= 1e-5 * std::max(1.0, m1) && e2 <= 1e-5 * std::max(1.0, m2) && e3 <= 2e-5 * std::max(1.0, m3) &&
            e4 <= 2e-5 * std::max(1.0, m4) && e5 <= 2e-5 * std::max(1.0, m5);
  printf("%-28s N=%-4ld H=%ld Hkv=%ld hd=%-3ld out %.2e lse %.2e dq %.2e dk %.2e dv %.2e  %s\n", name, (long)N,
         (long)H, (long)Hkv, (long)hd, e1, e2, e3, e4, e5, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}

static Layout tiny_layout() {
  // 2 samples of [full 64 | full 64 | causal 32 | causal 48 | noise 64] = 272 each... padded to 512 with
  // a third layout per sample: [full 64 | full 64 | causal 32 | causal 48 | noise 48] = 256 each.
  return make_layout({{{64, 1}, {64, 1}, {32, 0}, {48, 0}, {48, 2}}, {{64, 1}, {64, 1}, {32, 0}, {48, 0}, {48, 2}}});
}

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  printf("simd: %s, threads: %d\n", simd_name(simd_level()), num_threads());
  if (mode == "check") {
    int fails = 0;
    Layout mixed = make_layout({{{5, 0}, {9, 1}, {7, 2}, {16, 0}}, {{1, 0}}, {{3, 2}, {11, 1}, {20, 0}}});
    Layout one = make_layout({{{1, 0}}});
    Layout c37 = make_layout({{{37, 0}}});
    Layout f37 = make_layout({{{37, 1}}});
    Layout big = make_layout({{{70, 1}, {33, 2}, {150, 0}, {20, 2}, {90, 0}}, {{100, 1}, {17, 0}}});
    fails += check_case("one token", one, 2, 1, 64, 1);
    fails += check_case("causal 37", c37, 4, 1, 64, 2);
    fails += check_case("full 37", f37, 2, 2, 128, 3);
    fails += check_case("mixed hd64 4:1", mixed, 4, 1, 64, 4);
    fails += check_case("mixed hd128 2:1", mixed, 4, 2, 128, 5);
    fails += check_case("mixed hd2", mixed, 2, 1, 2, 6);
    fails += check_case("mixed hd18", mixed, 3, 3, 18, 7);
    fails += check_case("mixed hd256", mixed, 2, 1, 256, 8);
    fails += check_case("mixed hd40", mixed, 2, 2, 40, 9);
    fails += check_case("big hd64 2:1", big, 4, 2, 64, 10);
    fails += check_case("big hd128 1:1", big, 2, 2, 128, 11);
    fails += check_case("tiny", tiny_layout(), 4, 2, 64, 12);
    printf("%d failures\n", fails);
    return fails ? 1 : 0;
  }
  if (mode == "fuzz") {
    // random layouts (1-4 samples of 1-5 segments, lengths 1-90, any mode), random GQA and head_dim
    std::mt19937 rng(argc > 2 ? atoi(argv[2]) : 7);
    int fails = 0;
    for (int it = 0; it < 40; ++it) {
      std::vector<std::vector<std::pair<int, int>>> samples(1 + rng() % 4);
      for (auto& sm : samples) {
        sm.resize(1 + rng() % 5);
        for (auto& sg : sm) sg = {1 + static_cast<int>(rng() % (rng() % 3 == 0 ? 90 : 20)), static_cast<int>(rng() % 3)};
      }
      const int64_t hds[] = {2, 6, 16, 24, 64, 128, 130, 256};
      const int64_t hd = hds[rng() % 8];
      const int64_t Hkv = 1 + rng() % 3, G = 1 + rng() % 4;
      char name[64];
      snprintf(name, sizeof name, "fuzz %d", it);
      fails += check_case(name, make_layout(samples), Hkv * G, Hkv, hd, 1000 + it);
    }
    printf("%d failures\n", fails);
    return fails ? 1 : 0;
  }
  // bench
  int64_t hd = argc > 2 ? atoi(argv[2]) : 64;
  Layout L = tiny_layout();
  const int64_t N = L.N, S = L.seg.size() / 4, H = 4, Hkv = 2;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(N * H * hd), k(N * Hkv * hd), v(N * Hkv * hd), dout(N * H * hd), out(N * H * hd), lse(H * N),
      dq(N * H * hd), dk(N * Hkv * hd), dv(N * Hkv * hd);
  for (auto& x : q) x = nd(rng);
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  for (auto& x : dout) x = nd(rng);
  const float scale = 1.f / std::sqrt((float)hd);
  std::vector<int> sid(N);
  for (int64_t s = 0; s < S; ++s)
    for (int32_t i = L.seg[s * 4]; i < L.seg[s * 4 + 1]; ++i) sid[i] = s;
  double pairs = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) pairs += visible(L.seg, sid, i, j);
  auto time = [&](auto&& f) {
    for (int i = 0; i < 20; ++i) f();
    double best = 1e9;
    for (int rep = 0; rep < 7; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      int iters = 50;
      for (int i = 0; i < iters; ++i) f();
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
      best = std::min(best, dt);
    }
    return best;
  };
  double tf = time([&] {
    attention_forward_cpu(out.data(), lse.data(), q.data(), k.data(), v.data(), L.seg.data(), S, N, H, Hkv, hd, scale);
  });
  double tb = time([&] {
    attention_backward_cpu(dq.data(), dk.data(), dv.data(), q.data(), k.data(), v.data(), L.seg.data(), S, out.data(),
                           lse.data(), dout.data(), N, H, Hkv, hd, scale);
  });
  double ff = 4.0 * pairs * hd * H, fb = 10.0 * pairs * hd * H;  // useful FLOPs (bwd: 5 products)
  printf("N=%ld H=%ld Hkv=%ld hd=%ld visible=%.0f (%.1f%%)\n", (long)N, (long)H, (long)Hkv, (long)hd, pairs,
         100.0 * pairs / (N * N));
  printf("fwd %.1f us (%.1f GFLOP/s)   bwd %.1f us (%.1f GFLOP/s)\n", tf * 1e6, ff / tf * 1e-9, tb * 1e6,
         fb / tb * 1e-9);
  return 0;
}
