#include "common/debugging/activation_dump.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"

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

namespace {

// N of "layers.N.<stage>" (the text after "layers."), or -1 if `rest` does not start with a plain
// decimal number below kMaxLayers followed by a dot.
std::int64_t layer_number(std::string_view rest) {
  std::int64_t layer = -1;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (error != std::errc() || end == rest.data() || end == rest.data() + rest.size() ||
      *end != '.' || layer < 0 || layer >= config_limits::kMaxLayers) {
    return -1;
  }
  return layer;
}

}  // namespace

std::int64_t dump_layer_count(const SafetensorsFile& file, const std::string& prefix) {
  std::int64_t layers = 0;
  const std::string marker = prefix + "layers.";
  for (const std::string& name : file.names()) {
    if (!name.starts_with(marker)) continue;
    const std::int64_t layer = layer_number(std::string_view(name).substr(marker.size()));
    if (layer < 0) {
      fail(file.path(), ": tensor \"", name, "\" is not named ", marker,
           "N.<stage> with a layer number N below ", config_limits::kMaxLayers);
    }
    layers = std::max(layers, layer + 1);
  }
  return layers;
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

std::string first_non_finite_stage(const ActivationRecorder& recorder) {
  std::int64_t layers = 0;
  for (const std::string& name : recorder.names()) {
    if (name.starts_with("layers.")) layers = std::max(layers, layer_number(name.substr(7)) + 1);
  }
  for (const std::string& stage : stage_order(layers)) {
    if (!recorder.contains(stage)) continue;
    const Tensor tensor = recorder.concatenated(stage);
    if (!is_floating_point(tensor.dtype())) continue;
    for (std::int64_t i = 0; i < tensor.numel(); ++i) {
      if (std::isfinite(tensor.flat(i))) continue;
      // The multi-dimensional index of flat position i.
      Shape index(tensor.shape().size());
      std::int64_t position = i;
      for (std::size_t axis = index.size(); axis-- > 0;) {
        index[axis] = position % tensor.shape()[axis];
        position /= tensor.shape()[axis];
      }
      return stage + " at " + shape_string(index);
    }
  }
  return "";
}

Divergence first_divergence(const SafetensorsFile& a, const std::string& a_prefix,
                            const SafetensorsFile& b, const std::string& b_prefix,
                            std::int64_t layers, const std::optional<Tolerance>& tolerance) {
  if (layers < 0 || layers > config_limits::kMaxLayers) {
    fail("first_divergence: ", layers, " layers is out of range");
  }
  if (tolerance) check_tolerance(*tolerance);
  Divergence result;
  for (const std::string& stage : stage_order(layers)) {
    if (!a.contains(a_prefix + stage) || !b.contains(b_prefix + stage)) continue;
    std::int64_t layer = -1;
    std::string short_stage = stage;
    if (stage.starts_with("layers.")) {
      const std::size_t dot = stage.find('.', 7);
      layer = layer_number(std::string_view(stage).substr(7));
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
