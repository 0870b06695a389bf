// The one op table (see ops.h). Compiled into each addon build; the CUDA column names CUDA functions
// only when the build has CUDA (METACOT_WITH_CUDA), so the CPU-only addon links without them.
#include "ops.h"

#include "elementwise/elementwise.h"
#include "gemm/gemm.h"
#include "random/random.h"
#include "sampler/sampler.h"
#include "sampler/flow.h"
#include "grpo/grpo.h"
#include "embedding/embedding.h"
#include "loss/loss.h"
#include "optim/optim.h"
#include "rmsnorm/rmsnorm.h"
#include "rope/rope.h"
#include "attention/attention.h"
#include "swiglu/swiglu.h"
#include "timestep/timestep.h"

#if defined(METACOT_WITH_CUDA)
#define MC_CUDA(fn) fn
#else
#define MC_CUDA(fn) nullptr
#endif

namespace mc {

namespace {
const OpDef kOps[] = {
    {"fill", op_fill_cpu, MC_CUDA(op_fill_cuda)},
    {"add", op_add_cpu, MC_CUDA(op_add_cuda)},
    {"randn", op_randn_cpu, MC_CUDA(op_randn_cuda)},
    {"silu_forward", op_silu_forward_cpu, MC_CUDA(op_silu_forward_cuda)},
    {"silu_backward", op_silu_backward_cpu, MC_CUDA(op_silu_backward_cuda)},
    {"bias_add", op_bias_add_cpu, MC_CUDA(op_bias_add_cuda)},
    {"bias_grad", op_bias_grad_cpu, MC_CUDA(op_bias_grad_cuda)},
    {"gemm", op_gemm_cpu, MC_CUDA(op_gemm_cuda)},
    {"gemm_grouped", op_gemm_grouped_cpu, MC_CUDA(op_gemm_grouped_cuda)},
    {"rmsnorm_forward", op_rmsnorm_forward_cpu, MC_CUDA(op_rmsnorm_forward_cuda)},
    {"rmsnorm_backward", op_rmsnorm_backward_cpu, MC_CUDA(op_rmsnorm_backward_cuda)},
    {"rope_forward", op_rope_forward_cpu, MC_CUDA(op_rope_forward_cuda)},
    {"rope_backward", op_rope_backward_cpu, MC_CUDA(op_rope_backward_cuda)},
    {"attention_forward", op_attention_forward_cpu, MC_CUDA(op_attention_forward_cuda)},
    {"attention_backward", op_attention_backward_cpu, MC_CUDA(op_attention_backward_cuda)},
    {"swiglu_forward", op_swiglu_forward_cpu, MC_CUDA(op_swiglu_forward_cuda)},
    {"swiglu_backward", op_swiglu_backward_cpu, MC_CUDA(op_swiglu_backward_cuda)},
    {"embedding_forward", op_embedding_forward_cpu, MC_CUDA(op_embedding_forward_cuda)},
    {"embedding_backward", op_embedding_backward_cpu, MC_CUDA(op_embedding_backward_cuda)},
    {"cross_entropy", op_cross_entropy_cpu, MC_CUDA(op_cross_entropy_cuda)},
    {"mse_forward", op_mse_forward_cpu, MC_CUDA(op_mse_forward_cuda)},
    {"mse_backward", op_mse_backward_cpu, MC_CUDA(op_mse_backward_cuda)},
    {"adamw", op_adamw_cpu, MC_CUDA(op_adamw_cuda)},
    {"timestep_embedding", op_timestep_embedding_cpu, MC_CUDA(op_timestep_embedding_cuda)},
    {"cfg_combine", op_cfg_combine_cpu, MC_CUDA(op_cfg_combine_cuda)},
    {"flow_step", op_flow_step_cpu, MC_CUDA(op_flow_step_cuda)},
    {"flow_noise", op_flow_noise_cpu, MC_CUDA(op_flow_noise_cuda)},
    {"grpo_advantages", op_grpo_advantages_cpu, MC_CUDA(op_grpo_advantages_cuda)},
    {"grpo_loss", op_grpo_loss_cpu, MC_CUDA(op_grpo_loss_cuda)},
};
}  // namespace

const OpDef* op_table(int* count) {
  *count = static_cast<int>(sizeof(kOps) / sizeof(kOps[0]));
  return kOps;
}

}  // namespace mc
