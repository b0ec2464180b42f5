#include "common/debugging/activation_dump.hpp"

#include <cstring>

#include "common/tensors/error.hpp"

namespace llama4 {

const std::vector<std::string>& layer_stage_order() {
  static const std::vector<std::string> order = {"attn_norm",
                                                 "q",
                                                 "k",
                                                 "v",
                                                 "q_rope",
                                                 "k_rope",
                                                 "q_norm",
                                                 "k_norm",
                                                 "q_temperature",
                                                 "attn_probs",
                                                 "attn_context",
                                                 "attn_out",
                                                 "attn_residual",
                                                 "ffn_norm",
                                                 "router_logits",
                                                 "expert_index",
                                                 "expert_score",
                                                 "shared_out",
                                                 "routed_out",
                                                 "mlp_out",
                                                 "ffn_out",
                                                 "output"};
  return order;
}

std::vector<std::string> stage_order(std::int64_t layers) {
  std::vector<std::string> order = {"embedding"};
  for (std::int64_t l = 0; l < layers; ++l) {
    for (const std::string& stage : layer_stage_order())
      order.push_back("layers." + std::to_string(l) + "." + stage);
  }
  order.push_back("final_norm");
  order.push_back("logits");
  return order;
}

Tolerance stage_tolerance(const std::string& stage) {
  if (stage == "embedding" || stage == "expert_index" || stage == "tokens")
    return tolerance::kExact;
  return tolerance::kModel;
}

void write_activation_dump(const std::filesystem::path& path, const ActivationRecorder& recorder,
                           std::span<const std::int32_t> tokens) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : recorder.names()) {
    const bool per_call = name.ends_with("attn_probs");  // [heads, T, keys]: calls cannot be joined
    tensors.emplace_back(name, per_call ? recorder.last(name) : recorder.concatenated(name));
  }
  Tensor ids = Tensor::zeros({static_cast<std::int64_t>(tokens.size())}, DType::I32);
  if (!tokens.empty())
    std::memcpy(ids.mutable_data<std::int32_t>(), tokens.data(), tokens.size_bytes());
  tensors.emplace_back("tokens", ids);
  write_safetensors(path, tensors, {{"format", "llama4-activations"}});
}

Divergence first_divergence(const SafetensorsFile& a, const std::string& a_prefix,
                            const SafetensorsFile& b, const std::string& b_prefix,
                            std::int64_t layers, const std::optional<Tolerance>& tolerance) {
  Divergence result;
  for (const std::string& stage : stage_order(layers)) {
    if (!a.contains(a_prefix + stage) || !b.contains(b_prefix + stage)) continue;
    std::int64_t layer = -1;
    std::string short_stage = stage;
    if (stage.starts_with("layers.")) {
      const std::size_t dot = stage.find('.', 7);
      layer = std::stoll(stage.substr(7, dot - 7));
      short_stage = stage.substr(dot + 1);
    }
    const Tolerance bound = tolerance.value_or(stage_tolerance(short_stage));
    const Tensor ours = a.tensor(a_prefix + stage);
    const Tensor theirs = b.tensor(b_prefix + stage);
    const Comparison comparison = compare(ours, theirs, bound);
    ++result.stages_compared;
    if (!comparison.within_tolerance) {
      result.found = true;
      result.stage = stage;
      result.layer = layer;
      result.detail = summary(comparison, theirs, bound);
      return result;
    }
  }
  return result;
}

}  // namespace llama4
