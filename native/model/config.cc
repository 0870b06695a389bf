#include "config.h"

namespace mc {

Status MotConfig::validate() const {
  auto bad = [](const char* field, const std::string& expected, int64_t got) {
    return Status::Error(Code::E_ARG, std::string("model config: '") + field + "' expected " + expected +
                                          ", received " + std::to_string(got));
  };
  if (vocab < 1) return bad("vocab", ">= 1", vocab);
  if (hidden < 1) return bad("hidden", ">= 1", hidden);
  if (layers < 1) return bad("layers", ">= 1", layers);
  if (heads < 1) return bad("heads", ">= 1", heads);
  if (kv_heads < 1 || heads % kv_heads) return bad("kv_heads", "a divisor of heads (" + std::to_string(heads) + ")", kv_heads);
  if (head_dim < 2 || head_dim % 2 || head_dim > 256) return bad("head_dim", "an even number in [2, 256]", head_dim);
  if (mlp < 1) return bad("mlp", ">= 1", mlp);
  if (latent_channels < 1) return bad("latent_channels", ">= 1", latent_channels);
  if (vit_patch_dim < 1) return bad("vit_patch_dim", ">= 1", vit_patch_dim);
  if (max_latent_side < 1) return bad("max_latent_side", ">= 1", max_latent_side);
  if (timestep_dim < 2 || timestep_dim % 2) return bad("timestep_dim", "an even number >= 2", timestep_dim);
  if (hidden % 4) return bad("hidden", "a multiple of 4 (2-D sin-cos position table)", hidden);
  if (!(rope_theta > 1)) return Status::Error(Code::E_ARG, "model config: 'rope_theta' expected > 1");
  if (!(rms_eps > 0)) return Status::Error(Code::E_ARG, "model config: 'rms_eps' expected > 0");
  return Status::Ok();
}

ParamLayout make_layout(const MotConfig& c) {
  ParamLayout L;
  const int64_t D = c.hidden, V = c.vocab, F = c.mlp, hd = c.head_dim;
  const int64_t qd = c.heads * hd, kvd = c.kv_heads * hd;
  const double s = 0.02;  // Qwen2 initializer_range
  for (int i = 0; i < kGlobalSlots; ++i) L.global_index[i] = -1;
  auto add = [&](std::string name, std::vector<int64_t> shape, Init init, Owner owner, bool decay) {
    L.specs.push_back(ParamSpec{std::move(name), std::move(shape), init, s, owner, decay});
    return static_cast<int>(L.specs.size() - 1);
  };
  L.global_index[kEmbed] = add("embed.weight", {V, D}, Init::Normal, Owner::Shared, true);
  if (!c.tie_embeddings) L.global_index[kLmHead] = add("lm_head.weight", {V, D}, Init::Normal, Owner::Shared, true);
  L.global_index[kVitPatchW] = add("vit.patch_embed.weight", {D, c.vit_patch_dim}, Init::Normal, Owner::Und, true);
  L.global_index[kVitPatchB] = add("vit.patch_embed.bias", {D}, Init::Zeros, Owner::Und, false);
  L.global_index[kVitMlp1W] = add("vit.connector.fc1.weight", {D, D}, Init::Normal, Owner::Und, true);
  L.global_index[kVitMlp1B] = add("vit.connector.fc1.bias", {D}, Init::Zeros, Owner::Und, false);
  L.global_index[kVitMlp2W] = add("vit.connector.fc2.weight", {D, D}, Init::Normal, Owner::Und, true);
  L.global_index[kVitMlp2B] = add("vit.connector.fc2.bias", {D}, Init::Zeros, Owner::Und, false);
  L.global_index[kTimeFc1W] = add("time_embedder.fc1.weight", {D, c.timestep_dim}, Init::Normal, Owner::Gen, true);
  L.global_index[kTimeFc1B] = add("time_embedder.fc1.bias", {D}, Init::Zeros, Owner::Gen, false);
  L.global_index[kTimeFc2W] = add("time_embedder.fc2.weight", {D, D}, Init::Normal, Owner::Gen, true);
  L.global_index[kTimeFc2B] = add("time_embedder.fc2.bias", {D}, Init::Zeros, Owner::Gen, false);
  L.global_index[kVae2LlmW] = add("vae2llm.weight", {D, c.latent_channels}, Init::Normal, Owner::Gen, true);
  L.global_index[kVae2LlmB] = add("vae2llm.bias", {D}, Init::Zeros, Owner::Gen, false);
  // llm2vae is zero-initialised (BAGEL): the untrained model predicts zero velocity.
  L.global_index[kLlm2VaeW] = add("llm2vae.weight", {c.latent_channels, D}, Init::Zeros, Owner::Gen, true);
  L.global_index[kLlm2VaeB] = add("llm2vae.bias", {c.latent_channels}, Init::Zeros, Owner::Gen, false);
  L.layer_base = static_cast<int>(L.specs.size());
  const char* ex[2] = {"und", "gen"};
  for (int64_t l = 0; l < c.layers; ++l) {
    for (int e = 0; e < 2; ++e) {
      std::string p = "layers." + std::to_string(l) + "." + ex[e] + ".";
      Owner o = e == 0 ? Owner::Und : Owner::Gen;
      add(p + "input_norm.weight", {D}, Init::Ones, o, false);
      add(p + "q_proj.weight", {qd, D}, Init::Normal, o, true);
      add(p + "q_proj.bias", {qd}, Init::Zeros, o, false);
      add(p + "k_proj.weight", {kvd, D}, Init::Normal, o, true);
      add(p + "k_proj.bias", {kvd}, Init::Zeros, o, false);
      add(p + "v_proj.weight", {kvd, D}, Init::Normal, o, true);
      add(p + "v_proj.bias", {kvd}, Init::Zeros, o, false);
      add(p + "o_proj.weight", {D, qd}, Init::Normal, o, true);
      add(p + "q_norm.weight", {hd}, Init::Ones, o, false);
      add(p + "k_norm.weight", {hd}, Init::Ones, o, false);
      add(p + "post_norm.weight", {D}, Init::Ones, o, false);
      add(p + "mlp.gate_proj.weight", {F, D}, Init::Normal, o, true);
      add(p + "mlp.up_proj.weight", {F, D}, Init::Normal, o, true);
      add(p + "mlp.down_proj.weight", {D, F}, Init::Normal, o, true);
    }
  }
  L.final_norm_und = add("final_norm.und.weight", {D}, Init::Ones, Owner::Und, false);
  L.final_norm_gen = add("final_norm.gen.weight", {D}, Init::Ones, Owner::Gen, false);
  return L;
}

}  // namespace mc
