// LoRA against PyTorch: the loss and the adapter's gradients with the base frozen, one AdamW step,
// and the merged model's logits against PyTorch's UNMERGED adapter (golden/finetuning.py). Then the
// adapter files: PEFT's layout, a round trip, and clear errors for an adapter that does not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/debugging/data_paths.hpp"
#include "common/finetuning/adapter_file.hpp"
#include "common/finetuning/lora_training.hpp"
#include "common/model/model.hpp"
#include "common/tensors/error.hpp"
#include "common/training/adamw.hpp"
#include "tests/chapter11/training_test_support.hpp"
#include "tests/chapter13/finetuning_test_support.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
using testing::golden_finetuning;
using testing::TemporaryDirectory;

// golden/finetuning.py's adapter: rank 4, alpha 8, every module; its A and B from the file.
LoraAdapter golden_adapter(const ModelConfig& config) {
  LoraAdapter adapter(config, LoraSettings{4, 8.0});
  for (const ParameterInfo& info : adapter.parameters().infos()) {
    const Tensor value = golden_finetuning().tensor("lora." + info.name);
    Tensor destination = adapter.parameters().value(info.name);
    std::copy_n(value.data<float>(), value.numel(), destination.mutable_data<float>());
  }
  return adapter;
}

TEST(Lora, ItAdaptsTheAttentionAndMlpProjectionsButNotTheRoutedExperts) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  const LoraAdapter adapter(golden.config, LoraSettings{4, 8.0});
  // 4 layers x q, k, v, o + 2 dense MLPs x 3 + 2 shared experts x 3 = 28, as PyTorch's list.
  std::int64_t golden_matrices = 0;
  for (const std::string& name : golden_finetuning().names()) {
    golden_matrices += name.starts_with("lora.model.") ? 1 : 0;
  }
  EXPECT_EQ(adapter.targets().size(), 28u);
  EXPECT_EQ(static_cast<std::int64_t>(adapter.targets().size()) * 2, golden_matrices);
  for (const LoraTarget& target : adapter.targets()) {
    EXPECT_EQ(target.weight.find(".experts."), std::string::npos) << target.weight;
  }
}

TEST(Lora, StartsAsPeftDoesWithBZeroSoTheModelIsUnchanged) {
  LoraAdapter adapter(testing::golden_model("tiny").config, LoraSettings{4, 8.0});
  adapter.initialise(7);
  for (const LoraTarget& target : adapter.targets()) {
    const Tensor a = adapter.parameters().value(target.lora_a());
    const Tensor b = adapter.parameters().value(target.lora_b());
    const float bound = 1.0f / std::sqrt(static_cast<float>(target.in));
    float largest = 0.0f;
    for (std::int64_t i = 0; i < a.numel(); ++i) largest = std::max(largest, std::abs(a.flat(i)));
    EXPECT_LE(largest, bound) << target.weight;
    EXPECT_GT(largest, 0.5f * bound) << target.weight;  // spread over the range, not all 0
    for (std::int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.flat(i), 0.0f) << target.weight;
  }
}

TEST(Lora, LossAndAdapterGradientsEqualPyTorchsUnmergedAdapter) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  TrainableModel model = testing::golden_trainable_model(golden);
  LoraAdapter adapter = golden_adapter(golden.config);
  LoraTraining training(model, adapter);
  const PackedSequences packed = testing::golden_packed_batch();
  const double loss = training.forward_backward(packed.batch(0, 1));
  const float golden_loss = golden_finetuning().tensor("lora.loss").flat(0);
  EXPECT_NEAR(loss, golden_loss, 1e-5 * std::abs(golden_loss));
  // The adapter changes the model: its loss is not the base model's.
  EXPECT_GT(std::abs(golden_loss - golden_finetuning().tensor("sft.loss").flat(0)), 1e-3);
  for (const ParameterInfo& info : adapter.parameters().infos()) {
    EXPECT_TRUE(testing::matches_gradient(adapter.parameters().gradient(info.name),
                                          golden_finetuning().tensor("lora.grad." + info.name)))
        << info.name;
  }
}

TEST(Lora, OneStepMovesTheAdapterAsPyTorchDoesAndLeavesTheBaseAlone) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  TrainableModel model = testing::golden_trainable_model(golden);
  LoraAdapter adapter = golden_adapter(golden.config);
  LoraTraining training(model, adapter);
  training.forward_backward(testing::golden_packed_batch().batch(0, 1));
  clip_gradient_norm(adapter.parameters().gradients(), 1.0);
  AdamW optimizer({0.9, 0.95, 1e-8, 0.1}, adapter.parameters().count());  // adapters do not decay
  optimizer.step(adapter.parameters(), 1e-2);
  for (const ParameterInfo& info : adapter.parameters().infos()) {
    EXPECT_TRUE(testing::matches_golden(adapter.parameters().value(info.name),
                                        golden_finetuning().tensor("lora.step." + info.name),
                                        Tolerance{1e-4, 0.0}))  // 1% of lr (see the SFT step)
        << info.name;
  }
}

TEST(Lora, TheMergedModelsLogitsEqualPyTorchsUnmergedAdapter) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  LoraAdapter adapter = golden_adapter(golden.config);
  const Model merged(golden.config, merge_adapter(golden.checkpoint, adapter));
  const std::vector<std::int32_t> tokens = testing::golden_conversations()[0].tokens;
  KVCache cache = merged.make_cache(64);
  const Tensor logits = merged.forward(tokens, cache);  // [n, V]
  const Tensor expected = golden_finetuning().tensor("lora.logits.0");
  EXPECT_TRUE(testing::matches_golden(logits, expected, Tolerance{2e-5, 2e-5}));
  // ... and differ from the base model's, which the adapter changed.
  const Model base = Model::load(golden_model_dir("tiny"));
  KVCache base_cache = base.make_cache(64);
  const Tensor base_logits = base.forward(tokens, base_cache);
  EXPECT_FALSE(testing::matches_golden(base_logits, expected, Tolerance{1e-3, 1e-3}));
}

TEST(AdapterFile, RoundTripsInPeftsLayout) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  LoraAdapter adapter = golden_adapter(golden.config);
  TemporaryDirectory directory;
  save_adapter(directory / "adapter", adapter, golden.names.prefix(), "golden/data/tiny");
  const SafetensorsFile file(directory / "adapter" / "adapter_model.safetensors");
  EXPECT_TRUE(file.contains(
      "base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  const std::string config = testing::read_file(directory / "adapter" / "adapter_config.json");
  EXPECT_NE(config.find("\"peft_type\": \"LORA\""), std::string::npos) << config;
  EXPECT_NE(config.find("\"r\": 4"), std::string::npos) << config;

  LoraAdapter loaded = load_adapter(directory / "adapter", golden.config);
  EXPECT_EQ(loaded.settings().rank, 4);
  EXPECT_EQ(loaded.settings().alpha, 8.0);
  const std::span<const float> a = adapter.parameters().values();
  const std::span<const float> b = loaded.parameters().values();
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

// The message of loading the adapter in `directory` for `config`, or "" if it loads.
std::string load_error(const fs::path& directory, const ModelConfig& config) {
  try {
    load_adapter(directory, config);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(AdapterFile, AnAdapterForAnotherBaseModelIsAnErrorNamingTheTensor) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  LoraAdapter adapter = golden_adapter(golden.config);
  TemporaryDirectory directory;
  save_adapter(directory / "adapter", adapter, "", "golden/data/tiny");
  // The same model with a narrower dense MLP: its gate_proj is [48, 64], not [96, 64].
  ModelConfig narrower = golden.config;
  narrower.intermediate_size_mlp = 48;
  const std::string message = load_error(directory / "adapter", narrower);
  EXPECT_NE(message.find("adapter_model.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("lora_"), std::string::npos) << message;
}

// The golden adapter saved in `directory`/adapter with one edit to its adapter_config.json
// (`from` replaced by `to`), and the error of loading it for the tiny model ("" if it loads).
std::string error_after_config_edit(const TemporaryDirectory& directory, const std::string& from,
                                    const std::string& to) {
  const testing::GoldenModel& golden = testing::golden_model("tiny");
  LoraAdapter adapter = golden_adapter(golden.config);
  save_adapter(directory / "adapter", adapter, "", "golden/data/tiny");
  const fs::path config_path = directory / "adapter" / "adapter_config.json";
  std::string config = testing::read_file(config_path);
  if (config.find(from) == std::string::npos) return "no \"" + from + "\" in the config";
  config.replace(config.find(from), from.size(), to);
  testing::write_file(config_path, config);
  return load_error(directory / "adapter", golden.config);
}

class AdapterConfigRefused : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
};

// Each case rewrites one thing of a good adapter_config.json; the error names the field.
TEST_P(AdapterConfigRefused, WithAnErrorNamingTheField) {
  TemporaryDirectory directory;
  const auto& [from, to] = GetParam();
  const std::string message = error_after_config_edit(directory, from, to);
  EXPECT_NE(message.find("adapter_config.json"), std::string::npos) << message;
  const std::string field = to.substr(0, to.find(':'));
  EXPECT_NE(message.find(field.substr(1, field.size() - 2)), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Chapter13, AdapterConfigRefused,
    ::testing::Values(std::pair{"\"use_dora\": false", "\"use_dora\": true"},
                      std::pair{"\"peft_type\": \"LORA\"", "\"peft_type\": \"IA3\""},
                      std::pair{"\"r\": 4", "\"r\": 0"},
                      std::pair{"\"lora_alpha\": 8.0", "\"lora_alpha\": -1"},
                      std::pair{"\"bias\": \"none\"", "\"bias\": \"all\""},
                      std::pair{"\"rank_pattern\": {}", "\"rank_pattern\": {\"q_proj\": 2}"},
                      std::pair{"\"q_proj\",", "\"lm_head\","}));

TEST(AdapterFile, ARankThatDisagreesWithTheTensorsIsAnErrorNamingATensor) {
  TemporaryDirectory directory;
  const std::string message = error_after_config_edit(directory, "\"r\": 4", "\"r\": 8");
  EXPECT_NE(message.find("lora_A.weight\" is [4, "), std::string::npos) << message;
  EXPECT_NE(message.find("[8, "), std::string::npos) << message;
}

}  // namespace
}  // namespace llama4
