// Run-time CPU feature detection: kernels compile AVX2 and AVX-512 paths with target attributes and
// pick one per call, so one binary is fast on this machine and still runs on an older x86-64 CPU.
// METACOT_SIMD=scalar|avx2|avx512 caps the choice (tests use it to check every path).
#pragma once

namespace mc {

enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Simd simd_level();             // the level in use (detected, capped by METACOT_SIMD / set_simd_cap)
void set_simd_cap(Simd cap);   // lower (or restore) the cap at run time
const char* simd_name(Simd s);

}  // namespace mc
