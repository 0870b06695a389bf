// Joint attention over a packed sequence of segments (DESIGN.md section 2), forward and backward.
//
// Shapes: q[N,H,hd], k[N,Hkv,hd], v[N,Hkv,hd] (GQA: head h reads kv head h / (H/Hkv)), out[N,H,hd],
// lse[H,N] (natural-log sum-exp of each query row's scaled scores, kept for the backward), and the
// segment table seg[S,4] int32, rows [start, end, mode, sample], mode 0 causal, 1 full, 2 noise.
// hd is even (RoPE pairs dims), 2..256; 64 and 128 are the tuned sizes.
//
// Mask rules (token i attends to token j):
//   - never across samples;
//   - within its own segment: causal -> j <= i; full / noise -> every j of the segment;
//   - to every token of an earlier segment of its sample, unless that segment is noise
//     (no token outside a noise segment may attend to it, later segments included).
//
// Algorithm (flash-attention style; no mask tensor, no N x N scores):
//   forward: work items are (head, query tile); query tiles (<= 64 rows) never cross a segment, so a
//   tile's visible keys are the merged runs of earlier non-noise segments of its sample plus its own
//   segment (up to the row, for causal). Keys are visited in blocks of 64 with an online softmax;
//   only the diagonal blocks of causal segments and the ragged block ends carry a mask, built from
//   index ranges. K is packed once per call into W-wide transposed panels (W = SIMD width; V is read in
//   place), so the Q.K^T and P.V micro-kernels are register-blocked FMAs, 6 rows x 64 columns.
//   backward (FA2): D = rowsum(dO*O); P is recomputed from lse; Q/dO are packed like K. Two schedules,
//   picked from the shapes only (never the thread count), both deterministic with one writer per
//   output element and a fixed summation order (no atomics; bitwise equal run to run and for any
//   thread count):
//   - one pass (heads x samples >= 8, the usual training case): work items are (head, sample). Key
//     tiles (<= 64 keys, never crossing a segment) in order; the queries that see a key tile form one
//     interval (its own segment, from the key on for causal, to the sample's end unless the segment is
//     noise). S^T = K Q^T and dP^T = V dO^T give P^T and dS^T for a key tile x query block; then
//     dv += P^T dO, dk += dS^T Q (per-head partial rows, summed over the GQA group in head order at
//     the end) and dq += dS K into the item's private dq rows. 5 matrix products.
//   - two passes (few heads x samples, e.g. one long sample): pass 1, parallel over (head, query
//     tile), writes dq = scale * sum_j dS K; pass 2, parallel over (kv head, key tile), writes dk and
//     dv summed over the group's heads. 7 matrix products, but many more work items.
//   METACOT_ATTN_BWD=1|2 forces one schedule (benchmarks and tests of the schedules).
//
// Cost, with V the number of visible (query, key) pairs per head: forward 4*V*hd FLOPs (+ V exps),
// backward 10*V*hd (one pass) or 14*V*hd (two passes) FLOPs (+ V exps). Bytes: the q/k/v/out tensors
// plus packed copies: K^T panels (forward); Q^T and dO^T panels, per-head dk/dv partials (one pass) or
// K^T and V^T panels (two passes) (backward); rows are packed too only when hd % 16 != 0. Scratch is
// thread-local to the caller, grown only when a call needs more.
// Precision: float32 throughout, exp2 polynomial ~1e-7 relative.
// CUDA (cuda.cu): the same ops on bf16 tensor cores (fp32 softmax and accumulation), see its header.
// A NaN in the q/k/v of a token that may not be seen never reaches an output (masking selects, it does
// not multiply), except from a later token of the same causal segment within one 6-row block (0*NaN).
#pragma once
#include <cstdint>

#include "../common/status.h"
#include "../common/tensor.h"

namespace mc {

enum AttnMode : int32_t { kAttnCausal = 0, kAttnFull = 1, kAttnNoise = 2 };

// Checks a segment table (contiguous, sorted, non-empty rows covering [0, N), mode in 0..2, sample ids
// >= 0 and, with sorted_samples, non-decreasing); E_ARG naming the op and the offending row otherwise.
// The training kernels need sorted samples (a sample's keys are one run); cached inference does not
// (its queries walk key ranges), so a batch of noise segments can point back at any cached sample.
Status attention_check_segments(const char* op, const int32_t* seg, int64_t S, int64_t N, bool sorted_samples = true);

// The typed kernels (segments must already be valid); E_OOM if the packing scratch cannot be allocated.
// q_begin > 0 (a segment start): only query rows [q_begin, N) are computed and written (out, lse),
// their keys as usual, e.g. new tokens of cached inference against the cache; q's earlier rows are
// not read.
Status attention_forward_cpu(float* out, float* lse, const float* q, const float* k, const float* v,
                             const int32_t* seg, int64_t S, int64_t N, int64_t H, int64_t Hkv, int64_t hd,
                             float scale, int64_t q_begin = 0);
// dq, dk, dv are overwritten.
Status attention_backward_cpu(float* dq, float* dk, float* dv, const float* q, const float* k, const float* v,
                              const int32_t* seg, int64_t S, const float* out, const float* lse, const float* dout,
                              int64_t N, int64_t H, int64_t Hkv, int64_t hd, float scale);

// Counts, dtypes, shapes (the GQA and head_dim rules) and the scale of attention_forward (6 tensors) or
// attention_backward (10 tensors), shared by the CPU and CUDA adapters so that both report the same
// errors. The segment table's contents are not read here (on CUDA it lives on the device): each adapter
// then runs attention_check_segments on a host-visible copy.
struct AttnShape {
  int64_t N, H, Hkv, hd, S;
  float scale;
};
Status attention_check_args(const OpArgs& a, bool backward, AttnShape* d);

Status op_attention_forward_cpu(const OpArgs& a);
Status op_attention_backward_cpu(const OpArgs& a);
// CUDA versions (kernels/attention/cuda.cu; CUDA addon only): same arguments and checks as the CPU adapters.
Status op_attention_forward_cuda(const OpArgs& a);
Status op_attention_backward_cuda(const OpArgs& a);

}  // namespace mc
