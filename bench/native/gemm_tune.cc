// Standalone tuner/checker for the CPU GEMM (no addon): times gemm_cpu like bench/peers/openblas_gemm.c
// does (2 warm-up calls, >= 10 calls and >= 300 ms, median) and checks it against a float64 reference.
//   g++ -O3 -std=c++17 -pthread -Ikernels bench/native/gemm_tune.cc kernels/gemm/cpu.cc
//       kernels/common/*.cc -o build/bench/gemm_tune
//   build/bench/gemm_tune [--kernel i] [--mc n] [--kc n] [--nc n] [--split s] [--small f] [--serial f]
//                         [--threads t] [--simd scalar|avx2|avx512] [--check] SHAPE...   (SHAPE as the peer's)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "gemm/gemm.h"

using namespace mc;

static double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static int check_all() {
  const int64_t dims[] = {1, 2, 3, 4, 5, 13, 16, 17, 33, 37, 64, 129, 257};
  int bad = 0, n = 0;
  unsigned s = 1;
  auto rnd = [&] { return static_cast<float>((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f; };
  for (int64_t M : dims)
    for (int64_t N : dims)
      for (int64_t K : {1, 7, 37, 129, 300, 600}) {
        if (M * N * K > 257 * 257 * 129 && !(M == 257 && N == 129)) continue;
        for (int ta = 0; ta < 2; ++ta)
          for (int tb = 0; tb < 2; ++tb) {
            const int64_t batch = (M * N * K < 20000) ? 3 : 1;
            const int64_t lda = ta ? M + 3 : K + 1, ldb = tb ? K + 2 : N + 5, ldc = N + 4;
            const int64_t sa = (ta ? K : M) * lda, sb = 0, sc = M * ldc;  // B broadcast
            std::vector<float> A(batch * sa), B((tb ? N : K) * ldb), C(batch * sc), C0;
            for (auto& x : A) x = rnd();
            for (auto& x : B) x = rnd();
            for (auto& x : C) x = rnd();
            const float alpha = (n % 3 == 0) ? 1.0f : -0.75f, beta = (n % 4 == 0) ? 0.0f : (n % 4 == 1 ? 1.0f : 0.5f);
            if (beta == 0.0f)
              for (int64_t b = 0; b < batch; ++b)
                for (int64_t i = 0; i < M; ++i)
                  for (int64_t j = 0; j < N; ++j) C[b * sc + i * ldc + j] = NAN;
            C0 = C;
            gemm_batched_cpu(ta, tb, M, N, K, alpha, A.data(), lda, sa, B.data(), ldb, sb, beta, C.data(), ldc, sc,
                             batch);
            double maxerr = 0;
            for (int64_t b = 0; b < batch; ++b)
              for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                  double acc = 0;
                  for (int64_t k = 0; k < K; ++k) {
                    double a = ta ? A[b * sa + k * lda + i] : A[b * sa + i * lda + k];
                    double bb = tb ? B[j * ldb + k] : B[k * ldb + j];
                    acc += a * bb;
                  }
                  double ref = alpha * acc + (beta == 0.0f ? 0.0 : beta * C0[b * sc + i * ldc + j]);
                  double got = C[b * sc + i * ldc + j];
                  double err = std::fabs(got - ref) / (1e-3 + std::sqrt(static_cast<double>(K)) * 0.3);
                  if (!(err < 1e30)) err = 1e30;
                  maxerr = std::max(maxerr, err);
                }
            // padding between rows must be untouched
            for (int64_t b = 0; b < batch; ++b)
              for (int64_t i = 0; i < M; ++i)
                for (int64_t j = N; j < ldc; ++j)
                  if (!(C[b * sc + i * ldc + j] == C0[b * sc + i * ldc + j])) maxerr = 1e30;
            ++n;
            if (maxerr > 1e-5) {
              if (bad < 20)
                std::printf("MISMATCH M=%ld N=%ld K=%ld ta=%d tb=%d batch=%ld alpha=%g beta=%g err=%g\n", (long)M,
                            (long)N, (long)K, ta, tb, (long)batch, alpha, beta, maxerr);
              ++bad;
            }
          }
      }
  std::printf("check [%s, %s]: %d cases, %d mismatches\n", simd_name(simd_level()), gemm_kernel_name(), n, bad);
  return bad ? 1 : 0;
}

int main(int argc, char** argv) {
  GemmTuning t = gemm_get_tuning();
  bool check = false;
  int min_reps = 10;
  double min_ms = 300;
  std::vector<std::string> shapes;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoll(argv[++i]) : 0LL; };
    if (a == "--kernel") t.kernel = static_cast<int>(next());
    else if (a == "--mc") t.mc = next();
    else if (a == "--kc") t.kc = next();
    else if (a == "--nc") t.nc = next();
    else if (a == "--split") t.split = static_cast<int>(next());
    else if (a == "--small") t.small_flops = next();
    else if (a == "--serial") t.serial_flops = next();
    else if (a == "--threads") set_num_threads(static_cast<int>(next()));
    else if (a == "--min-reps") min_reps = static_cast<int>(next());
    else if (a == "--min-ms") min_ms = static_cast<double>(next());
    else if (a == "--simd") {
      std::string v = argv[++i];
      set_simd_cap(v == "scalar" ? Simd::Scalar : v == "avx2" ? Simd::Avx2 : Simd::Avx512);
    } else if (a == "--check") check = true;
    else shapes.push_back(a);
  }
  gemm_set_tuning(t);
  if (check) return check_all();
  std::printf("kernel %s, threads %d\n", gemm_kernel_name(), num_threads());
  for (const std::string& sh : shapes) {
    std::string spec = sh.find('=') != std::string::npos ? sh.substr(sh.find('=') + 1) : sh;
    long M, N, K;
    char ta = 'N', tb = 'N';
    if (std::sscanf(spec.c_str(), "%ldx%ldx%ld:%c%c", &M, &N, &K, &ta, &tb) < 3) return 2;
    std::vector<float> A(M * K), B(K * N), C(M * N);
    unsigned s = 12345u;
    for (auto& x : A) x = static_cast<float>((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (auto& x : B) x = static_cast<float>((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    const bool tA = ta == 'T', tB = tb == 'T';
    auto call = [&] {
      gemm_cpu(tA, tB, M, N, K, 1.0f, A.data(), tA ? M : K, B.data(), tB ? K : N, 0.0f, C.data(), N);
    };
    call();
    call();
    std::vector<double> ts;
    double total = 0;
    while (static_cast<int>(ts.size()) < min_reps || total * 1e3 < min_ms) {
      double t0 = now_s();
      call();
      double dt = now_s() - t0;
      ts.push_back(dt);
      total += dt;
    }
    std::sort(ts.begin(), ts.end());
    size_t n = ts.size();
    double med = n % 2 ? ts[n / 2] : 0.5 * (ts[n / 2 - 1] + ts[n / 2]);
    double fl = 2.0 * M * N * K;
    std::printf("%-24s %8.1f GFLOP/s (best %6.1f)  [%s]\n", sh.c_str(), fl / med * 1e-9, fl / ts[0] * 1e-9,
                gemm_plan_describe(tA, tB, M, N, K, 1).c_str());
  }
  return 0;
}
