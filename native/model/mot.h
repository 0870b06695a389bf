// The BAGEL Mixture-of-Transformers (DESIGN.md section 2), composed natively from the kernels:
// one call runs the whole forward or backward of a packed batch (llm.c style: each layer a
// forward/backward pair, activations kept in an arena sized once per batch shape).
//
// Token routing: every token belongs to one expert (und: text + ViT tokens, gen: latent tokens), given
// per token by the packer. Hidden states live per expert, contiguous ([N_e, D]); only the joint
// attention works in sequence order (Q/K/V scattered in, O gathered out).
//
// Per layer, per expert e, for its rows X_e:
//   A = RMSNorm(X_e; w_in)            q,k,v = A W^T + b          q,k = RMSNorm_head(q,k)
//   (scatter to sequence order) RoPE(q,k; pos) -> joint attention over the segment mask -> O
//   X_e += O_e W_o^T                  B = RMSNorm(X_e; w_post)   X_e += down(silu(gate B) * up B)
// Inputs: text = embedding; ViT = fc2(silu(fc1(patch_embed(p) + pos2d))); latent = vae2llm(x) +
// time_mlp(sinusoid(t)) + pos2d. Heads: logits = RMSNorm_und(X) W_lm^T at CE rows; velocity =
// llm2vae(RMSNorm_gen(X)) at noisy latent rows. Loss = w_ce * mean CE + w_mse * MSE.
//
// Devices: the model runs where its parameters live (CPU or CUDA). Every kernel goes through Dispatch
// (the op table's adapters for that device), the activation arena and the KV cache are DevBufs on that
// device, the batch arrives in host memory and is uploaded, and the outputs (losses, logits,
// velocities) come back to host memory.
#pragma once
#include <cstdint>
#include <vector>

#include "../../kernels/common/status.h"
#include "config.h"
#include "devbuf.h"
#include "dispatch.h"

namespace mc {

enum TokenKind : int32_t { kTokText = 0, kTokVit = 1, kTokCleanLatent = 2, kTokNoisyLatent = 3 };

// Views of one packed batch (host memory). Row k of vit_patches / latents belongs to the k-th token of
// that kind (in sequence order; clean and noisy latents share the latents table).
struct MotBatch {
  int64_t N = 0;
  const int32_t* ids = nullptr;     // [N] token ids (read for text tokens)
  const int32_t* kind = nullptr;    // [N] TokenKind
  const int32_t* expert = nullptr;  // [N] 0 und, 1 gen
  const int32_t* pos = nullptr;     // [N] RoPE positions
  const int32_t* seg = nullptr;     // [S, 4] segment table
  int64_t S = 0;
  const float* vit_patches = nullptr;  // [Nv, P]
  const int32_t* vit_pos = nullptr;    // [Nv] index into the 2-D position table
  int64_t Nv = 0;
  const float* latents = nullptr;      // [Nl, C]: x0 for clean tokens, x_t for noisy ones
  const int32_t* latent_pos = nullptr; // [Nl]
  const float* latent_t = nullptr;     // [Nl] t of each latent token (0 for clean ones)
  int64_t Nl = 0;
  const int32_t* ce_targets = nullptr; // [N] next-token targets, -1 = no loss (may be null)
  const float* mse_target = nullptr;   // [Nl, C] velocity targets (rows of noisy tokens used; may be null)
  const float* mse_mask = nullptr;     // [Nl] 1 where the MSE applies (may be null: all noisy tokens)
};

struct MotLosses {
  double ce = 0;     // mean CE over CE rows (0 if none)
  double mse = 0;    // MSE over masked noisy tokens (0 if none)
  double loss = 0;   // w_ce*ce + w_mse*mse
  int64_t n_ce = 0;
  int64_t n_mse = 0;
};

// Saved activations of one layer for one expert's rows (N_e rows each).
struct ExpertActs {
  DevBuf<float> xin, rstd1, a;     // layer input, input-norm rstd, normed input [N_e, D]
  DevBuf<float> q, rq, k, rk, v;   // q/k before their head norm, head-norm rstds, v
  DevBuf<float> oe, xmid, rstd2, b; // attention output rows, residual after attention, post-norm
  DevBuf<float> g, u, h;           // gate, up, silu(gate)*up [N_e, F]
};
// Saved activations of one layer in sequence order.
struct LayerActs {
  ExpertActs e[2];
  DevBuf<float> q, k, v, o, lse;   // post-RoPE q/k, v, attention output, log-sum-exp
};

// Keys (after q/k-norm and RoPE) and values of already-processed tokens, per layer, plus their segment
// rows; the rows' sample ids keep several samples (contexts) apart in one cache. Inference passes
// append to it (prefill, decoding) or only read it (denoising: image queries attend to the cache
// without writing to it; a new segment sees the cached segments of its own sample id).
struct KvCache {
  int64_t n = 0;                           // cached tokens
  int64_t cap = 0;                         // allocated rows per layer
  std::vector<DevBuf<float>> k, v;         // per layer [cap, kv_heads*head_dim], on the model's device
  std::vector<int32_t> seg;                // [S, 4] rows over [0, n)
  void clear() { n = 0; seg.clear(); }
};

struct InferResult {
  int64_t n_noisy = 0;     // rows written to vel_out
  bool has_logits = false; // last_logits written (the batch had a text token)
};

class MotModel {
 public:
  // params / grads: device memory of `device`, one buffer per layout entry.
  MotModel(const MotConfig& cfg, std::vector<float*> params, std::vector<float*> grads, Device device = Device::CPU);
  Device device() const { return dev_; }

  const MotConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }

  // Which owners get parameter gradients (Owner::Shared follows und).
  void set_frozen(bool und, bool gen) { frozen_[0] = und; frozen_[1] = gen; }

  // Validates the batch against the config (E_ARG / E_SHAPE naming the field and row).
  Status check_batch(const MotBatch& b) const;

  // Forward; keeps activations for backward. logits_out [n_ce, V] and vel_out [n_noisy, C] are
  // optional outputs in host memory (nullptr to skip). With `loss` the fused CE + MSE client runs on
  // the head outputs (losses, and their gradients kept for backward()); without, only the heads: the
  // logits at the CE rows (rows with a target >= 0) and the velocities at the noisy latent rows, for a
  // loss computed elsewhere whose gradients come back through backward(dlogits, dvel).
  Status forward(const MotBatch& b, double w_ce, double w_mse, MotLosses* out, float* logits_out, float* vel_out,
                 bool loss = true);
  // Backward of the last forward's loss: accumulates into the gradient buffers.
  Status backward();
  // Backward from given head gradients on the model's device: dlogits [n_ce, V] and dvel [n_noisy, C]
  // of the last forward (nullptr: zero).
  Status backward(const float* dlogits, const float* dvel);
  // The last forward's head outputs copied into buffers on the model's device.
  Status copy_logits_device(float* out);
  Status copy_velocities_device(float* out);

  // Cached inference over the new tokens of `b` (its segment rows are relative to its own tokens):
  // they attend to the cache and to each other; with `write` their keys/values are appended to the
  // cache; with `extend_last` the batch's first segment continues the cache's last (causal) segment,
  // as when decoding text token by token. Writes the logits of the batch's last text token
  // (last_logits [V]) and the velocities of its noisy latent tokens (vel_out [n_noisy, C]) when given.
  // latents_dev (optional, on the model's device, [Nl, C]) replaces the batch's latents table, and with
  // vel_on_device vel_out is a buffer on the model's device: a sampler's x_t and velocities then never
  // leave the device.
  // seg_logits (optional, host memory, [S_b, V]): the logits of the last token of each of the batch's
  // segments (each a text token), for decoding several samples at once (one segment per sample).
  Status infer(KvCache& cache, const MotBatch& b, bool write, bool extend_last, float* last_logits, float* vel_out,
               InferResult* res, const float* latents_dev = nullptr, bool vel_on_device = false, float* seg_logits = nullptr);

  Status copy_logits(float* out) const;      // [last_n_ce, V] of the last forward, to host memory
  Status copy_velocities(float* out) const;  // [last_n_noisy, C] of the last forward, to host memory
  int64_t last_n_ce() const { return n_ce_; }
  int64_t last_n_noisy() const { return n_noisy_; }

 private:
  Status ensure_arena(const MotBatch& b);
  Status embed_inputs();
  Status embed_inputs_backward();
  Status layer_forward(int64_t l);
  // both experts' instances of layer l's linear at `wslot` (+ bias at `bslot`, -1: none), one grouped product
  Status experts_linear(int64_t l, int wslot, int bslot, float* const y[2], const float* const x[2], int64_t in,
                        int64_t out, float beta = 0.f);
  Status experts_linear_bwd(int64_t l, int wslot, int bslot, float* const dx[2], const float* const dy[2],
                            const float* const x[2], int64_t in, int64_t out, bool dx_accumulate);
  Status layer_backward(int64_t l);
  float* P(int idx) const { return params_[idx]; }
  float* G(int idx) const;  // nullptr when the owner is frozen
  float* LP(int64_t l, int e, int slot) const { return params_[layout_.layer_index(l, e, slot)]; }
  float* LG(int64_t l, int e, int slot) const { return G(layout_.layer_index(l, e, slot)); }
  // a gradient buffer, or a scratch sink of >= n floats when the owner is frozen (norm backwards
  // always write their weight gradient)
  Status grad_or_scratch(float* g, int64_t n, float** out);
  int64_t n_rows(int e) const { return static_cast<int64_t>(h_rows_[e].size()); }

  MotConfig cfg_;
  ParamLayout layout_;
  std::vector<float*> params_, grads_;
  Device dev_;
  Dispatch K_;
  bool frozen_[2] = {false, false};
  std::vector<float> h_pos_table_;  // [side*side, D] 2-D sin-cos
  DevBuf<float> pos_table_;         // its device copy

  // batch bookkeeping: host copies (h_) and their device twins (d_) where kernels read them
  int64_t N_ = 0, Nv_ = 0, Nl_ = 0, S_ = 0;
  std::vector<int32_t> kind_, h_seg_, h_pos_;
  std::vector<float> h_mse_mask_;
  std::vector<int32_t> h_rows_[2];    // sequence index of each expert row
  std::vector<int32_t> expert_of_;    // expert of each sequence index
  std::vector<int32_t> row_of_;       // sequence index -> row within its expert
  std::vector<int32_t> h_text_rows_, h_vit_rows_, h_lat_rows_;
  // head rows: for each expert, (destination row among the CE rows, source row of the expert's
  // hidden states); the noisy latent rows of the gen expert in latent order
  std::vector<int32_t> h_ce_dst_[2], h_ce_src_[2], h_noisy_src_;
  DevBuf<int32_t> d_pos_, d_rows_[2], d_text_rows_, d_text_ids_, d_vit_rows_, d_lat_rows_, d_vit_pos_,
      d_latent_pos_, d_ce_targets_, d_ce_dst_[2], d_ce_src_[2], d_noisy_src_;
  DevBuf<float> vit_patches_, latents_, latent_t_, mse_target_, mse_mask_;
  int64_t n_ce_ = 0, n_noisy_ = 0;
  double w_ce_ = 1, w_mse_ = 1;
  bool have_forward_ = false;
  bool have_loss_ = false;  // the last forward ran the fused loss (its gradients are in dlogits_ / dvel_)

  // arena
  DevBuf<float> x_seq_;                      // [N, D] input embeddings in sequence order
  DevBuf<float> vit_pe_, vit_h1_, vit_s1_;   // connector activations [Nv, D]
  DevBuf<float> t_sin_, t_h1_, t_s1_;        // time embedder [Nl, 256], [Nl, D], [Nl, D]
  std::vector<LayerActs> acts_;
  DevBuf<float> xe_[2];                      // current hidden states per expert [N_e, D]
  DevBuf<float> fin_[2], fin_rstd_[2];       // final-norm outputs
  DevBuf<float> fce_, logits_, dlogits_, ce_losses_, fnoisy_, vel_, dvel_;
  DevBuf<float> tmp_rows_;                   // embedding / connector outputs before the scatter [max(Nt, Nv, Nl), D]
  DevBuf<float> qn_[2], kn_[2];              // head-normed q / k per expert [N_e, qd], [N_e, kvd]
  // backward scratch
  DevBuf<float> dx_[2], dtmp_[2], dA_[2], dqe_[2], dke_[2], dve_[2], dG_[2], dU_[2], dH_[2];
  DevBuf<float> dq_seq_, dk_seq_, dv_seq_, do_seq_, dx_seq_, doe_[2], dqn_[2], dkn_[2], dfin_[2], dhead_ce_, dhead_vel_;
  DevBuf<float> dvit_h_, dvit_h1_, dvit_pe_, dlat_s1_, dlat_h1_;
  DevBuf<float> wscratch_;                   // weight-gradient sink for frozen norms
  // cached inference
  DevBuf<float> inf_q_, inf_o_, inf_f_, inf_rs_, inf_logits_, inf_qfull_, inf_ofull_, inf_lse_;
  DevBuf<int32_t> d_rng_off_, d_rng_;        // visible key ranges of the new queries (CUDA)
  DevBuf<int32_t> d_logit_rows_;             // und rows of the segments' last tokens (seg_logits)
};

}  // namespace mc
