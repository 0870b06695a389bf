// The op table: every kernel the engine exposes, by name, with its CPU function and its CUDA function
// (nullptr until that op's CUDA kernel lands). The addon dispatches on the device of the op's tensors;
// tests iterate the table so that adding an op = one table entry + one test entry.
//
// Calling convention (OpArgs): tensors in the order listed, then ints, then floats. Every adapter
// re-checks counts, dtypes and shapes (TypeScript already did) and returns a Status; none throws.
//
//  name                 tensors                                                  ints                          floats
//  fill                 x                                                        -                             value
//  add                  a, b, out (same numel; out may alias a or b)             -                             alpha, beta   out = alpha*a + beta*b
//  randn                x                                                        seed, stream                  mean, std     (Philox, see common/philox.h)
//  silu_forward         x, y                                                     -                             -
//  silu_backward        x, dy, dx                                                accumulate                    -
//  bias_add             x[N,D], b[D], out[N,D]                                   -                             -
//  bias_grad            dy[N,D], db[D]                                           accumulate                    -
//  gemm                 A, B, C                                                  transA, transB, M, N, K,      alpha, beta
//                                                                                batch, strideA, strideB, strideC
//  gemm_grouped         A_0..A_{G-1}, B_0.., C_0..                               G, transA, transB, M_0..,     alpha, beta
//                       (G independent dense products, see gemm/gemm.h)         N_0.., K_0..
//  rmsnorm_forward      x[R,D], w[D], y[R,D], rstd[R]                            -                             eps
//  rmsnorm_backward     x, w, rstd, dy, dx, dw                                   accumulate_dw                 -
//  rope_forward         x[N,H,hd], pos[N] i32, y (may alias x)                   -                             theta
//  rope_backward        dy[N,H,hd], pos[N] i32, dx (may alias dy)                -                             theta
//  attention_forward    q[N,H,hd], k[N,Hkv,hd], v[N,Hkv,hd], seg[S,4] i32,       -                             scale
//                       out[N,H,hd], lse[H,N]
//  attention_backward   q, k, v, seg, out, lse, dout, dq, dk, dv                 -                             scale
//  swiglu_forward       gate[N,F], up[N,F], h[N,F]                               -                             -
//  swiglu_backward      gate, up, dh, dgate, dup                                 -                             -
//  embedding_forward    ids[N] i32, table[V,D], out[N,D]                         -                             -
//  embedding_backward   ids[N] i32, dout[N,D], dtable[V,D] (accumulates)         -                             -
//  cross_entropy        logits[M,V], targets[M] i32 (-1 = ignore), losses[M],    -                             grad_scale
//                       dlogits[M,V]
//  mse_forward          pred[N,C], target[N,C], mask[N] f32, loss[1]             -                             -
//  mse_backward         pred, target, mask, dpred                                -                             grad_scale
//  adamw                p_0..p_{n-1}, g_0.., m_0.., v_0.., gnorm[1]              n, step, decay_0..decay_{n-1} lr, beta1, beta2, eps,
//                                                                                                              weight_decay, max_grad_norm
//  timestep_embedding   t[N], out[N,dim]                                         -                             max_period
//  cfg_combine          v[T,C], vNoText, vNoImage, out                           renorm (0 global,             s_text, s_img,
//                                                                                1 channel, 2 text_channel)    renorm_min
//
// Segment table rows (attention): [start, end, mode, sample] with mode 0 = causal, 1 = full, 2 = noise;
// segments are contiguous, sorted, and cover [0, N). See kernels/attention/attention.h for the rules.
#pragma once
#include "common/status.h"
#include "common/tensor.h"

namespace mc {

using OpFn = Status (*)(const OpArgs&);

struct OpDef {
  const char* name;
  OpFn cpu;
  OpFn cuda;  // nullptr: no CUDA kernel yet (the addon reports E_DEVICE naming the op)
};

// The table, in a stable order; its length through *count.
const OpDef* op_table(int* count);

}  // namespace mc
