// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based RNG.
// The value of element j depends only on (seed, stream, j), so the CPU and CUDA backends, and any
// thread split, produce the same numbers. Element j uses block j/4, lane j%4: one Philox call yields
// four uniforms, or four normals through two Box-Muller pairs (lanes 0,1 and 2,3).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MC_HD __host__ __device__ __forceinline__
#else
#define MC_HD inline
#endif

namespace mc {

struct U32x4 {
  uint32_t v[4];
};

MC_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

MC_HD U32x4 philox4x32_10(uint64_t seed, uint64_t block, uint64_t stream) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(0xD2511F53u, c0, &hi0, &lo0);
    mulhilo32(0xCD9E8D57u, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  U32x4 out;
  out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
  return out;
}

// uniform in (0, 1]: never 0, so log() in Box-Muller is finite
MC_HD float philox_uniform(uint32_t x) { return (static_cast<float>(x >> 8) + 1.0f) * (1.0f / 16777216.0f); }

// Four standard normals for one block, computed in float with the same formula on CPU and GPU.
// (Transcendentals may differ in the last ulp between the host libm and CUDA; the parity tests allow that.)
MC_HD void philox_normal4(uint64_t seed, uint64_t block, uint64_t stream, float out[4]) {
  U32x4 r = philox4x32_10(seed, block, stream);
  const float two_pi = 6.28318530717958647692f;
  for (int p = 0; p < 2; ++p) {
    float u1 = philox_uniform(r.v[2 * p]);
    float u2 = philox_uniform(r.v[2 * p + 1]);
    float rad = sqrtf(-2.0f * logf(u1));
    out[2 * p] = rad * cosf(two_pi * u2);
    out[2 * p + 1] = rad * sinf(two_pi * u2);
  }
}

}  // namespace mc
