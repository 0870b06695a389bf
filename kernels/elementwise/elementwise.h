// Elementwise and bias ops: fill, add (out = alpha*a + beta*b), SiLU forward/backward, bias add and
// bias gradient. Memory-bound: bytes moved = 4 * (inputs + outputs) * numel, FLOPs ~ numel.
// Plain loops the compiler vectorises (-O3); parallel over large ranges only, since spawning work
// for a 1k-element vector costs more than the loop itself.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

void fill_cpu(float* x, int64_t n, float value);
void add_cpu(float* out, const float* a, const float* b, int64_t n, float alpha, float beta);
void silu_forward_cpu(float* y, const float* x, int64_t n);
void silu_backward_cpu(float* dx, const float* x, const float* dy, int64_t n, bool accumulate);
void bias_add_cpu(float* out, const float* x, const float* b, int64_t N, int64_t D);
void bias_grad_cpu(float* db, const float* dy, int64_t N, int64_t D, bool accumulate);

// Count, f32 dtypes and sizes of an elementwise op's tensors (shared by the CPU and CUDA adapters):
// every tensor matches the first one's element count, except `row_arg` (a bias), whose count must
// divide it.
Status elementwise_check(const char* op, const OpArgs& a, std::initializer_list<const char*> names, int ni, int nf,
                         int row_arg = -1);

Status op_fill_cpu(const OpArgs& a);
Status op_add_cpu(const OpArgs& a);
Status op_silu_forward_cpu(const OpArgs& a);
Status op_silu_backward_cpu(const OpArgs& a);
Status op_bias_add_cpu(const OpArgs& a);
Status op_bias_grad_cpu(const OpArgs& a);

// CUDA (kernels/elementwise/cuda.cu; linked into the CUDA addon only)
Status op_fill_cuda(const OpArgs& a);
Status op_add_cuda(const OpArgs& a);
Status op_silu_forward_cuda(const OpArgs& a);
Status op_silu_backward_cuda(const OpArgs& a);
Status op_bias_add_cuda(const OpArgs& a);
Status op_bias_grad_cuda(const OpArgs& a);

}  // namespace mc
