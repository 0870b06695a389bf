// The one op table (see ops.h). Compiled into each addon build; the CUDA column names CUDA functions
// only when the build has CUDA (METACOT_WITH_CUDA), so the CPU-only addon links without them.
#include "ops.h"

#include "elementwise/elementwise.h"
#include "random/random.h"

#if defined(METACOT_WITH_CUDA)
#define MC_CUDA(fn) fn
#else
#define MC_CUDA(fn) nullptr
#endif

namespace mc {

namespace {
const OpDef kOps[] = {
    {"fill", op_fill_cpu, nullptr},
    {"add", op_add_cpu, nullptr},
    {"randn", op_randn_cpu, nullptr},
    {"silu_forward", op_silu_forward_cpu, nullptr},
    {"silu_backward", op_silu_backward_cpu, nullptr},
    {"bias_add", op_bias_add_cpu, nullptr},
    {"bias_grad", op_bias_grad_cpu, nullptr},
};
}  // namespace

const OpDef* op_table(int* count) {
  *count = static_cast<int>(sizeof(kOps) / sizeof(kOps[0]));
  return kOps;
}

}  // namespace mc
