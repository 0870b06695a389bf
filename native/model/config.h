// The MoT model's configuration and parameter layout (DESIGN.md section 2). The layout is the one
// source of truth for parameter names, shapes and initialisation: TypeScript asks for it
// (paramLayout), allocates one tensor per entry, initialises it, and hands the tensors back in the
// same order. Names follow the module structure: shared, vit connector, gen-only heads, then per layer
// and expert (und | gen), then the two final norms.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../../kernels/common/status.h"

namespace mc {

struct MotConfig {
  int64_t vocab = 0;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t mlp = 0;
  double rope_theta = 1e6;
  double rms_eps = 1e-6;
  int64_t latent_channels = 0;  // channels of one latent token (identity codec: patch*patch*3)
  int64_t vit_patch_dim = 0;    // pixels of one ViT patch (patch*patch*3)
  int64_t max_latent_side = 0;  // side of the 2-D position table (latent and ViT grids)
  int64_t timestep_dim = 256;
  bool tie_embeddings = false;

  Status validate() const;
};

enum class Init : int { Normal = 0, Zeros = 1, Ones = 2 };
enum class Owner : int { Shared = 0, Und = 1, Gen = 2 };

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
  double std;     // for Normal
  Owner owner;    // which expert's freezing covers it
  bool decay;     // weight decay applies (matrices yes; norms, biases no)
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// Per-layer, per-expert parameter slots, in layout order.
enum LayerSlot : int {
  kInputNorm = 0,
  kQW, kQB, kKW, kKB, kVW, kVB, kOW,
  kQNorm, kKNorm, kPostNorm,
  kGateW, kUpW, kDownW,
  kLayerSlots
};

// Global slots, in layout order (kLmHead absent when embeddings are tied).
enum GlobalSlot : int {
  kEmbed = 0, kLmHead,
  kVitPatchW, kVitPatchB, kVitMlp1W, kVitMlp1B, kVitMlp2W, kVitMlp2B,
  kTimeFc1W, kTimeFc1B, kTimeFc2W, kTimeFc2B,
  kVae2LlmW, kVae2LlmB, kLlm2VaeW, kLlm2VaeB,
  kGlobalSlots
};

struct ParamLayout {
  std::vector<ParamSpec> specs;
  int global_index[kGlobalSlots];  // index into specs, -1 if absent (tied lm_head)
  int layer_base = 0;              // specs index of layer 0, expert und, slot 0
  int final_norm_und = 0, final_norm_gen = 0;
  int layer_index(int64_t layer, int expert, int slot) const {
    return layer_base + static_cast<int>((layer * 2 + expert) * kLayerSlots + slot);
  }
};

ParamLayout make_layout(const MotConfig& c);

}  // namespace mc
