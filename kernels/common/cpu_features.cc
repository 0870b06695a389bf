#include "cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace mc {
namespace {

Simd detect() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return Simd::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Simd::Avx2;
#endif
  return Simd::Scalar;
}

Simd env_cap() {
  const char* e = std::getenv("METACOT_SIMD");
  if (!e) return Simd::Avx512;
  if (!std::strcmp(e, "scalar")) return Simd::Scalar;
  if (!std::strcmp(e, "avx2")) return Simd::Avx2;
  return Simd::Avx512;
}

std::atomic<int> g_cap{-1};

}  // namespace

Simd simd_level() {
  static const Simd hw = detect();
  int cap = g_cap.load();
  if (cap < 0) {
    cap = static_cast<int>(env_cap());
    g_cap.store(cap);
  }
  return static_cast<int>(hw) < cap ? hw : static_cast<Simd>(cap);
}

void set_simd_cap(Simd cap) { g_cap.store(static_cast<int>(cap)); }

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Scalar: return "scalar";
    case Simd::Avx2: return "avx2";
    case Simd::Avx512: return "avx512";
  }
  return "?";
}

}  // namespace mc
