#include "common/finetuning/adapter_file.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/tensors/atomic_file.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/training/training_checkpoint.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPeftPrefix = "base_model.model.";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

void write_adapter_files(const fs::path& directory, LoraAdapter& adapter,
                         const std::string& weight_prefix, const std::string& base_model) {
  const LoraSettings& settings = adapter.settings();
  const nlohmann::ordered_json config = {{"peft_type", "LORA"},
                                         {"task_type", "CAUSAL_LM"},
                                         {"base_model_name_or_path", base_model},
                                         {"r", settings.rank},
                                         {"lora_alpha", settings.alpha},
                                         {"lora_dropout", 0.0},
                                         {"target_modules", settings.target_modules},
                                         {"bias", "none"},
                                         {"fan_in_fan_out", false},
                                         {"use_rslora", false},
                                         {"use_dora", false},
                                         {"init_lora_weights", true},
                                         {"inference_mode", true},
                                         {"modules_to_save", nullptr},
                                         {"rank_pattern", nlohmann::ordered_json::object()},
                                         {"alpha_pattern", nlohmann::ordered_json::object()}};
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const LoraTarget& target : adapter.targets()) {
    for (const std::string& name : {target.lora_a(), target.lora_b()}) {
      tensors.emplace_back(kPeftPrefix + weight_prefix + name, adapter.parameters().value(name));
    }
  }
  write_file_atomically(directory / kConfigFile, config.dump(2) + "\n");
  write_safetensors(directory / kWeightsFile, tensors, {{"format", "pt"}});
}

void save_adapter(const fs::path& directory, LoraAdapter& adapter, const std::string& weight_prefix,
                  const std::string& base_model,
                  const std::vector<std::pair<std::string, std::string>>& extra_files) {
  write_directory_atomically(directory, [&](const fs::path& staging) {
    write_adapter_files(staging, adapter, weight_prefix, base_model);
    for (const auto& [name, bytes] : extra_files) write_file_atomically(staging / name, bytes);
  });
}

LoraSettings read_adapter_config(const fs::path& directory) {
  const fs::path path = directory / kConfigFile;
  if (!fs::exists(path))
    fail(path, " does not exist: is ", directory, " a LoRA adapter directory?");
  const nlohmann::json j = parse_json_document(read_regular_file(path), path.string());
  if (!j.is_object()) fail(path, ": not a JSON object");
  const auto field = [&](const char* key) -> const nlohmann::json* {
    return j.contains(key) && !j[key].is_null() ? &j[key] : nullptr;
  };
  const nlohmann::json* type = field("peft_type");
  if (type == nullptr || !type->is_string() || type->get<std::string>() != "LORA") {
    fail(path, ": \"peft_type\" must be \"LORA\"", type ? ", got " + json_excerpt(*type) : "");
  }
  LoraSettings settings;
  const nlohmann::json* rank = field("r");
  const std::optional<std::int64_t> r = rank ? json_integer(*rank) : std::nullopt;
  if (!r || *r < 1 || *r > 65536) fail(path, ": \"r\" must be a whole number from 1 to 65536");
  settings.rank = *r;
  const nlohmann::json* alpha = field("lora_alpha");
  if (alpha == nullptr || !alpha->is_number() || !(alpha->get<double>() > 0.0) ||
      alpha->get<double>() > 1e6) {
    fail(path, ": \"lora_alpha\" must be a number above 0");
  }
  settings.alpha = alpha->get<double>();
  const nlohmann::json* modules = field("target_modules");
  if (modules == nullptr || !modules->is_array() || modules->empty()) {
    fail(path,
         ": \"target_modules\" must be a list of module names (a regular expression is not "
         "supported here)");
  }
  settings.target_modules.clear();
  for (const nlohmann::json& module : *modules) {
    if (!module.is_string()) fail(path, ": \"target_modules\" holds ", json_excerpt(module));
    const std::string name = module.get<std::string>();
    check_lora_module(name, path.string());
    settings.target_modules.push_back(name);
  }
  // PEFT options that would change what the adapter computes: refuse them rather than ignore them.
  for (const char* flag : {"use_dora", "use_rslora", "fan_in_fan_out"}) {
    if (const nlohmann::json* value = field(flag); value && !(value->is_boolean() && !*value)) {
      fail(path, ": \"", flag, "\" is ", json_excerpt(*value), "; only false is supported here");
    }
  }
  if (const nlohmann::json* bias = field("bias"); bias && *bias != "none") {
    fail(path, ": \"bias\" is ", json_excerpt(*bias), "; only \"none\" is supported here");
  }
  for (const char* pattern : {"rank_pattern", "alpha_pattern"}) {
    if (const nlohmann::json* value = field(pattern); value && !value->empty()) {
      fail(path, ": \"", pattern, "\" (per-module ranks) is not supported here");
    }
  }
  if (const nlohmann::json* value = field("modules_to_save"); value && !value->empty()) {
    fail(path, ": \"modules_to_save\" (whole trained modules) is not supported here");
  }
  return settings;
}

LoraAdapter load_adapter(const fs::path& directory, const ModelConfig& config) {
  LoraAdapter adapter(config, read_adapter_config(directory));
  const fs::path path = directory / kWeightsFile;
  if (!fs::exists(path)) fail(path, " does not exist");
  const SafetensorsFile file(path);
  std::map<std::string, Shape> expected;  // canonical name -> shape
  for (const LoraTarget& target : adapter.targets()) {
    expected[target.lora_a()] = {adapter.settings().rank, target.in};
    expected[target.lora_b()] = {target.out, adapter.settings().rank};
  }
  std::set<std::string> found;
  for (const std::string& stored : file.names()) {
    std::string name = stored;
    if (!name.starts_with(kPeftPrefix)) {
      fail(path, ": tensor \"", printable(stored), "\" does not start with \"", kPeftPrefix,
           "\" (PEFT's names)");
    }
    name.erase(0, std::string(kPeftPrefix).size());
    if (name.starts_with("language_model.")) name.erase(0, std::string("language_model.").size());
    const auto wanted = expected.find(name);
    if (wanted == expected.end()) {
      fail(path, ": tensor \"", printable(stored),
           "\" is not a LoRA matrix of this model for the target modules in ", kConfigFile);
    }
    const Tensor tensor = file.tensor(stored);
    if (tensor.shape() != wanted->second) {
      fail(path, ": tensor \"", printable(stored), "\" is ", shape_text(tensor.shape()),
           " but this model needs ", shape_text(wanted->second), " (r = ", adapter.settings().rank,
           "): the adapter was made for another base model or rank");
    }
    if (!found.insert(name).second) fail(path, ": tensor \"", printable(stored), "\" twice");
    const Tensor widened = tensor.to(DType::F32);
    Tensor destination = adapter.parameters().value(name);
    std::copy_n(widened.data<float>(), widened.numel(), destination.mutable_data<float>());
  }
  for (const auto& [name, shape] : expected) {
    if (found.count(name) == 0) {
      fail(path, ": no tensor for ", name, " (", kPeftPrefix, name, ")");
    }
  }
  return adapter;
}

Checkpoint merge_adapter(const Checkpoint& base, LoraAdapter& adapter) {
  const WeightNames names(base);
  std::map<std::string, std::size_t> target_of;  // the base's name -> target index
  for (std::size_t t = 0; t < adapter.targets().size(); ++t) {
    target_of[names.prefix() + adapter.targets()[t].weight] = t;
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : base.names()) {
    const auto target = target_of.find(name);
    if (target == target_of.end()) {
      tensors.emplace_back(name, base.tensor(name));
      continue;
    }
    const LoraTarget& t = adapter.targets()[target->second];
    Tensor merged = load_weight(base, name, {t.out, t.in}).to(DType::F32);
    Tensor delta = Tensor::zeros({t.out, t.in});
    adapter.delta(target->second, delta);
    float* w = merged.mutable_data<float>();
    const float* d = delta.data<float>();
    for (std::int64_t i = 0; i < merged.numel(); ++i) w[i] += d[i];
    tensors.emplace_back(name, std::move(merged));
    target_of.erase(target);
  }
  if (!target_of.empty()) {
    fail(base.location(), " has no tensor ", target_of.begin()->first, " for the LoRA adapter");
  }
  return Checkpoint::from_tensors(base.location().string() + " with a LoRA adapter merged",
                                  std::move(tensors));
}

}  // namespace llama4
