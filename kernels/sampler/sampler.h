// Rectified-flow sampler kernels (DESIGN.md section 3).
//
// cfg_combine: BAGEL's two-scale classifier-free guidance with renormalisation, for T tokens of C
// channels. With v (full context), vt (no-text context), vi (no-image context):
//   v_t' = vt + s_t (v - vt)
//   text_channel: v_t' *= clamp(|v|_tok / (|v_t'|_tok + 1e-8), renorm_min, 1)   (per token)
//   v'   = vi + s_i (v_t' - vi)            (v' = v_t' when s_i <= 1, as BAGEL does)
//   global:  v' *= clamp(|v| / (|v'| + 1e-8), renorm_min, 1)   (norms over the whole tensor)
//   channel: v' *= clamp(|v|_tok / (|v'|_tok + 1e-8), renorm_min, 1)   (per token)
// Norms accumulate in double. Cost ~10*T*C FLOPs, 16*T*C bytes.
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

enum CfgRenorm : int32_t { kRenormGlobal = 0, kRenormChannel = 1, kRenormTextChannel = 2 };

void cfg_combine_cpu(float* out, const float* v, const float* vt, const float* vi, int64_t T, int64_t C, float s_text,
                     float s_img, float renorm_min, int mode);

Status op_cfg_combine_cpu(const OpArgs& a);
// CUDA versions (kernels/sampler/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_cfg_combine_cuda(const OpArgs& a);

}  // namespace mc
