#include "mot.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../../kernels/attention/attention.h"
#include "../../kernels/common/threadpool.h"
#include "../../kernels/elementwise/elementwise.h"
#include "../../kernels/embedding/embedding.h"
#include "../../kernels/gemm/gemm.h"
#include "../../kernels/loss/loss.h"
#include "../../kernels/rmsnorm/rmsnorm.h"
#include "../../kernels/rope/rope.h"
#include "../../kernels/swiglu/swiglu.h"
#include "../../kernels/timestep/timestep.h"
#include "attention_cached.h"

namespace mc {
namespace {

// y[R,out] = x[R,in] W[out,in]^T (+ b); beta = 1 accumulates into y.
void linear_fwd(float* y, const float* x, const float* W, const float* b, int64_t R, int64_t in, int64_t out,
                float beta = 0.f) {
  if (R == 0) return;
  gemm_cpu(false, true, R, out, in, 1.f, x, in, W, in, beta, y, out);
  if (b) bias_add_cpu(y, y, b, R, out);
}

// Backward of linear_fwd: dW += dy^T x, db += colsum(dy), dx (+)= dy W. Any of dx/dW/db may be null.
void linear_bwd(float* dx, float* dW, float* db, const float* dy, const float* x, const float* W, int64_t R,
                int64_t in, int64_t out, bool dx_accumulate) {
  if (R == 0) return;
  if (dW) gemm_cpu(true, false, out, in, R, 1.f, dy, out, x, in, 1.f, dW, in);
  if (db) bias_grad_cpu(db, dy, R, out, true);
  if (dx) gemm_cpu(false, false, R, in, out, 1.f, dy, out, W, in, dx_accumulate ? 1.f : 0.f, dx, in);
}

void gather_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t D) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) std::memcpy(dst + i * D, src + static_cast<int64_t>(idx[i]) * D, D * sizeof(float));
  });
}
void scatter_rows(float* dst, const float* src, const int32_t* idx, int64_t n, int64_t D) {
  parallel_for(n, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) std::memcpy(dst + static_cast<int64_t>(idx[i]) * D, src + i * D, D * sizeof(float));
  });
}

void add_inplace(float* y, const float* x, int64_t n) { add_cpu(y, y, x, n, 1.f, 1.f); }

template <typename T>
void sized(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) != n) v.assign(static_cast<size_t>(n), T(0));
}

}  // namespace

MotModel::MotModel(const MotConfig& cfg, std::vector<float*> params, std::vector<float*> grads)
    : cfg_(cfg), layout_(make_layout(cfg)), params_(std::move(params)), grads_(std::move(grads)) {
  // 2-D sin-cos table: first half of the dims encodes the column (x), second half the row (y); each
  // half is [sin(p w_k), cos(p w_k)] with w_k = 10000^(-k / (D/4)).
  const int64_t side = cfg_.max_latent_side, D = cfg_.hidden, q = D / 4;
  pos_table_.assign(static_cast<size_t>(side * side * D), 0.f);
  for (int64_t r = 0; r < side; ++r)
    for (int64_t c = 0; c < side; ++c) {
      float* row = pos_table_.data() + (r * side + c) * D;
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

void MotModel::ensure_arena(const MotBatch& b) {
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim;
  const int64_t qd = cfg_.heads * hd, kvd = cfg_.kv_heads * hd;
  // bookkeeping copies
  N_ = b.N; Nv_ = b.Nv; Nl_ = b.Nl; S_ = b.S;
  kind_.assign(b.kind, b.kind + b.N);
  ids_.assign(b.ids, b.ids + b.N);
  pos_.assign(b.pos, b.pos + b.N);
  seg_.assign(b.seg, b.seg + b.S * 4);
  vit_pos_.assign(b.vit_pos, b.vit_pos + b.Nv);
  latent_pos_.assign(b.latent_pos, b.latent_pos + b.Nl);
  vit_patches_.assign(b.vit_patches, b.vit_patches + b.Nv * cfg_.vit_patch_dim);
  latents_.assign(b.latents, b.latents + b.Nl * cfg_.latent_channels);
  latent_t_.assign(b.latent_t, b.latent_t + b.Nl);
  for (int e = 0; e < 2; ++e) rows_[e].clear();
  expert_of_.assign(b.expert, b.expert + b.N);
  row_of_.assign(static_cast<size_t>(b.N), 0);
  for (int64_t i = 0; i < b.N; ++i) {
    int e = b.expert[i];
    row_of_[i] = static_cast<int32_t>(rows_[e].size());
    rows_[e].push_back(static_cast<int32_t>(i));
  }
  ce_rows_.clear();
  ce_targets_.clear();
  if (b.ce_targets)
    for (int64_t i = 0; i < b.N; ++i)
      if (b.ce_targets[i] >= 0) {
        ce_rows_.push_back(static_cast<int32_t>(i));
        ce_targets_.push_back(b.ce_targets[i]);
      }
  noisy_lat_.clear();
  {
    int64_t li = 0;
    for (int64_t i = 0; i < b.N; ++i) {
      if (b.kind[i] == kTokCleanLatent) ++li;
      else if (b.kind[i] == kTokNoisyLatent) noisy_lat_.push_back(static_cast<int32_t>(li++));
    }
  }
  n_ce_ = static_cast<int64_t>(ce_rows_.size());
  n_noisy_ = static_cast<int64_t>(noisy_lat_.size());
  const int64_t C = cfg_.latent_channels;
  mse_target_.assign(static_cast<size_t>(n_noisy_ * C), 0.f);
  mse_mask_.assign(static_cast<size_t>(n_noisy_), 1.f);
  for (int64_t j = 0; j < n_noisy_; ++j) {
    int64_t r = noisy_lat_[j];
    if (b.mse_target) std::memcpy(&mse_target_[j * C], b.mse_target + r * C, C * sizeof(float));
    if (b.mse_mask) mse_mask_[j] = b.mse_mask[r];
  }

  // activations: sized to this batch (resized only when the shape changes)
  const int64_t N = b.N;
  sized(x_seq_, N * D);
  sized(vit_pe_, Nv_ * D); sized(vit_h1_, Nv_ * D); sized(vit_s1_, Nv_ * D);
  sized(t_sin_, Nl_ * cfg_.timestep_dim); sized(t_h1_, Nl_ * D); sized(t_s1_, Nl_ * D);
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    LayerActs& L = acts_[l];
    sized(L.q, N * qd); sized(L.k, N * kvd); sized(L.v, N * kvd); sized(L.o, N * qd); sized(L.lse, cfg_.heads * N);
    for (int e = 0; e < 2; ++e) {
      const int64_t n = static_cast<int64_t>(rows_[e].size());
      ExpertActs& A = L.e[e];
      sized(A.xin, n * D); sized(A.rstd1, n); sized(A.a, n * D);
      sized(A.q, n * qd); sized(A.rq, n * cfg_.heads); sized(A.k, n * kvd); sized(A.rk, n * cfg_.kv_heads); sized(A.v, n * kvd);
      sized(A.oe, n * qd); sized(A.xmid, n * D); sized(A.rstd2, n); sized(A.b, n * D);
      sized(A.g, n * F); sized(A.u, n * F); sized(A.h, n * F);
    }
  }
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    sized(xe_[e], n * D); sized(fin_[e], n * D); sized(fin_rstd_[e], n);
  }
  sized(fce_, n_ce_ * D); sized(logits_, n_ce_ * cfg_.vocab); sized(dlogits_, n_ce_ * cfg_.vocab); sized(ce_losses_, n_ce_);
  sized(fnoisy_, n_noisy_ * D); sized(vel_, n_noisy_ * C); sized(dvel_, n_noisy_ * C);
}

void MotModel::embed_inputs(const MotBatch& b) {
  const int64_t D = cfg_.hidden, Pd = cfg_.vit_patch_dim, C = cfg_.latent_channels, TD = cfg_.timestep_dim;
  const int gi_embed = layout_.global_index[kEmbed];
  // text tokens: embedding rows (other kinds are overwritten below)
  std::vector<int32_t> text_rows, vit_rows, lat_rows;
  for (int64_t i = 0; i < N_; ++i) {
    if (kind_[i] == kTokText) text_rows.push_back(static_cast<int32_t>(i));
    else if (kind_[i] == kTokVit) vit_rows.push_back(static_cast<int32_t>(i));
    else lat_rows.push_back(static_cast<int32_t>(i));
  }
  {
    std::vector<int32_t> tid(text_rows.size());
    for (size_t j = 0; j < text_rows.size(); ++j) tid[j] = ids_[text_rows[j]];
    std::vector<float> tmp(text_rows.size() * D);
    embedding_forward_cpu(tmp.data(), tid.data(), P(gi_embed), static_cast<int64_t>(text_rows.size()), D);
    scatter_rows(x_seq_.data(), tmp.data(), text_rows.data(), static_cast<int64_t>(text_rows.size()), D);
  }
  if (Nv_) {
    // connector: pe = patch W^T + b + pos2d ; h1 = pe W1^T + b1 ; s1 = silu(h1) ; out = s1 W2^T + b2
    linear_fwd(vit_pe_.data(), vit_patches_.data(), P(layout_.global_index[kVitPatchW]), P(layout_.global_index[kVitPatchB]), Nv_, Pd, D);
    for (int64_t r = 0; r < Nv_; ++r) add_inplace(&vit_pe_[r * D], &pos_table_[static_cast<int64_t>(vit_pos_[r]) * D], D);
    linear_fwd(vit_h1_.data(), vit_pe_.data(), P(layout_.global_index[kVitMlp1W]), P(layout_.global_index[kVitMlp1B]), Nv_, D, D);
    silu_forward_cpu(vit_s1_.data(), vit_h1_.data(), Nv_ * D);
    std::vector<float> out(Nv_ * D);
    linear_fwd(out.data(), vit_s1_.data(), P(layout_.global_index[kVitMlp2W]), P(layout_.global_index[kVitMlp2B]), Nv_, D, D);
    scatter_rows(x_seq_.data(), out.data(), vit_rows.data(), Nv_, D);
  }
  if (Nl_) {
    // latents: vae2llm(x) + time_mlp(sinusoid(t)) + pos2d
    timestep_embedding_cpu(t_sin_.data(), latent_t_.data(), Nl_, TD, 10000.0);
    linear_fwd(t_h1_.data(), t_sin_.data(), P(layout_.global_index[kTimeFc1W]), P(layout_.global_index[kTimeFc1B]), Nl_, TD, D);
    silu_forward_cpu(t_s1_.data(), t_h1_.data(), Nl_ * D);
    std::vector<float> out(Nl_ * D);
    linear_fwd(out.data(), t_s1_.data(), P(layout_.global_index[kTimeFc2W]), P(layout_.global_index[kTimeFc2B]), Nl_, D, D);
    linear_fwd(out.data(), latents_.data(), P(layout_.global_index[kVae2LlmW]), P(layout_.global_index[kVae2LlmB]), Nl_, C, D, 1.f);
    for (int64_t r = 0; r < Nl_; ++r) add_inplace(&out[r * D], &pos_table_[static_cast<int64_t>(latent_pos_[r]) * D], D);
    scatter_rows(x_seq_.data(), out.data(), lat_rows.data(), Nl_, D);
  }
  for (int e = 0; e < 2; ++e)
    gather_rows(xe_[e].data(), x_seq_.data(), rows_[e].data(), static_cast<int64_t>(rows_[e].size()), D);
}

Status MotModel::layer_forward(int64_t l) {
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, H = cfg_.heads, Hkv = cfg_.kv_heads;
  const int64_t qd = H * hd, kvd = Hkv * hd;
  const float eps = static_cast<float>(cfg_.rms_eps);
  LayerActs& L = acts_[l];
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (!n) continue;
    ExpertActs& A = L.e[e];
    A.xin = xe_[e];
    rmsnorm_forward_cpu(A.a.data(), A.rstd1.data(), A.xin.data(), LP(l, e, kInputNorm), n, D, eps);
    linear_fwd(A.q.data(), A.a.data(), LP(l, e, kQW), LP(l, e, kQB), n, D, qd);
    linear_fwd(A.k.data(), A.a.data(), LP(l, e, kKW), LP(l, e, kKB), n, D, kvd);
    linear_fwd(A.v.data(), A.a.data(), LP(l, e, kVW), LP(l, e, kVB), n, D, kvd);
    std::vector<float> qn(n * qd), kn(n * kvd);
    rmsnorm_forward_cpu(qn.data(), A.rq.data(), A.q.data(), LP(l, e, kQNorm), n * H, hd, eps);
    rmsnorm_forward_cpu(kn.data(), A.rk.data(), A.k.data(), LP(l, e, kKNorm), n * Hkv, hd, eps);
    scatter_rows(L.q.data(), qn.data(), rows_[e].data(), n, qd);
    scatter_rows(L.k.data(), kn.data(), rows_[e].data(), n, kvd);
    scatter_rows(L.v.data(), A.v.data(), rows_[e].data(), n, kvd);
  }
  rope_cpu(L.q.data(), L.q.data(), pos_.data(), N_, H, hd, cfg_.rope_theta, false);
  rope_cpu(L.k.data(), L.k.data(), pos_.data(), N_, Hkv, hd, cfg_.rope_theta, false);
  MC_RETURN_IF_ERROR(attention_forward_cpu(L.o.data(), L.lse.data(), L.q.data(), L.k.data(), L.v.data(), seg_.data(), S_,
                                           N_, H, Hkv, hd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))));
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (!n) continue;
    ExpertActs& A = L.e[e];
    gather_rows(A.oe.data(), L.o.data(), rows_[e].data(), n, qd);
    A.xmid = A.xin;
    linear_fwd(A.xmid.data(), A.oe.data(), LP(l, e, kOW), nullptr, n, qd, D, 1.f);
    rmsnorm_forward_cpu(A.b.data(), A.rstd2.data(), A.xmid.data(), LP(l, e, kPostNorm), n, D, eps);
    linear_fwd(A.g.data(), A.b.data(), LP(l, e, kGateW), nullptr, n, D, F);
    linear_fwd(A.u.data(), A.b.data(), LP(l, e, kUpW), nullptr, n, D, F);
    swiglu_forward_cpu(A.h.data(), A.g.data(), A.u.data(), n * F);
    xe_[e] = A.xmid;
    linear_fwd(xe_[e].data(), A.h.data(), LP(l, e, kDownW), nullptr, n, F, D, 1.f);
  }
  return Status::Ok();
}

Status MotModel::forward(const MotBatch& b, double w_ce, double w_mse, MotLosses* out, float* logits_out, float* vel_out) {
  MC_RETURN_IF_ERROR(check_batch(b));
  have_forward_ = false;
  w_ce_ = w_ce;
  w_mse_ = w_mse;
  ensure_arena(b);
  embed_inputs(b);
  for (int64_t l = 0; l < cfg_.layers; ++l) MC_RETURN_IF_ERROR(layer_forward(l));
  const int64_t D = cfg_.hidden, V = cfg_.vocab, C = cfg_.latent_channels;
  const float eps = static_cast<float>(cfg_.rms_eps);
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (n) rmsnorm_forward_cpu(fin_[e].data(), fin_rstd_[e].data(), xe_[e].data(), P(fin_idx[e]), n, D, eps);
  }
  MotLosses res;
  res.n_ce = n_ce_;
  res.n_mse = 0;
  // text head at CE rows
  if (n_ce_) {
    for (int64_t j = 0; j < n_ce_; ++j) {
      int32_t s = ce_rows_[j];
      std::memcpy(&fce_[j * D], &fin_[expert_of_[s]][static_cast<int64_t>(row_of_[s]) * D], D * sizeof(float));
    }
    const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
    linear_fwd(logits_.data(), fce_.data(), P(lm), nullptr, n_ce_, D, V);
    if (logits_out) std::memcpy(logits_out, logits_.data(), n_ce_ * V * sizeof(float));
    MC_RETURN_IF_ERROR(cross_entropy_cpu(ce_losses_.data(), dlogits_.data(), logits_.data(), ce_targets_.data(), n_ce_, V,
                                         static_cast<float>(w_ce / static_cast<double>(n_ce_))));
    double s = 0;
    for (int64_t j = 0; j < n_ce_; ++j) s += ce_losses_[j];
    res.ce = s / static_cast<double>(n_ce_);
  }
  // velocity head at noisy latent rows
  if (n_noisy_) {
    // the k-th noisy latent is the k-th kind-3 token in sequence order
    int64_t j = 0;
    for (int64_t i = 0; i < N_; ++i)
      if (kind_[i] == kTokNoisyLatent) {
        std::memcpy(&fnoisy_[j * D], &fin_[1][static_cast<int64_t>(row_of_[i]) * D], D * sizeof(float));
        ++j;
      }
    linear_fwd(vel_.data(), fnoisy_.data(), P(layout_.global_index[kLlm2VaeW]), P(layout_.global_index[kLlm2VaeB]), n_noisy_, D, C);
    if (vel_out) std::memcpy(vel_out, vel_.data(), n_noisy_ * C * sizeof(float));
    for (int64_t k = 0; k < n_noisy_; ++k) res.n_mse += mse_mask_[k] > 0.f ? 1 : 0;
    res.mse = mse_forward_cpu(vel_.data(), mse_target_.data(), mse_mask_.data(), n_noisy_, C);
    mse_backward_cpu(dvel_.data(), vel_.data(), mse_target_.data(), mse_mask_.data(), n_noisy_, C, static_cast<float>(w_mse));
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
  LayerActs& L = acts_[l];
  sized(do_seq_, N_ * qd);
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (!n) continue;
    ExpertActs& A = L.e[e];
    std::vector<float>& dx = dx_[e];  // in: grad wrt layer output; becomes grad wrt xmid
    sized(dH_[e], n * F); sized(dG_[e], n * F); sized(dU_[e], n * F); sized(dtmp_[e], n * D); sized(dA_[e], n * D);
    linear_bwd(dH_[e].data(), LG(l, e, kDownW), nullptr, dx.data(), A.h.data(), LP(l, e, kDownW), n, F, D, false);
    swiglu_backward_cpu(dG_[e].data(), dU_[e].data(), A.g.data(), A.u.data(), dH_[e].data(), n * F);
    linear_bwd(dtmp_[e].data(), LG(l, e, kGateW), nullptr, dG_[e].data(), A.b.data(), LP(l, e, kGateW), n, D, F, false);
    linear_bwd(dtmp_[e].data(), LG(l, e, kUpW), nullptr, dU_[e].data(), A.b.data(), LP(l, e, kUpW), n, D, F, true);
    // post-norm backward; dw always computed into a scratch when frozen
    std::vector<float> dwtmp;
    float* dwpost = LG(l, e, kPostNorm);
    if (!dwpost) { dwtmp.assign(D, 0.f); dwpost = dwtmp.data(); }
    rmsnorm_backward_cpu(dA_[e].data(), dwpost, A.xmid.data(), LP(l, e, kPostNorm), A.rstd2.data(), dtmp_[e].data(), n, D, true);
    add_inplace(dx.data(), dA_[e].data(), n * D);  // dx = grad wrt xmid
    std::vector<float> doe(n * qd);
    linear_bwd(doe.data(), LG(l, e, kOW), nullptr, dx.data(), A.oe.data(), LP(l, e, kOW), n, qd, D, false);
    scatter_rows(do_seq_.data(), doe.data(), rows_[e].data(), n, qd);
  }
  sized(dq_seq_, N_ * qd); sized(dk_seq_, N_ * kvd); sized(dv_seq_, N_ * kvd);
  MC_RETURN_IF_ERROR(attention_backward_cpu(dq_seq_.data(), dk_seq_.data(), dv_seq_.data(), L.q.data(), L.k.data(),
                                            L.v.data(), seg_.data(), S_, L.o.data(), L.lse.data(), do_seq_.data(), N_, H,
                                            Hkv, hd, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))));
  rope_cpu(dq_seq_.data(), dq_seq_.data(), pos_.data(), N_, H, hd, cfg_.rope_theta, true);
  rope_cpu(dk_seq_.data(), dk_seq_.data(), pos_.data(), N_, Hkv, hd, cfg_.rope_theta, true);
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (!n) continue;
    ExpertActs& A = L.e[e];
    sized(dqe_[e], n * qd); sized(dke_[e], n * kvd); sized(dve_[e], n * kvd);
    std::vector<float> dqn(n * qd), dkn(n * kvd);
    gather_rows(dqn.data(), dq_seq_.data(), rows_[e].data(), n, qd);
    gather_rows(dkn.data(), dk_seq_.data(), rows_[e].data(), n, kvd);
    gather_rows(dve_[e].data(), dv_seq_.data(), rows_[e].data(), n, kvd);
    std::vector<float> dwq, dwk;
    float* gq = LG(l, e, kQNorm);
    float* gk = LG(l, e, kKNorm);
    if (!gq) { dwq.assign(hd, 0.f); gq = dwq.data(); }
    if (!gk) { dwk.assign(hd, 0.f); gk = dwk.data(); }
    rmsnorm_backward_cpu(dqe_[e].data(), gq, A.q.data(), LP(l, e, kQNorm), A.rq.data(), dqn.data(), n * H, hd, true);
    rmsnorm_backward_cpu(dke_[e].data(), gk, A.k.data(), LP(l, e, kKNorm), A.rk.data(), dkn.data(), n * Hkv, hd, true);
    linear_bwd(dtmp_[e].data(), LG(l, e, kQW), LG(l, e, kQB), dqe_[e].data(), A.a.data(), LP(l, e, kQW), n, D, qd, false);
    linear_bwd(dtmp_[e].data(), LG(l, e, kKW), LG(l, e, kKB), dke_[e].data(), A.a.data(), LP(l, e, kKW), n, D, kvd, true);
    linear_bwd(dtmp_[e].data(), LG(l, e, kVW), LG(l, e, kVB), dve_[e].data(), A.a.data(), LP(l, e, kVW), n, D, kvd, true);
    std::vector<float> dwin;
    float* gin = LG(l, e, kInputNorm);
    if (!gin) { dwin.assign(D, 0.f); gin = dwin.data(); }
    rmsnorm_backward_cpu(dA_[e].data(), gin, A.xin.data(), LP(l, e, kInputNorm), A.rstd1.data(), dtmp_[e].data(), n, D, true);
    add_inplace(dx_[e].data(), dA_[e].data(), n * D);  // grad wrt layer input
  }
  return Status::Ok();
}

void MotModel::embed_inputs_backward() {
  const int64_t D = cfg_.hidden, Pd = cfg_.vit_patch_dim, C = cfg_.latent_channels, TD = cfg_.timestep_dim;
  sized(dx_seq_, N_ * D);
  for (int e = 0; e < 2; ++e)
    scatter_rows(dx_seq_.data(), dx_[e].data(), rows_[e].data(), static_cast<int64_t>(rows_[e].size()), D);
  std::vector<int32_t> text_rows, vit_rows, lat_rows, tid;
  for (int64_t i = 0; i < N_; ++i) {
    if (kind_[i] == kTokText) { text_rows.push_back(static_cast<int32_t>(i)); tid.push_back(ids_[i]); }
    else if (kind_[i] == kTokVit) vit_rows.push_back(static_cast<int32_t>(i));
    else lat_rows.push_back(static_cast<int32_t>(i));
  }
  if (float* gE = G(layout_.global_index[kEmbed])) {
    std::vector<float> d(text_rows.size() * D);
    gather_rows(d.data(), dx_seq_.data(), text_rows.data(), static_cast<int64_t>(text_rows.size()), D);
    embedding_backward_cpu(gE, tid.data(), d.data(), static_cast<int64_t>(text_rows.size()), D);
  }
  auto gi = [&](GlobalSlot s) { return layout_.global_index[s]; };
  if (Nv_ && G(gi(kVitPatchW))) {
    std::vector<float> d(Nv_ * D), dh(Nv_ * D), dpe(Nv_ * D);
    gather_rows(d.data(), dx_seq_.data(), vit_rows.data(), Nv_, D);
    linear_bwd(dh.data(), G(gi(kVitMlp2W)), G(gi(kVitMlp2B)), d.data(), vit_s1_.data(), P(gi(kVitMlp2W)), Nv_, D, D, false);
    std::vector<float> dh1(Nv_ * D);
    silu_backward_cpu(dh1.data(), vit_h1_.data(), dh.data(), Nv_ * D, false);
    linear_bwd(dpe.data(), G(gi(kVitMlp1W)), G(gi(kVitMlp1B)), dh1.data(), vit_pe_.data(), P(gi(kVitMlp1W)), Nv_, D, D, false);
    linear_bwd(nullptr, G(gi(kVitPatchW)), G(gi(kVitPatchB)), dpe.data(), vit_patches_.data(), P(gi(kVitPatchW)), Nv_, Pd, D, false);
  }
  if (Nl_ && G(gi(kVae2LlmW))) {
    std::vector<float> d(Nl_ * D), ds1(Nl_ * D), dh1(Nl_ * D);
    gather_rows(d.data(), dx_seq_.data(), lat_rows.data(), Nl_, D);
    linear_bwd(nullptr, G(gi(kVae2LlmW)), G(gi(kVae2LlmB)), d.data(), latents_.data(), P(gi(kVae2LlmW)), Nl_, C, D, false);
    linear_bwd(ds1.data(), G(gi(kTimeFc2W)), G(gi(kTimeFc2B)), d.data(), t_s1_.data(), P(gi(kTimeFc2W)), Nl_, D, D, false);
    silu_backward_cpu(dh1.data(), t_h1_.data(), ds1.data(), Nl_ * D, false);
    linear_bwd(nullptr, G(gi(kTimeFc1W)), G(gi(kTimeFc1B)), dh1.data(), t_sin_.data(), P(gi(kTimeFc1W)), Nl_, TD, D, false);
  }
}

Status MotModel::infer(KvCache& cache, const MotBatch& b, bool write, bool extend_last, float* last_logits, float* vel_out,
                       InferResult* res) {
  MC_RETURN_IF_ERROR(check_batch(b));
  have_forward_ = false;  // the training arena is reused below
  const int64_t D = cfg_.hidden, F = cfg_.mlp, hd = cfg_.head_dim, H = cfg_.heads, Hkv = cfg_.kv_heads;
  const int64_t qd = H * hd, kvd = Hkv * hd, V = cfg_.vocab, C = cfg_.latent_channels;
  const float eps = static_cast<float>(cfg_.rms_eps);
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
  MC_RETURN_IF_ERROR(attention_check_segments("model.infer", seg.data(), S, Nt));
  // cache capacity (grown geometrically; rows past n are scratch for non-writing passes)
  if (static_cast<int64_t>(cache.k.size()) != cfg_.layers) {
    cache.k.assign(static_cast<size_t>(cfg_.layers), {});
    cache.v.assign(static_cast<size_t>(cfg_.layers), {});
    cache.cap = 0;
  }
  if (Nt > cache.cap) {
    int64_t cap = std::max<int64_t>(Nt, cache.cap * 2);
    for (int64_t l = 0; l < cfg_.layers; ++l) {
      cache.k[l].resize(static_cast<size_t>(cap * kvd));
      cache.v[l].resize(static_cast<size_t>(cap * kvd));
    }
    cache.cap = cap;
  }
  ensure_arena(b);
  embed_inputs(b);
  std::vector<float> qs(M * qd), o(M * qd);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  for (int64_t l = 0; l < cfg_.layers; ++l) {
    float* ks = cache.k[l].data() + n0 * kvd;
    float* vs = cache.v[l].data() + n0 * kvd;
    for (int e = 0; e < 2; ++e) {
      const int64_t n = static_cast<int64_t>(rows_[e].size());
      if (!n) continue;
      ExpertActs& A = acts_[l].e[e];
      rmsnorm_forward_cpu(A.a.data(), A.rstd1.data(), xe_[e].data(), LP(l, e, kInputNorm), n, D, eps);
      linear_fwd(A.q.data(), A.a.data(), LP(l, e, kQW), LP(l, e, kQB), n, D, qd);
      linear_fwd(A.k.data(), A.a.data(), LP(l, e, kKW), LP(l, e, kKB), n, D, kvd);
      linear_fwd(A.v.data(), A.a.data(), LP(l, e, kVW), LP(l, e, kVB), n, D, kvd);
      rmsnorm_forward_cpu(A.q.data(), A.rq.data(), A.q.data(), LP(l, e, kQNorm), n * H, hd, eps);
      rmsnorm_forward_cpu(A.k.data(), A.rk.data(), A.k.data(), LP(l, e, kKNorm), n * Hkv, hd, eps);
      scatter_rows(qs.data(), A.q.data(), rows_[e].data(), n, qd);
      scatter_rows(ks, A.k.data(), rows_[e].data(), n, kvd);
      scatter_rows(vs, A.v.data(), rows_[e].data(), n, kvd);
    }
    rope_cpu(qs.data(), qs.data(), pos_.data(), M, H, hd, cfg_.rope_theta, false);
    rope_cpu(ks, ks, pos_.data(), M, Hkv, hd, cfg_.rope_theta, false);
    MC_RETURN_IF_ERROR(attention_cached_forward_cpu(o.data(), qs.data(), cache.k[l].data(), cache.v[l].data(), seg.data(), S, Nt,
                                                    n0, H, Hkv, hd, scale));
    for (int e = 0; e < 2; ++e) {
      const int64_t n = static_cast<int64_t>(rows_[e].size());
      if (!n) continue;
      ExpertActs& A = acts_[l].e[e];
      gather_rows(A.oe.data(), o.data(), rows_[e].data(), n, qd);
      linear_fwd(xe_[e].data(), A.oe.data(), LP(l, e, kOW), nullptr, n, qd, D, 1.f);
      rmsnorm_forward_cpu(A.b.data(), A.rstd2.data(), xe_[e].data(), LP(l, e, kPostNorm), n, D, eps);
      linear_fwd(A.g.data(), A.b.data(), LP(l, e, kGateW), nullptr, n, D, F);
      linear_fwd(A.u.data(), A.b.data(), LP(l, e, kUpW), nullptr, n, D, F);
      swiglu_forward_cpu(A.h.data(), A.g.data(), A.u.data(), n * F);
      linear_fwd(xe_[e].data(), A.h.data(), LP(l, e, kDownW), nullptr, n, F, D, 1.f);
    }
  }
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  InferResult r;
  if (last_logits) {
    int64_t last = -1;
    for (int64_t i = M - 1; i >= 0; --i)
      if (kind_[i] == kTokText) { last = i; break; }
    if (last >= 0) {
      const int e = expert_of_[last];
      std::vector<float> f(D), rs(1);
      rmsnorm_forward_cpu(f.data(), rs.data(), &xe_[e][static_cast<int64_t>(row_of_[last]) * D], P(fin_idx[e]), 1, D, eps);
      const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
      linear_fwd(last_logits, f.data(), P(lm), nullptr, 1, D, V);
      r.has_logits = true;
    }
  }
  if (vel_out && n_noisy_) {
    std::vector<float> f(n_noisy_ * D), rs(n_noisy_);
    int64_t j = 0;
    for (int64_t i = 0; i < M; ++i)
      if (kind_[i] == kTokNoisyLatent) std::memcpy(&f[(j++) * D], &xe_[1][static_cast<int64_t>(row_of_[i]) * D], D * sizeof(float));
    rmsnorm_forward_cpu(f.data(), rs.data(), f.data(), P(fin_idx[1]), n_noisy_, D, eps);
    linear_fwd(vel_out, f.data(), P(layout_.global_index[kLlm2VaeW]), P(layout_.global_index[kLlm2VaeB]), n_noisy_, D, C);
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
  std::memcpy(out, logits_.data(), logits_.size() * sizeof(float));
  return Status::Ok();
}

Status MotModel::copy_velocities(float* out) const {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model: no forward pass yet");
  std::memcpy(out, vel_.data(), vel_.size() * sizeof(float));
  return Status::Ok();
}

Status MotModel::backward() {
  if (!have_forward_) return Status::Error(Code::E_ARG, "model.backward: no forward pass to differentiate (call forward first)");
  if (grads_.empty()) return Status::Error(Code::E_ARG, "model.backward: the model was created without gradient buffers");
  const int64_t D = cfg_.hidden, V = cfg_.vocab, C = cfg_.latent_channels;
  for (int e = 0; e < 2; ++e) {
    sized(dx_[e], static_cast<int64_t>(rows_[e].size()) * D);
    std::fill(dx_[e].begin(), dx_[e].end(), 0.f);
  }
  std::vector<float> dfin[2];
  for (int e = 0; e < 2; ++e) dfin[e].assign(rows_[e].size() * D, 0.f);
  if (n_ce_) {
    const int lm = layout_.global_index[kLmHead] >= 0 ? layout_.global_index[kLmHead] : layout_.global_index[kEmbed];
    std::vector<float> dfce(n_ce_ * D);
    linear_bwd(dfce.data(), G(lm), nullptr, dlogits_.data(), fce_.data(), P(lm), n_ce_, D, V, false);
    for (int64_t j = 0; j < n_ce_; ++j) {
      int32_t s = ce_rows_[j];
      float* dst = &dfin[expert_of_[s]][static_cast<int64_t>(row_of_[s]) * D];
      for (int64_t c = 0; c < D; ++c) dst[c] += dfce[j * D + c];
    }
  }
  if (n_noisy_) {
    std::vector<float> dfn(n_noisy_ * D);
    const int w = layout_.global_index[kLlm2VaeW], bb = layout_.global_index[kLlm2VaeB];
    linear_bwd(dfn.data(), G(w), G(bb), dvel_.data(), fnoisy_.data(), P(w), n_noisy_, D, C, false);
    int64_t j = 0;
    for (int64_t i = 0; i < N_; ++i)
      if (kind_[i] == kTokNoisyLatent) {
        float* dst = &dfin[1][static_cast<int64_t>(row_of_[i]) * D];
        for (int64_t c = 0; c < D; ++c) dst[c] += dfn[j * D + c];
        ++j;
      }
  }
  const int fin_idx[2] = {layout_.final_norm_und, layout_.final_norm_gen};
  for (int e = 0; e < 2; ++e) {
    const int64_t n = static_cast<int64_t>(rows_[e].size());
    if (!n) continue;
    std::vector<float> dwtmp;
    float* gw = G(fin_idx[e]);
    if (!gw) { dwtmp.assign(D, 0.f); gw = dwtmp.data(); }
    rmsnorm_backward_cpu(dx_[e].data(), gw, xe_[e].data(), P(fin_idx[e]), fin_rstd_[e].data(), dfin[e].data(), n, D, true);
  }
  for (int64_t l = cfg_.layers - 1; l >= 0; --l) MC_RETURN_IF_ERROR(layer_backward(l));
  embed_inputs_backward();
  return Status::Ok();
}

}  // namespace mc
