#include "mot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "../../kernels/attention/attention.h"
#include "attention_cached.h"

namespace mc {
// Every step below can fail (a CUDA error, an allocation): each returns a Status.
#define TRY MC_RETURN_IF_ERROR

MotModel::MotModel(const MotConfig& cfg, std::vector<float*> params, std::vector<float*> grads, Device device)
    : cfg_(cfg), layout_(make_layout(cfg)), params_(std::move(params)), grads_(std::move(grads)), dev_(device), K_(device) {
  // 2-D sin-cos table: first half of the dims encodes the column (x), second half the row (y); each
  // half is [sin(p w_k), cos(p w_k)] with w_k = 10000^(-k / (D/4)).
  const int64_t side = cfg_.max_latent_side, D = cfg_.hidden, q = D / 4;
  std::vector<float>& table = h_pos_table_;  // uploaded at the first batch (errors need a Status)
  table.assign(static_cast<size_t>(side * side * D), 0.f);
  for (int64_t r = 0; r < side; ++r)
    for (int64_t c = 0; c < side; ++c) {
      float* row = table.data() + (r * side + c) * D;
      for (int64_t k = 0; k < q; ++k) {
        double w = std::pow(10000.0, -static_cast<double>(k) / static_cast<double>(q));
        row[k] = static_cast<float>(std::sin(c * w));
        row[q + k] = static_cast<float>(std::cos(c * w));
        row[2 * q + k] = static_cast<float>(std::sin(r * w));
        row[3 * q + k] = static_cast<float>(std::cos(r * w));
      }
    }
  acts_.resize(static_cast<size_t>(cfg_.layers));
}

float* MotModel::G(int idx) const {
  if (grads_.empty() || !grads_[idx]) return nullptr;
  Owner o = layout_.specs[idx].owner;
  bool frozen = (o == Owner::Gen) ? frozen_[1] : frozen_[0];
  return frozen ? nullptr : grads_[idx];
}

Status MotModel::grad_or_scratch(float* g, int64_t n, float** out) {
  if (g) {
    *out = g;
    return Status::Ok();
  }
  // a sink: grown, never shrunk (D and head_dim alternate; a reallocation would synchronise a GPU)
  if (wscratch_.size() < n || wscratch_.device() != dev_) TRY(wscratch_.resize(dev_, n));
  *out = wscratch_.data();
  return Status::Ok();
}

Status MotModel::check_batch(const MotBatch& b) const {
  auto err = [](Code c, const std::string& m) { return Status::Error(c, "model.forward: " + m); };
  if (b.N < 1) return err(Code::E_SHAPE, "batch expected at least 1 token, received 0");
  MC_RETURN_IF_ERROR(attention_check_segments("model.forward", b.seg, b.S, b.N));
  int64_t nv = 0, nl = 0;
  const int64_t table = cfg_.max_latent_side * cfg_.max_latent_side;
  for (int64_t i = 0; i < b.N; ++i) {
    int32_t k = b.kind[i], e = b.expert[i];
    if (k < 0 || k > 3)
      return err(Code::E_ARG, "argument 'kind' expected values in 0..3, received " + std::to_string(k) + " at token " + std::to_string(i));
    if (e != 0 && e != 1)
      return err(Code::E_ARG, "argument 'expert' expected 0 (und) or 1 (gen), received " + std::to_string(e) + " at token " + std::to_string(i));
    if ((k == kTokCleanLatent || k == kTokNoisyLatent) && e != 1)
      return err(Code::E_ARG, "argument 'expert' expected 1 (gen) for latent token " + std::to_string(i) + ", received 0");
    if (k == kTokText && (b.ids[i] < 0 || b.ids[i] >= cfg_.vocab))
      return err(Code::E_ARG, "argument 'ids' expected values in [0, " + std::to_string(cfg_.vocab) + "), received " +
                                  std::to_string(b.ids[i]) + " at token " + std::to_string(i));
    if (b.ce_targets && (b.ce_targets[i] < -1 || b.ce_targets[i] >= cfg_.vocab))
      return err(Code::E_ARG, "argument 'ceTargets' expected values in [-1, " + std::to_string(cfg_.vocab) + "), received " +
                                  std::to_string(b.ce_targets[i]) + " at token " + std::to_string(i));
    if (k == kTokVit) ++nv;
    if (k == kTokCleanLatent || k == kTokNoisyLatent) ++nl;
  }
  if (nv != b.Nv)
    return err(Code::E_SHAPE, "argument 'vitPatches' expected " + std::to_string(nv) + " rows (one per ViT token), received " + std::to_string(b.Nv));
  if (nl != b.Nl)
    return err(Code::E_SHAPE, "argument 'latents' expected " + std::to_string(nl) + " rows (one per latent token), received " + std::to_string(b.Nl));
  for (int64_t i = 0; i < b.Nv; ++i)
    if (b.vit_pos[i] < 0 || b.vit_pos[i] >= table)
      return err(Code::E_ARG, "argument 'vitPos' expected values in [0, " + std::to_string(table) + "), received " + std::to_string(b.vit_pos[i]) + " at row " + std::to_string(i));
  for (int64_t i = 0; i < b.Nl; ++i) {
    if (b.latent_pos[i] < 0 || b.latent_pos[i] >= table)
      return err(Code::E_ARG, "argument 'latentPos' expected values in [0, " + std::to_string(table) + "), received " + std::to_string(b.latent_pos[i]) + " at row " + std::to_string(i));
    if (!(b.latent_t[i] >= 0.f && b.latent_t[i] <= 1.f))
      return err(Code::E_ARG, "argument 'latentT' expected values in [0, 1], received " + std::to_string(b.latent_t[i]) + " at row " + std::to_string(i));
  }
  return Status::Ok();
}

Status MotModel::ensure_arena(const MotBatch& b) {
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, C = cfg_.latent_channels;
  const int64_t qd = cfg_.heads * hd, kvd = cfg_.kv_heads * hd;
  const Device d = dev_;
  if (pos_table_.size() == 0) TRY(pos_table_.upload(d, h_pos_table_.data(), static_cast<int64_t>(h_pos_table_.size())));
  // bookkeeping: host copies, and device copies of what kernels index with
  N_ = b.N; Nv_ = b.Nv; Nl_ = b.Nl; S_ = b.S;
  kind_.assign(b.kind, b.kind + b.N);
  h_pos_.assign(b.pos, b.pos + b.N);
  h_seg_.assign(b.seg, b.seg + b.S * 4);
  TRY(d_pos_.upload(d, b.pos, b.N));
  TRY(d_vit_pos_.upload(d, b.vit_pos, b.Nv));
  TRY(d_latent_pos_.upload(d, b.latent_pos, b.Nl));
  TRY(vit_patches_.upload(d, b.vit_patches, b.Nv * cfg_.vit_patch_dim));
  TRY(latents_.upload(d, b.latents, b.Nl * C));
  TRY(latent_t_.upload(d, b.latent_t, b.Nl));
  for (int e = 0; e < 2; ++e) h_rows_[e].clear();
  expert_of_.assign(b.expert, b.expert + b.N);
  row_of_.assign(static_cast<size_t>(b.N), 0);
  h_text_rows_.clear();
  h_vit_rows_.clear();
  h_lat_rows_.clear();
  std::vector<int32_t> text_ids;
  for (int64_t i = 0; i < b.N; ++i) {
    const int e = b.expert[i];
    row_of_[i] = static_cast<int32_t>(h_rows_[e].size());
    h_rows_[e].push_back(static_cast<int32_t>(i));
    if (b.kind[i] == kTokText) {
      h_text_rows_.push_back(static_cast<int32_t>(i));
      text_ids.push_back(b.ids[i]);
    } else if (b.kind[i] == kTokVit) {
      h_vit_rows_.push_back(static_cast<int32_t>(i));
    } else {
      h_lat_rows_.push_back(static_cast<int32_t>(i));
    }
  }
  for (int e = 0; e < 2; ++e) TRY(d_rows_[e].upload(d, h_rows_[e].data(), n_rows(e)));
  TRY(d_text_rows_.upload(d, h_text_rows_.data(), static_cast<int64_t>(h_text_rows_.size())));
  TRY(d_text_ids_.upload(d, text_ids.data(), static_cast<int64_t>(text_ids.size())));
  TRY(d_vit_rows_.upload(d, h_vit_rows_.data(), static_cast<int64_t>(h_vit_rows_.size())));
  TRY(d_lat_rows_.upload(d, h_lat_rows_.data(), static_cast<int64_t>(h_lat_rows_.size())));
  // text head rows (CE targets) and velocity head rows (noisy latents)
  std::vector<int32_t> ce_targets;
  for (int e = 0; e < 2; ++e) {
    h_ce_dst_[e].clear();
    h_ce_src_[e].clear();
  }
  h_noisy_src_.clear();
  std::vector<int32_t> noisy_lat;  // latent-table row of each noisy token
  int64_t li = 0;
  for (int64_t i = 0; i < b.N; ++i) {
    if (b.ce_targets && b.ce_targets[i] >= 0) {
      const int e = b.expert[i];
      h_ce_dst_[e].push_back(static_cast<int32_t>(ce_targets.size()));
      h_ce_src_[e].push_back(row_of_[i]);
      ce_targets.push_back(b.ce_targets[i]);
    }
    if (b.kind[i] == kTokCleanLatent) {
      ++li;
    } else if (b.kind[i] == kTokNoisyLatent) {
      noisy_lat.push_back(static_cast<int32_t>(li++));
      h_noisy_src_.push_back(row_of_[i]);
    }
  }
  n_ce_ = static_cast<int64_t>(ce_targets.size());
  n_noisy_ = static_cast<int64_t>(noisy_lat.size());
  TRY(d_ce_targets_.upload(d, ce_targets.data(), n_ce_));
  for (int e = 0; e < 2; ++e) {
    TRY(d_ce_dst_[e].upload(d, h_ce_dst_[e].data(), static_cast<int64_t>(h_ce_dst_[e].size())));
    TRY(d_ce_src_[e].upload(d, h_ce_src_[e].data(), static_cast<int64_t>(h_ce_src_[e].size())));
  }
  TRY(d_noisy_src_.upload(d, h_noisy_src_.data(), n_noisy_));
  std::vector<float> target(static_cast<size_t>(n_noisy_ * C), 0.f);
  h_mse_mask_.assign(static_cast<size_t>(n_noisy_), 1.f);
  for (int64_t j = 0; j < n_noisy_; ++j) {
    const int64_t r = noisy_lat[j];
    if (b.mse_target) std::memcpy(&target[j * C], b.mse_target + r * C, C * sizeof(float));
    if (b.mse_mask) h_mse_mask_[j] = b.mse_mask[r];
  }
  TRY(mse_target_.upload(d, target.data(), n_noisy_ * C));
  TRY(mse_mask_.upload(d, h_mse_mask_.data(), n_noisy_));

  // activations: sized to this batch (reallocated only when the shape changes)
  const int64_t N = b.N;
  TRY(x_seq_.resize(d, N * D));
  TRY(tmp_rows_.resize(d, std::max({N, Nv_, Nl_}) * D));
  TRY(vit_pe_.resize(d, Nv_ * D)); TRY(vit_h1_.resize(d, Nv_ * D)); TRY(vit_s1_.resize(d, Nv_ * D));
  TRY(t_sin_.resize(d, Nl_ * cfg_.timestep_dim)); TRY(t_h1_.resize(d, Nl_ * D)); TRY(t_s1_.resize(d, Nl_ * D));
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    LayerActs& L = acts_[l];
    TRY(L.q.resize(d, N * qd)); TRY(L.k.resize(d, N * kvd)); TRY(L.v.resize(d, N * kvd)); TRY(L.o.resize(d, N * qd));
    TRY(L.lse.resize(d, cfg_.heads * N));
    for (int e = 0; e < 2; ++e) {
      const int64_t n = n_rows(e);
      ExpertActs& A = L.e[e];
      TRY(A.xin.resize(d, n * D)); TRY(A.rstd1.resize(d, n)); TRY(A.a.resize(d, n * D));
      TRY(A.q.resize(d, n * qd)); TRY(A.rq.resize(d, n * cfg_.heads)); TRY(A.k.resize(d, n * kvd));
      TRY(A.rk.resize(d, n * cfg_.kv_heads)); TRY(A.v.resize(d, n * kvd));
      TRY(A.oe.resize(d, n * qd)); TRY(A.xmid.resize(d, n * D)); TRY(A.rstd2.resize(d, n)); TRY(A.b.resize(d, n * D));
      TRY(A.g.resize(d, n * F)); TRY(A.u.resize(d, n * F)); TRY(A.h.resize(d, n * F));
    }
  }
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    TRY(xe_[e].resize(d, n * D)); TRY(fin_[e].resize(d, n * D)); TRY(fin_rstd_[e].resize(d, n));
    TRY(qn_[e].resize(d, n * qd)); TRY(kn_[e].resize(d, n * kvd));
  }
  TRY(fce_.resize(d, n_ce_ * D)); TRY(logits_.resize(d, n_ce_ * cfg_.vocab)); TRY(dlogits_.resize(d, n_ce_ * cfg_.vocab));
  TRY(ce_losses_.resize(d, n_ce_));
  TRY(fnoisy_.resize(d, n_noisy_ * D)); TRY(vel_.resize(d, n_noisy_ * C)); TRY(dvel_.resize(d, n_noisy_ * C));
  return Status::Ok();
}

Status MotModel::embed_inputs() {
  const int64_t D = cfg_.hidden, Pd = cfg_.vit_patch_dim, C = cfg_.latent_channels, TD = cfg_.timestep_dim;
  auto gp = [&](GlobalSlot s) { return P(layout_.global_index[s]); };
  float* tmp = tmp_rows_.data();
  // text tokens: embedding rows
  const int64_t nt = static_cast<int64_t>(h_text_rows_.size());
  if (nt) {
    TRY(K_.embedding_forward(tmp, d_text_ids_.data(), gp(kEmbed), nt, cfg_.vocab, D));
    TRY(K_.copy_rows(x_seq_.data(), d_text_rows_.data(), tmp, nullptr, nt, D));
  }
  if (Nv_) {
    // connector: pe = patch W^T + b + pos2d ; h1 = pe W1^T + b1 ; s1 = silu(h1) ; out = s1 W2^T + b2
    TRY(K_.linear_fwd(vit_pe_.data(), vit_patches_.data(), gp(kVitPatchW), gp(kVitPatchB), Nv_, Pd, D));
    TRY(K_.add_rows(vit_pe_.data(), pos_table_.data(), d_vit_pos_.data(), Nv_, D));
    TRY(K_.linear_fwd(vit_h1_.data(), vit_pe_.data(), gp(kVitMlp1W), gp(kVitMlp1B), Nv_, D, D));
    TRY(K_.silu_forward(vit_s1_.data(), vit_h1_.data(), Nv_ * D));
    TRY(K_.linear_fwd(tmp, vit_s1_.data(), gp(kVitMlp2W), gp(kVitMlp2B), Nv_, D, D));
    TRY(K_.copy_rows(x_seq_.data(), d_vit_rows_.data(), tmp, nullptr, Nv_, D));
  }
  if (Nl_) {
    // latents: vae2llm(x) + time_mlp(sinusoid(t)) + pos2d
    TRY(K_.timestep_embedding(t_sin_.data(), latent_t_.data(), Nl_, TD, 10000.0));
    TRY(K_.linear_fwd(t_h1_.data(), t_sin_.data(), gp(kTimeFc1W), gp(kTimeFc1B), Nl_, TD, D));
    TRY(K_.silu_forward(t_s1_.data(), t_h1_.data(), Nl_ * D));
    TRY(K_.linear_fwd(tmp, t_s1_.data(), gp(kTimeFc2W), gp(kTimeFc2B), Nl_, D, D));
    TRY(K_.linear_fwd(tmp, latents_.data(), gp(kVae2LlmW), gp(kVae2LlmB), Nl_, C, D, 1.f));
    TRY(K_.add_rows(tmp, pos_table_.data(), d_latent_pos_.data(), Nl_, D));
    TRY(K_.copy_rows(x_seq_.data(), d_lat_rows_.data(), tmp, nullptr, Nl_, D));
  }
  for (int e = 0; e < 2; ++e) TRY(K_.copy_rows(xe_[e].data(), nullptr, x_seq_.data(), d_rows_[e].data(), n_rows(e), D));
  return Status::Ok();
}

// Both experts' instances of one linear layer (weights at `wslot`, bias at `bslot` or none) in one
// grouped product: y_e = x_e W_e^T (+ b_e) over each expert's rows.
Status MotModel::experts_linear(int64_t l, int wslot, int bslot, float* const y[2], const float* const x[2], int64_t in,
                                int64_t out, float beta) {
  Dispatch::Lin g[2];
  for (int e = 0; e < 2; ++e) g[e] = {y[e], x[e], LP(l, e, wslot), bslot >= 0 ? LP(l, e, bslot) : nullptr, n_rows(e)};
  return K_.linear_fwd_grouped(g, 2, in, out, beta);
}

Status MotModel::experts_linear_bwd(int64_t l, int wslot, int bslot, float* const dx[2], const float* const dy[2],
                                    const float* const x[2], int64_t in, int64_t out, bool dx_accumulate) {
  Dispatch::LinGrad g[2];
  for (int e = 0; e < 2; ++e)
    g[e] = {dx[e], LG(l, e, wslot), bslot >= 0 ? LG(l, e, bslot) : nullptr, dy[e], x[e], LP(l, e, wslot), n_rows(e)};
  return K_.linear_bwd_grouped(g, 2, in, out, dx_accumulate);
}

Status MotModel::layer_forward(int64_t l) {
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, H = cfg_.heads, Hkv = cfg_.kv_heads;
  const int64_t qd = H * hd, kvd = Hkv * hd;
  const float eps = static_cast<float>(cfg_.rms_eps);
  LayerActs& L = acts_[l];
  ExpertActs* A = L.e;
  // per expert: the two experts' rows are separate buffers; each projection is one grouped product
  auto both = [&](DevBuf<float> ExpertActs::*m) {
    return std::array<float*, 2>{(A[0].*m).data(), (A[1].*m).data()};
  };
  auto cboth = [&](DevBuf<float> ExpertActs::*m) {
    return std::array<const float*, 2>{(A[0].*m).data(), (A[1].*m).data()};
  };
  for (int e = 0; e < 2; ++e) {
    if (!n_rows(e)) continue;
    TRY(A[e].xin.copy_from(xe_[e]));
    TRY(K_.rmsnorm_forward(A[e].a.data(), A[e].rstd1.data(), A[e].xin.data(), LP(l, e, kInputNorm), n_rows(e), D, eps));
  }
  TRY(experts_linear(l, kQW, kQB, both(&ExpertActs::q).data(), cboth(&ExpertActs::a).data(), D, qd));
  TRY(experts_linear(l, kKW, kKB, both(&ExpertActs::k).data(), cboth(&ExpertActs::a).data(), D, kvd));
  TRY(experts_linear(l, kVW, kVB, both(&ExpertActs::v).data(), cboth(&ExpertActs::a).data(), D, kvd));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (!n) continue;
    TRY(K_.rmsnorm_forward(qn_[e].data(), A[e].rq.data(), A[e].q.data(), LP(l, e, kQNorm), n * H, hd, eps));
    TRY(K_.rmsnorm_forward(kn_[e].data(), A[e].rk.data(), A[e].k.data(), LP(l, e, kKNorm), n * Hkv, hd, eps));
    TRY(K_.copy_rows(L.q.data(), d_rows_[e].data(), qn_[e].data(), nullptr, n, qd));
    TRY(K_.copy_rows(L.k.data(), d_rows_[e].data(), kn_[e].data(), nullptr, n, kvd));
    TRY(K_.copy_rows(L.v.data(), d_rows_[e].data(), A[e].v.data(), nullptr, n, kvd));
  }
  TRY(K_.rope(L.q.data(), L.q.data(), d_pos_.data(), N_, H, hd, cfg_.rope_theta, false));
  TRY(K_.rope(L.k.data(), L.k.data(), d_pos_.data(), N_, Hkv, hd, cfg_.rope_theta, false));
  TRY(K_.attention_forward(L.o.data(), L.lse.data(), L.q.data(), L.k.data(), L.v.data(), h_seg_.data(), S_, N_, H, Hkv,
                           hd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))));
  for (int e = 0; e < 2; ++e) {
    if (!n_rows(e)) continue;
    TRY(K_.copy_rows(A[e].oe.data(), nullptr, L.o.data(), d_rows_[e].data(), n_rows(e), qd));
    TRY(A[e].xmid.copy_from(A[e].xin));
  }
  TRY(experts_linear(l, kOW, -1, both(&ExpertActs::xmid).data(), cboth(&ExpertActs::oe).data(), qd, D, 1.f));
  for (int e = 0; e < 2; ++e)
    if (n_rows(e))
      TRY(K_.rmsnorm_forward(A[e].b.data(), A[e].rstd2.data(), A[e].xmid.data(), LP(l, e, kPostNorm), n_rows(e), D, eps));
  TRY(experts_linear(l, kGateW, -1, both(&ExpertActs::g).data(), cboth(&ExpertActs::b).data(), D, F));
  TRY(experts_linear(l, kUpW, -1, both(&ExpertActs::u).data(), cboth(&ExpertActs::b).data(), D, F));
  for (int e = 0; e < 2; ++e) {
    if (!n_rows(e)) continue;
    TRY(K_.swiglu_forward(A[e].h.data(), A[e].g.data(), A[e].u.data(), n_rows(e) * F));
    TRY(xe_[e].copy_from(A[e].xmid));
  }
  float* const xo[2] = {xe_[0].data(), xe_[1].data()};
  return experts_linear(l, kDownW, -1, xo, cboth(&ExpertActs::h).data(), F, D, 1.f);
}

Status MotModel::forward(const MotBatch& b, double w_ce, double w_mse, MotLosses* out, float* logits_out, float* vel_out,
                         bool loss) {
  TRY(check_batch(b));
  have_forward_ = false;
  have_loss_ = loss;
  w_ce_ = w_ce;
  w_mse_ = w_mse;
  TRY(ensure_arena(b));
  TRY(embed_inputs());
  for (int64_t l = 0; l < cfg_.layers; ++l) TRY(layer_forward(l));
  const int64_t D = cfg_.hidden, V = cfg_.vocab, C = cfg_.latent_channels;
  const float eps = static_cast<float>(cfg_.rms_eps);
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (n) TRY(K_.rmsnorm_forward(fin_[e].data(), fin_rstd_[e].data(), xe_[e].data(), P(fin_idx[e]), n, D, eps));
  }
  MotLosses res;
  res.n_ce = n_ce_;
  res.n_mse = 0;
  // text head at CE rows
  if (n_ce_) {
    for (int e = 0; e < 2; ++e)
      TRY(K_.copy_rows(fce_.data(), d_ce_dst_[e].data(), fin_[e].data(), d_ce_src_[e].data(),
                       static_cast<int64_t>(h_ce_dst_[e].size()), D));
    const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
    TRY(K_.linear_fwd(logits_.data(), fce_.data(), P(lm), nullptr, n_ce_, D, V));
    if (logits_out) TRY(logits_.download(logits_out, n_ce_ * V));
  }
  if (n_ce_ && loss) {
    TRY(K_.cross_entropy(ce_losses_.data(), dlogits_.data(), logits_.data(), d_ce_targets_.data(), n_ce_, V,
                         static_cast<float>(w_ce / static_cast<double>(n_ce_))));
    std::vector<float> losses(static_cast<size_t>(n_ce_));
    TRY(ce_losses_.download(losses.data(), n_ce_));
    double s = 0;
    for (float x : losses) s += x;
    res.ce = s / static_cast<double>(n_ce_);
  }
  // velocity head at noisy latent rows (the k-th noisy latent is the k-th kind-3 token in sequence order)
  if (n_noisy_) {
    TRY(K_.copy_rows(fnoisy_.data(), nullptr, fin_[1].data(), d_noisy_src_.data(), n_noisy_, D));
    TRY(K_.linear_fwd(vel_.data(), fnoisy_.data(), P(layout_.global_index[kLlm2VaeW]), P(layout_.global_index[kLlm2VaeB]),
                      n_noisy_, D, C));
    if (vel_out) TRY(vel_.download(vel_out, n_noisy_ * C));
  }
  if (n_noisy_ && loss) {
    for (float m : h_mse_mask_) res.n_mse += m > 0.f ? 1 : 0;
    float mse = 0.f;
    TRY(K_.mse_forward(&mse, vel_.data(), mse_target_.data(), mse_mask_.data(), n_noisy_, C));
    res.mse = mse;
    TRY(K_.mse_backward(dvel_.data(), vel_.data(), mse_target_.data(), mse_mask_.data(), n_noisy_, C,
                        static_cast<float>(w_mse)));
  }
  res.loss = w_ce * res.ce + w_mse * res.mse;
  if (!std::isfinite(res.loss))
    return Status::Error(Code::E_NAN, "model.forward: the loss is not finite (ce " + std::to_string(res.ce) + ", mse " +
                                          std::to_string(res.mse) + ")");
  *out = res;
  have_forward_ = true;
  return Status::Ok();
}

Status MotModel::layer_backward(int64_t l) {
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, H = cfg_.heads, Hkv = cfg_.kv_heads;
  const int64_t qd = H * hd, kvd = Hkv * hd;
  const Device d = dev_;
  LayerActs& L = acts_[l];
  ExpertActs* A = L.e;
  auto cboth = [&](DevBuf<float> ExpertActs::*m) {
    return std::array<const float*, 2>{(A[0].*m).data(), (A[1].*m).data()};
  };
  auto buf2 = [](DevBuf<float>* b) { return std::array<float*, 2>{b[0].data(), b[1].data()}; };
  auto cbuf2 = [](DevBuf<float>* b) { return std::array<const float*, 2>{b[0].data(), b[1].data()}; };
  TRY(do_seq_.resize(d, N_ * qd));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    TRY(dH_[e].resize(d, n * F)); TRY(dG_[e].resize(d, n * F)); TRY(dU_[e].resize(d, n * F));
    TRY(dtmp_[e].resize(d, n * D)); TRY(dA_[e].resize(d, n * D)); TRY(doe_[e].resize(d, n * qd));
    TRY(dqe_[e].resize(d, n * qd)); TRY(dke_[e].resize(d, n * kvd)); TRY(dve_[e].resize(d, n * kvd));
    TRY(dqn_[e].resize(d, n * qd)); TRY(dkn_[e].resize(d, n * kvd));
  }
  // dx_ holds the gradient wrt the layer output; it becomes the gradient wrt xmid, then wrt the input
  TRY(experts_linear_bwd(l, kDownW, -1, buf2(dH_).data(), cbuf2(dx_).data(), cboth(&ExpertActs::h).data(), F, D, false));
  for (int e = 0; e < 2; ++e)
    if (n_rows(e))
      TRY(K_.swiglu_backward(dG_[e].data(), dU_[e].data(), A[e].g.data(), A[e].u.data(), dH_[e].data(), n_rows(e) * F));
  TRY(experts_linear_bwd(l, kGateW, -1, buf2(dtmp_).data(), cbuf2(dG_).data(), cboth(&ExpertActs::b).data(), D, F, false));
  TRY(experts_linear_bwd(l, kUpW, -1, buf2(dtmp_).data(), cbuf2(dU_).data(), cboth(&ExpertActs::b).data(), D, F, true));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (!n) continue;
    float* dwpost = nullptr;
    TRY(grad_or_scratch(LG(l, e, kPostNorm), D, &dwpost));
    TRY(K_.rmsnorm_backward(dA_[e].data(), dwpost, A[e].xmid.data(), LP(l, e, kPostNorm), A[e].rstd2.data(),
                            dtmp_[e].data(), n, D, true));
    TRY(K_.add(dx_[e].data(), dx_[e].data(), dA_[e].data(), n * D, 1.f, 1.f));  // grad wrt xmid
  }
  TRY(experts_linear_bwd(l, kOW, -1, buf2(doe_).data(), cbuf2(dx_).data(), cboth(&ExpertActs::oe).data(), qd, D, false));
  for (int e = 0; e < 2; ++e)
    if (n_rows(e)) TRY(K_.copy_rows(do_seq_.data(), d_rows_[e].data(), doe_[e].data(), nullptr, n_rows(e), qd));
  TRY(dq_seq_.resize(d, N_ * qd)); TRY(dk_seq_.resize(d, N_ * kvd)); TRY(dv_seq_.resize(d, N_ * kvd));
  TRY(K_.attention_backward(dq_seq_.data(), dk_seq_.data(), dv_seq_.data(), L.q.data(), L.k.data(), L.v.data(),
                            h_seg_.data(), S_, L.o.data(), L.lse.data(), do_seq_.data(), N_, H, Hkv, hd,
                            static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))));
  TRY(K_.rope(dq_seq_.data(), dq_seq_.data(), d_pos_.data(), N_, H, hd, cfg_.rope_theta, true));
  TRY(K_.rope(dk_seq_.data(), dk_seq_.data(), d_pos_.data(), N_, Hkv, hd, cfg_.rope_theta, true));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (!n) continue;
    TRY(K_.copy_rows(dqn_[e].data(), nullptr, dq_seq_.data(), d_rows_[e].data(), n, qd));
    TRY(K_.copy_rows(dkn_[e].data(), nullptr, dk_seq_.data(), d_rows_[e].data(), n, kvd));
    TRY(K_.copy_rows(dve_[e].data(), nullptr, dv_seq_.data(), d_rows_[e].data(), n, kvd));
    float* gq = nullptr;
    TRY(grad_or_scratch(LG(l, e, kQNorm), hd, &gq));
    TRY(K_.rmsnorm_backward(dqe_[e].data(), gq, A[e].q.data(), LP(l, e, kQNorm), A[e].rq.data(), dqn_[e].data(), n * H,
                            hd, true));
    float* gk = nullptr;
    TRY(grad_or_scratch(LG(l, e, kKNorm), hd, &gk));
    TRY(K_.rmsnorm_backward(dke_[e].data(), gk, A[e].k.data(), LP(l, e, kKNorm), A[e].rk.data(), dkn_[e].data(),
                            n * Hkv, hd, true));
  }
  TRY(experts_linear_bwd(l, kQW, kQB, buf2(dtmp_).data(), cbuf2(dqe_).data(), cboth(&ExpertActs::a).data(), D, qd, false));
  TRY(experts_linear_bwd(l, kKW, kKB, buf2(dtmp_).data(), cbuf2(dke_).data(), cboth(&ExpertActs::a).data(), D, kvd, true));
  TRY(experts_linear_bwd(l, kVW, kVB, buf2(dtmp_).data(), cbuf2(dve_).data(), cboth(&ExpertActs::a).data(), D, kvd, true));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (!n) continue;
    float* gin = nullptr;
    TRY(grad_or_scratch(LG(l, e, kInputNorm), D, &gin));
    TRY(K_.rmsnorm_backward(dA_[e].data(), gin, A[e].xin.data(), LP(l, e, kInputNorm), A[e].rstd1.data(),
                            dtmp_[e].data(), n, D, true));
    TRY(K_.add(dx_[e].data(), dx_[e].data(), dA_[e].data(), n * D, 1.f, 1.f));  // grad wrt layer input
  }
  return Status::Ok();
}

Status MotModel::embed_inputs_backward() {
  const int64_t D = cfg_.hidden, Pd = cfg_.vit_patch_dim, C = cfg_.latent_channels, TD = cfg_.timestep_dim;
  const Device d = dev_;
  TRY(dx_seq_.resize(d, N_ * D));
  for (int e = 0; e < 2; ++e) TRY(K_.copy_rows(dx_seq_.data(), d_rows_[e].data(), dx_[e].data(), nullptr, n_rows(e), D));
  auto gi = [&](GlobalSlot s) { return layout_.global_index[s]; };
  float* tmp = tmp_rows_.data();
  const int64_t nt = static_cast<int64_t>(h_text_rows_.size());
  if (float* gE = G(gi(kEmbed)); gE && nt) {
    TRY(K_.copy_rows(tmp, nullptr, dx_seq_.data(), d_text_rows_.data(), nt, D));
    TRY(K_.embedding_backward(gE, d_text_ids_.data(), tmp, nt, cfg_.vocab, D));
  }
  if (Nv_ && G(gi(kVitPatchW))) {
    TRY(dvit_h_.resize(d, Nv_ * D)); TRY(dvit_h1_.resize(d, Nv_ * D)); TRY(dvit_pe_.resize(d, Nv_ * D));
    TRY(K_.copy_rows(tmp, nullptr, dx_seq_.data(), d_vit_rows_.data(), Nv_, D));
    TRY(K_.linear_bwd(dvit_h_.data(), G(gi(kVitMlp2W)), G(gi(kVitMlp2B)), tmp, vit_s1_.data(), P(gi(kVitMlp2W)), Nv_, D,
                      D, false));
    TRY(K_.silu_backward(dvit_h1_.data(), vit_h1_.data(), dvit_h_.data(), Nv_ * D, false));
    TRY(K_.linear_bwd(dvit_pe_.data(), G(gi(kVitMlp1W)), G(gi(kVitMlp1B)), dvit_h1_.data(), vit_pe_.data(),
                      P(gi(kVitMlp1W)), Nv_, D, D, false));
    TRY(K_.linear_bwd(nullptr, G(gi(kVitPatchW)), G(gi(kVitPatchB)), dvit_pe_.data(), vit_patches_.data(),
                      P(gi(kVitPatchW)), Nv_, Pd, D, false));
  }
  if (Nl_ && G(gi(kVae2LlmW))) {
    TRY(dlat_s1_.resize(d, Nl_ * D)); TRY(dlat_h1_.resize(d, Nl_ * D));
    TRY(K_.copy_rows(tmp, nullptr, dx_seq_.data(), d_lat_rows_.data(), Nl_, D));
    TRY(K_.linear_bwd(nullptr, G(gi(kVae2LlmW)), G(gi(kVae2LlmB)), tmp, latents_.data(), P(gi(kVae2LlmW)), Nl_, C, D,
                      false));
    TRY(K_.linear_bwd(dlat_s1_.data(), G(gi(kTimeFc2W)), G(gi(kTimeFc2B)), tmp, t_s1_.data(), P(gi(kTimeFc2W)), Nl_, D,
                      D, false));
    TRY(K_.silu_backward(dlat_h1_.data(), t_h1_.data(), dlat_s1_.data(), Nl_ * D, false));
    TRY(K_.linear_bwd(nullptr, G(gi(kTimeFc1W)), G(gi(kTimeFc1B)), dlat_h1_.data(), t_sin_.data(), P(gi(kTimeFc1W)),
                      Nl_, TD, D, false));
  }
  return Status::Ok();
}

Status MotModel::infer(KvCache& cache, const MotBatch& b, bool write, bool extend_last, float* last_logits, float* vel_out,
                       InferResult* res, const float* latents_dev, bool vel_on_device, float* seg_logits) {
  TRY(check_batch(b));
  have_forward_ = false;  // the training arena is reused below
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, H = cfg_.heads, Hkv = cfg_.kv_heads;
  const int64_t qd = H * hd, kvd = Hkv * hd, V = cfg_.vocab, C = cfg_.latent_channels;
  const float eps = static_cast<float>(cfg_.rms_eps);
  const Device d = dev_;
  const int64_t M = b.N, n0 = cache.n, Nt = n0 + M;
  // combined segment table
  std::vector<int32_t> seg(cache.seg);
  for (int64_t r = 0; r < b.S; ++r) {
    int32_t row[4] = {static_cast<int32_t>(b.seg[r * 4] + n0), static_cast<int32_t>(b.seg[r * 4 + 1] + n0), b.seg[r * 4 + 2], b.seg[r * 4 + 3]};
    if (r == 0 && extend_last) {
      if (seg.empty()) return Status::Error(Code::E_ARG, "model.infer: 'extendLast' needs a non-empty cache");
      int32_t* last = &seg[seg.size() - 4];
      if (last[2] != kAttnCausal || row[2] != kAttnCausal || last[3] != row[3] || last[1] != row[0])
        return Status::Error(Code::E_ARG, "model.infer: 'extendLast' expected the batch's first segment to continue the cache's last causal segment of the same sample");
      last[1] = row[1];
      continue;
    }
    seg.insert(seg.end(), row, row + 4);
  }
  const int64_t S = static_cast<int64_t>(seg.size() / 4);
  // the new tokens may point back at any cached sample (a batch of noise segments, one per context)
  TRY(attention_check_segments("model.infer", seg.data(), S, Nt, false));
  bool sorted_samples = true;
  for (int64_t r = 1; r < S; ++r) sorted_samples = sorted_samples && seg[r * 4 + 3] >= seg[(r - 1) * 4 + 3];
  // the cache lives with the model; capacity grows geometrically (rows past n are scratch for
  // non-writing passes)
  if (cache.n > 0 && !cache.k.empty() && cache.k[0].device() != d)
    return Status::Error(Code::E_DEVICE, "model.infer: argument 'cache' holds keys of a model on another device");
  if (static_cast<int64_t>(cache.k.size()) != cfg_.layers || (!cache.k.empty() && cache.k[0].device() != d)) {
    cache.k.clear();
    cache.v.clear();
    cache.k.resize(static_cast<size_t>(cfg_.layers));
    cache.v.resize(static_cast<size_t>(cfg_.layers));
    cache.cap = 0;
  }
  if (Nt > cache.cap) {
    const int64_t cap = std::max<int64_t>(Nt, cache.cap * 2);
    for (int64_t l = 0; l < cfg_.layers; ++l) {
      TRY(cache.k[l].grow(d, cap * kvd));
      TRY(cache.v[l].grow(d, cap * kvd));
    }
    cache.cap = cap;
  }
  TRY(ensure_arena(b));
  if (latents_dev && Nl_) TRY(K_.copy_rows(latents_.data(), nullptr, latents_dev, nullptr, Nl_, C));
  TRY(embed_inputs());
  TRY(inf_q_.resize(d, M * qd));
  TRY(inf_o_.resize(d, M * qd));
  // CPU: a pass of >= 16 new tokens that opens a segment uses the training kernel (rows n0.. only)
  const bool full_kernel = d == Device::CPU && !extend_last && M >= 16 && sorted_samples;
  if (full_kernel) {
    TRY(inf_qfull_.reserve(d, Nt * qd));
    TRY(inf_ofull_.reserve(d, Nt * qd));
    TRY(inf_lse_.reserve(d, H * Nt));
  }
  std::vector<int32_t> rng_off, rng;
  if (d != Device::CPU) {  // the CUDA kernel walks precomputed key ranges (the CPU one builds them itself)
    attention_cached_ranges(seg.data(), S, Nt, n0, &rng_off, &rng);
    TRY(d_rng_off_.upload(d, rng_off.data(), static_cast<int64_t>(rng_off.size())));
    TRY(d_rng_.upload(d, rng.data(), static_cast<int64_t>(rng.size())));
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    float* ks = cache.k[l].data() + n0 * kvd;
    float* vs = cache.v[l].data() + n0 * kvd;
    for (int e = 0; e < 2; ++e) {
      const int64_t n = n_rows(e);
      if (!n) continue;
      ExpertActs& A = acts_[l].e[e];
      TRY(K_.rmsnorm_forward(A.a.data(), A.rstd1.data(), xe_[e].data(), LP(l, e, kInputNorm), n, D, eps));
      TRY(K_.linear_fwd(A.q.data(), A.a.data(), LP(l, e, kQW), LP(l, e, kQB), n, D, qd));
      TRY(K_.linear_fwd(A.k.data(), A.a.data(), LP(l, e, kKW), LP(l, e, kKB), n, D, kvd));
      TRY(K_.linear_fwd(A.v.data(), A.a.data(), LP(l, e, kVW), LP(l, e, kVB), n, D, kvd));
      TRY(K_.rmsnorm_forward(qn_[e].data(), A.rq.data(), A.q.data(), LP(l, e, kQNorm), n * H, hd, eps));
      TRY(K_.rmsnorm_forward(kn_[e].data(), A.rk.data(), A.k.data(), LP(l, e, kKNorm), n * Hkv, hd, eps));
      TRY(K_.copy_rows(inf_q_.data(), d_rows_[e].data(), qn_[e].data(), nullptr, n, qd));
      TRY(K_.copy_rows(ks, d_rows_[e].data(), kn_[e].data(), nullptr, n, kvd));
      TRY(K_.copy_rows(vs, d_rows_[e].data(), A.v.data(), nullptr, n, kvd));
    }
    TRY(K_.rope(inf_q_.data(), inf_q_.data(), d_pos_.data(), M, H, hd, cfg_.rope_theta, false));
    TRY(K_.rope(ks, ks, d_pos_.data(), M, Hkv, hd, cfg_.rope_theta, false));
    if (d == Device::CPU && full_kernel) {
      // many new queries starting a segment (a denoising pass): the training kernel over the whole
      // sequence, computing only the new rows (its register-blocked tiles beat the per-query walk)
      std::memcpy(inf_qfull_.data() + n0 * qd, inf_q_.data(), static_cast<size_t>(M * qd) * sizeof(float));
      TRY(attention_forward_cpu(inf_ofull_.data(), inf_lse_.data(), inf_qfull_.data(), cache.k[l].data(),
                                cache.v[l].data(), seg.data(), S, Nt, H, Hkv, hd, scale, n0));
      std::memcpy(inf_o_.data(), inf_ofull_.data() + n0 * qd, static_cast<size_t>(M * qd) * sizeof(float));
    } else if (d == Device::CPU) {
      TRY(attention_cached_forward_cpu(inf_o_.data(), inf_q_.data(), cache.k[l].data(), cache.v[l].data(), seg.data(), S,
                                       Nt, n0, H, Hkv, hd, scale));
    } else {
#if defined(METACOT_WITH_CUDA)
      TRY(attention_cached_forward_cuda(inf_o_.data(), inf_q_.data(), cache.k[l].data(), cache.v[l].data(),
                                        d_rng_off_.data(), d_rng_.data(), M, H, Hkv, hd, scale));
#else
      return Status::Error(Code::E_DEVICE, "model.infer: this addon was built without CUDA");
#endif
    }
    for (int e = 0; e < 2; ++e) {
      const int64_t n = n_rows(e);
      if (!n) continue;
      ExpertActs& A = acts_[l].e[e];
      TRY(K_.copy_rows(A.oe.data(), nullptr, inf_o_.data(), d_rows_[e].data(), n, qd));
      TRY(K_.linear_fwd(xe_[e].data(), A.oe.data(), LP(l, e, kOW), nullptr, n, qd, D, 1.f));
      TRY(K_.rmsnorm_forward(A.b.data(), A.rstd2.data(), xe_[e].data(), LP(l, e, kPostNorm), n, D, eps));
      TRY(K_.linear_fwd(A.g.data(), A.b.data(), LP(l, e, kGateW), nullptr, n, D, F));
      TRY(K_.linear_fwd(A.u.data(), A.b.data(), LP(l, e, kUpW), nullptr, n, D, F));
      TRY(K_.swiglu_forward(A.h.data(), A.g.data(), A.u.data(), n * F));
      TRY(K_.linear_fwd(xe_[e].data(), A.h.data(), LP(l, e, kDownW), nullptr, n, F, D, 1.f));
    }
  }
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  InferResult r;
  if (seg_logits && b.S > 0) {
    std::vector<int32_t> rows(static_cast<size_t>(b.S));
    for (int64_t s = 0; s < b.S; ++s) {
      const int64_t last = b.seg[s * 4 + 1] - 1;
      if (kind_[last] != kTokText || expert_of_[last] != 0)
        return Status::Error(Code::E_ARG, "model.infer: option 'segmentLogits' expected every segment to end with a text token, received segment " +
                                              std::to_string(s) + " ending with a token of kind " + std::to_string(kind_[last]));
      rows[static_cast<size_t>(s)] = row_of_[last];
    }
    TRY(d_logit_rows_.upload(d, rows.data(), b.S));
    TRY(inf_f_.resize(d, b.S * D));
    TRY(inf_rs_.resize(d, b.S));
    TRY(inf_logits_.resize(d, b.S * V));
    TRY(K_.copy_rows(inf_f_.data(), nullptr, xe_[0].data(), d_logit_rows_.data(), b.S, D));
    TRY(K_.rmsnorm_forward(inf_f_.data(), inf_rs_.data(), inf_f_.data(), P(fin_idx[0]), b.S, D, eps));
    const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
    TRY(K_.linear_fwd(inf_logits_.data(), inf_f_.data(), P(lm), nullptr, b.S, D, V));
    TRY(inf_logits_.download(seg_logits, b.S * V));
  }
  if (last_logits) {
    int64_t last = -1;
    for (int64_t i = M - 1; i >= 0; --i)
      if (kind_[i] == kTokText) { last = i; break; }
    if (last >= 0) {
      const int e = expert_of_[last];
      TRY(inf_f_.resize(d, D));
      TRY(inf_rs_.resize(d, 1));
      TRY(inf_logits_.resize(d, V));
      TRY(K_.rmsnorm_forward(inf_f_.data(), inf_rs_.data(), xe_[e].data() + static_cast<int64_t>(row_of_[last]) * D,
                             P(fin_idx[e]), 1, D, eps));
      const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
      TRY(K_.linear_fwd(inf_logits_.data(), inf_f_.data(), P(lm), nullptr, 1, D, V));
      TRY(inf_logits_.download(last_logits, V));
      r.has_logits = true;
    }
  }
  if (vel_out && n_noisy_) {
    TRY(inf_f_.resize(d, n_noisy_ * D));
    TRY(inf_rs_.resize(d, n_noisy_));
    TRY(K_.copy_rows(fnoisy_.data(), nullptr, xe_[1].data(), d_noisy_src_.data(), n_noisy_, D));
    TRY(K_.rmsnorm_forward(inf_f_.data(), inf_rs_.data(), fnoisy_.data(), P(fin_idx[1]), n_noisy_, D, eps));
    TRY(K_.linear_fwd(vel_.data(), inf_f_.data(), P(layout_.global_index[kLlm2VaeW]), P(layout_.global_index[kLlm2VaeB]),
                      n_noisy_, D, C));
    if (vel_on_device) TRY(K_.copy_rows(vel_out, nullptr, vel_.data(), nullptr, n_noisy_, C));
    else TRY(vel_.download(vel_out, n_noisy_ * C));
  }
  r.n_noisy = n_noisy_;
  if (write) {
    cache.n = Nt;
    cache.seg = std::move(seg);
  }
  *res = r;
  return Status::Ok();
}

Status MotModel::copy_logits(float* out) const {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model: no forward pass yet");
  return logits_.download(out, logits_.size());
}

Status MotModel::copy_velocities(float* out) const {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model: no forward pass yet");
  return vel_.download(out, vel_.size());
}

Status MotModel::copy_logits_device(float* out) {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model: no forward pass yet");
  return n_ce_ ? K_.copy_rows(out, nullptr, logits_.data(), nullptr, n_ce_, cfg_.vocab) : Status::Ok();
}

Status MotModel::copy_velocities_device(float* out) {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model: no forward pass yet");
  return n_noisy_ ? K_.copy_rows(out, nullptr, vel_.data(), nullptr, n_noisy_, cfg_.latent_channels) : Status::Ok();
}

Status MotModel::backward(const float* dlogits, const float* dvel) {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model.backward: no forward pass to differentiate (call forward first)");
  const int64_t V = cfg_.vocab, C = cfg_.latent_channels;
  if (n_ce_) {
    TRY(dlogits_.resize(dev_, n_ce_ * V));
    if (dlogits) TRY(K_.copy_rows(dlogits_.data(), nullptr, dlogits, nullptr, n_ce_, V));
    else TRY(dlogits_.zero());
  }
  if (n_noisy_) {
    TRY(dvel_.resize(dev_, n_noisy_ * C));
    if (dvel) TRY(K_.copy_rows(dvel_.data(), nullptr, dvel, nullptr, n_noisy_, C));
    else TRY(dvel_.zero());
  }
  have_loss_ = true;  // dlogits_ / dvel_ now hold the gradients to propagate
  return backward();
}

Status MotModel::backward() {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model.backward: no forward pass to differentiate (call forward first)");
  if (!have_loss_)
    return Status::Error(Code::E_ARG, "model.backward: the last forward ran without its loss; pass the head gradients (backward({ dlogits, dvel }))");
  if (grads_.empty()) return Status::Error(Code::E_ARG, "model.backward: the model was created without gradient buffers");
  const int64_t D = cfg_.hidden, V = cfg_.vocab, C = cfg_.latent_channels;
  const Device d = dev_;
  for (int e = 0; e < 2; ++e) {
    TRY(dx_[e].resize(d, n_rows(e) * D));
    TRY(dx_[e].zero());
    TRY(dfin_[e].resize(d, n_rows(e) * D));
    TRY(dfin_[e].zero());
  }
  if (n_ce_) {
    const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
    TRY(dhead_ce_.resize(d, n_ce_ * D));
    TRY(K_.linear_bwd(dhead_ce_.data(), G(lm), nullptr, dlogits_.data(), fce_.data(), P(lm), n_ce_, D, V, false));
    for (int e = 0; e < 2; ++e)
      TRY(K_.copy_rows(dfin_[e].data(), d_ce_src_[e].data(), dhead_ce_.data(), d_ce_dst_[e].data(),
                       static_cast<int64_t>(h_ce_dst_[e].size()), D, true));
  }
  if (n_noisy_) {
    const int w = layout_.global_index[kLlm2VaeW], bb = layout_.global_index[kLlm2VaeB];
    TRY(dhead_vel_.resize(d, n_noisy_ * D));
    TRY(K_.linear_bwd(dhead_vel_.data(), G(w), G(bb), dvel_.data(), fnoisy_.data(), P(w), n_noisy_, D, C, false));
    TRY(K_.copy_rows(dfin_[1].data(), d_noisy_src_.data(), dhead_vel_.data(), nullptr, n_noisy_, D, true));
  }
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  for (int e = 0; e < 2; ++e) {
    const int64_t n = n_rows(e);
    if (!n) continue;
    float* gw = nullptr;
    TRY(grad_or_scratch(G(fin_idx[e]), D, &gw));
    TRY(K_.rmsnorm_backward(dx_[e].data(), gw, xe_[e].data(), P(fin_idx[e]), fin_rstd_[e].data(), dfin_[e].data(), n, D,
                            true));
  }
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) TRY(layer_backward(l));
  return embed_inputs_backward();
}

#undef TRY

}  // namespace mc
