#include "common/finetuning/lora.hpp"

#include <algorithm>
#include <cmath>

#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/gemm.hpp"
#include "common/training/initialization.hpp"

namespace llama4 {
namespace {

// "model.layers.0.self_attn.q_proj.weight" -> "model.layers.0.self_attn.q_proj"
std::string stem(const std::string& weight) {
  return weight.substr(0, weight.size() - std::string(".weight").size());
}

// "model.layers.0.self_attn.q_proj.weight" -> "q_proj"
std::string module_name(const std::string& weight) {
  const std::string module_path = stem(weight);
  return module_path.substr(module_path.rfind('.') + 1);
}

}  // namespace

const std::vector<std::string>& lora_module_names() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

void check_lora_module(const std::string& module, const std::string& where) {
  const std::vector<std::string>& known = lora_module_names();
  if (std::find(known.begin(), known.end(), module) == known.end()) {
    fail(where, ": target module \"", printable(module),
         "\" is not one this model's adapters can take (q_proj, k_proj, v_proj, o_proj, "
         "gate_proj, up_proj, down_proj)");
  }
}

std::string LoraTarget::lora_a() const {
  return stem(weight) + ".lora_A.weight";
}
std::string LoraTarget::lora_b() const {
  return stem(weight) + ".lora_B.weight";
}

LoraAdapter::LoraAdapter(const ModelConfig& config, LoraSettings settings)
    : settings_(std::move(settings)) {
  if (settings_.rank < 1) fail("LoRA rank ", settings_.rank, ": it must be at least 1");
  if (!(settings_.alpha > 0.0) || !std::isfinite(settings_.alpha)) {
    fail("LoRA alpha ", settings_.alpha, ": it must be a positive number");
  }
  for (const std::string& module : settings_.target_modules) check_lora_module(module, "LoRA");
  for (const WeightShape& weight : text_model_weights(config)) {
    if (weight.kind != WeightShape::Kind::matrix || !weight.name.ends_with(".weight") ||
        weight.name.find(".experts.") != std::string::npos) {
      continue;  // routed experts (3-D parameters), the router, norms: never adapted
    }
    const std::string module = module_name(weight.name);
    const auto& wanted = settings_.target_modules;
    if (std::find(wanted.begin(), wanted.end(), module) == wanted.end()) continue;
    LoraTarget target{weight.name, weight.shape[0], weight.shape[1]};
    parameters_.add(target.lora_a(), {settings_.rank, target.in}, /*decays=*/false);
    parameters_.add(target.lora_b(), {target.out, settings_.rank}, /*decays=*/false);
    targets_.push_back(std::move(target));
  }
  if (targets_.empty()) fail("LoRA: no weight of this model is named by the target modules");
}

void LoraAdapter::initialise(std::uint64_t seed) {
  std::span<float> values = parameters_.values();
  std::fill(values.begin(), values.end(), 0.0f);
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    Tensor a = parameters_.value(targets_[t].lora_a());
    const double bound = 1.0 / std::sqrt(static_cast<double>(targets_[t].in));
    float* data = a.mutable_data<float>();
    for (std::int64_t i = 0; i < a.numel(); ++i) {
      const double unit =
          static_cast<double>(counter_hash(seed, t, static_cast<std::uint64_t>(i)) >> 11) /
          9007199254740992.0;  // [0, 1), 53 bits
      data[i] = static_cast<float>((2.0 * unit - 1.0) * bound);
    }
  }
}

void LoraAdapter::delta(std::size_t target, Tensor& delta) {
  const LoraTarget& t = targets_.at(target);
  expect_shape(delta, {t.out, t.in}, "LoRA delta of " + t.weight);
  const Tensor a = parameters_.value(t.lora_a());  // [r, in]
  const Tensor b = parameters_.value(t.lora_b());  // [out, r]
  float* d = delta.mutable_data<float>();
  gemm(b.data<float>(), Transpose::no, a.data<float>(), Transpose::no, d, t.out, t.in,
       settings_.rank);
  const auto scale = static_cast<float>(settings_.scale());
  for (std::int64_t i = 0; i < delta.numel(); ++i) d[i] *= scale;
}

}  // namespace llama4
