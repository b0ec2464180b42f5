// LoRA: low-rank adapters (Hu et al., 2021), the way most people fine-tune a Llama.
//
// Full fine-tuning changes every weight W [out, in] of the model. LoRA freezes W and learns a
// change of rank r instead, the product of two thin matrices:
//
//   W' = W + (α / r) · B · A          A: [r, in]   B: [out, r]     r = 8: for a 4096 x 4096
//                                                                  matrix, 65,536 numbers, not 16M
//   y  = x · W'ᵀ = x · Wᵀ + (α / r) · (x · Aᵀ) · Bᵀ
//
// A starts random and B at zero, so training starts from the base model exactly (W' = W), and the
// scale α / r keeps the size of the change independent of the rank chosen. Fine-tuning needs few
// degrees of freedom (the model already knows the language; it learns a format), so a small r is
// enough, and the adapter is a file of megabytes instead of a copy of the model.
//
// Which weights: the nn.Linear projections named in target_modules, by their module name, as PEFT
// selects them: q_proj, k_proj, v_proj, o_proj (attention), gate_proj, up_proj, down_proj (the
// dense MLP and the MoE's shared expert, which share those names). The routed experts are not
// adapted: they are stored as one 3-D parameter per layer (experts.gate_up_proj [E, H, 2I]), not as
// nn.Linear modules, so PEFT's target_modules cannot name them either. The router, the norms, the
// embedding and the LM head stay frozen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/tensors/model_config.hpp"
#include "common/training/parameters.hpp"

namespace llama4 {

struct LoraSettings {
  std::int64_t rank = 8;  // r
  double alpha = 16.0;    // α
  std::vector<std::string> target_modules = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};
  double scale() const { return alpha / static_cast<double>(rank); }
};

// The module names LoRA can adapt here (the list above), for messages and --lora-targets.
const std::vector<std::string>& lora_module_names();
// An Error, prefixed by `where`, when `module` is not one of them.
void check_lora_module(const std::string& module, const std::string& where);

// One adapted weight: its canonical name (model.layers.0.self_attn.q_proj.weight) and shape.
struct LoraTarget {
  std::string weight;
  std::int64_t out = 0, in = 0;
  std::string lora_a() const;  // model.layers.0.self_attn.q_proj.lora_A.weight   [r, in]
  std::string lora_b() const;  // model.layers.0.self_attn.q_proj.lora_B.weight   [out, r]
};

class LoraAdapter {
 public:
  // Every weight of `config` that target_modules names gets an A and a B, all zero. A rank below
  // 1, or a module name not in lora_module_names(), is an Error naming it.
  LoraAdapter(const ModelConfig& config, LoraSettings settings);

  // PEFT's start: every A uniform in ±1/sqrt(in) (kaiming_uniform with a = sqrt(5)), B = 0.
  void initialise(std::uint64_t seed);

  const LoraSettings& settings() const { return settings_; }
  const std::vector<LoraTarget>& targets() const { return targets_; }
  Parameters& parameters() { return parameters_; }  // the A and B matrices, what is trained

  // delta [out, in] = (α / r) · B · A of target i (overwritten).
  void delta(std::size_t target, Tensor& delta);

 private:
  LoraSettings settings_;
  std::vector<LoraTarget> targets_;
  Parameters parameters_;
};

}  // namespace llama4
