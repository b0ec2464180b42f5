// Chapter 08: the whole model against the golden data, every stage of every case, and the greedy
// continuation; plus broken checkpoints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/model.hpp"
#include "common/model/sampler.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::GoldenModel;
using testing::matches_golden;
using testing::TemporaryDirectory;

const Model& model_of(const char* name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& slot = models[name];
  if (!slot) slot = std::make_unique<Model>(Model::load(golden_model_dir(name)));
  return *slot;
}

// Runs the case's tokens in calls of the given lengths with one cache, recording every stage.
ActivationRecorder run_case(const char* model_name, const std::string& case_name,
                            const std::vector<std::int64_t>& calls, Tensor* logits = nullptr) {
  const Model& model = model_of(model_name);
  const std::vector<std::int32_t> tokens = golden_model(model_name).tokens(case_name);
  KVCache cache = model.make_cache(64);
  ActivationRecorder recorder;
  std::int64_t start = 0;
  for (std::int64_t length : calls) {
    model.forward(std::span(tokens).subspan(static_cast<std::size_t>(start),
                                            static_cast<std::size_t>(length)),
                  cache, LogitRows::all, &recorder);
    start += length;
  }
  if (logits != nullptr) *logits = recorder.concatenated("logits");
  return recorder;
}

// Every recorded stage (but the per-call attention probabilities) against golden, at its tolerance.
void expect_every_stage_matches(const char* model_name, const std::string& case_name,
                                const ActivationRecorder& recorder) {
  const GoldenModel& golden = golden_model(model_name);
  int compared = 0;
  for (const std::string& stage : stage_order(golden.config.num_hidden_layers)) {
    if (stage.ends_with("attn_probs") || !recorder.contains(stage)) continue;
    const std::string short_stage =
        stage.starts_with("layers.") ? stage.substr(stage.find('.', 7) + 1) : stage;
    EXPECT_TRUE(matches_golden(recorder.concatenated(stage), golden.golden(case_name, stage),
                               stage_tolerance(short_stage)))
        << model_name << " " << case_name << " " << stage;
    ++compared;
  }
  EXPECT_GT(compared, 60);
}

std::vector<std::int64_t> prefill_then_single_tokens(std::int64_t prefill, std::int64_t total) {
  std::vector<std::int64_t> calls = {prefill};
  for (std::int64_t t = prefill; t < total; ++t) calls.push_back(1);
  return calls;
}

class FullModel : public ::testing::TestWithParam<const char*> {};

TEST_P(FullModel, TwentyFourTokensAtOnceMatchGoldenAtEveryStage) {
  expect_every_stage_matches(GetParam(), "full", run_case(GetParam(), "full", {24}));
}

TEST_P(FullModel, PrefillOf10Then14DecodeStepsMatchGoldenAtEveryStage) {
  expect_every_stage_matches(GetParam(), "decode",
                             run_case(GetParam(), "decode", prefill_then_single_tokens(10, 24)));
}

TEST_P(FullModel, PrefillThenDecodeAgreesWithTheFullSequence) {
  Tensor full, stepped;
  run_case(GetParam(), "full", {24}, &full);
  run_case(GetParam(), "decode", prefill_then_single_tokens(10, 24), &stepped);
  EXPECT_TRUE(matches_golden(stepped, full, {1e-5, 1e-5}));
}

TEST_P(FullModel, GreedyContinuationEqualsGolden) {
  const Model& model = model_of(GetParam());
  const GoldenModel& golden = golden_model(GetParam());
  std::vector<std::int32_t> sequence = golden.ids("greedy", "prompt");
  const Tensor expected = golden.golden("greedy", "tokens");
  KVCache cache = model.make_cache(64);
  std::vector<std::int32_t> next_input = sequence;
  Tensor logits_rows = Tensor::zeros({expected.numel(), model.config().vocab_size});
  for (std::int64_t step = 0; step < expected.numel(); ++step) {
    const Tensor logits = model.forward(next_input, cache, LogitRows::last);
    std::memcpy(logits_rows.mutable_data<float>() + step * logits.numel(), logits.data<float>(),
                logits.nbytes());
    const std::int32_t token =
        argmax(std::span(logits.data<float>(), static_cast<std::size_t>(logits.numel())));
    ASSERT_EQ(token, expected.at({step})) << "greedy step " << step;
    next_input = {token};
  }
  EXPECT_TRUE(matches_golden(logits_rows, golden.golden("greedy", "logits"), tolerance::kModel));
}

INSTANTIATE_TEST_SUITE_P(Models, FullModel, ::testing::Values("tiny", "tiny-maverick"));

TEST(FullModel, SecondPrefillAtOffset5MatchesGoldenAtEveryStage) {
  expect_every_stage_matches("tiny", "offset", run_case("tiny", "offset", {5, 7}));
}

TEST(FullModel, ShardedAndSingleFileCheckpointsGiveIdenticalLogits) {
  const Model sharded = Model::load(golden_model_dir("tiny-sharded"));
  const std::vector<std::int32_t> tokens = golden_model("tiny").tokens("full");
  KVCache a = model_of("tiny").make_cache(32);
  KVCache b = sharded.make_cache(32);
  const Tensor single_logits = model_of("tiny").forward(tokens, a);
  const Tensor sharded_logits = sharded.forward(tokens, b);
  ASSERT_EQ(single_logits.shape(), sharded_logits.shape());
  EXPECT_EQ(
      std::memcmp(single_logits.raw_data(), sharded_logits.raw_data(), single_logits.nbytes()), 0);
}

TEST(FullModel, LastRowLogitsEqualTheLastRowOfAllLogits) {
  const Model& model = model_of("tiny");
  const std::vector<std::int32_t> tokens = golden_model("tiny").tokens("full");
  KVCache a = model.make_cache(32), b = model.make_cache(32);
  const Tensor all = model.forward(tokens, a, LogitRows::all);
  const Tensor last = model.forward(tokens, b, LogitRows::last);
  // Not bit-identical: one row goes through dot products, 24 rows through register tiles, which
  // add in a different order.
  EXPECT_TRUE(matches_golden(last, all.slice(0, 23, 24), tolerance::kProjection));
}

TEST(FullModel, EmptyPromptIsAnError) {
  KVCache cache = model_of("tiny").make_cache(8);
  EXPECT_THAT([&] { model_of("tiny").forward(std::vector<std::int32_t>{}, cache); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("no tokens")));
}

TEST(FullModel, PromptLongerThanTheContextIsAnError) {
  KVCache cache = model_of("tiny").make_cache(8);
  const std::vector<std::int32_t> tokens(9, 5);
  EXPECT_THAT([&] { model_of("tiny").forward(tokens, cache); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("past the context length 8")));
}

TEST(FullModel, TokenOutsideTheVocabularyIsAnError) {
  KVCache cache = model_of("tiny").make_cache(8);
  EXPECT_THAT(
      [&] {
        model_of("tiny").forward(std::vector<std::int32_t>{3, 999}, cache);
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("token id 999 at position 1")));
}

// Copies a golden model directory so a test can break it.
class BrokenModelDirectory : public ::testing::Test {
 protected:
  void copy_from(const char* name) {
    for (const auto& file : std::filesystem::directory_iterator(golden_model_dir(name))) {
      std::filesystem::copy_file(file.path(), directory_ / file.path().filename().string());
    }
  }
  void edit_config(const std::string& from, const std::string& to) {
    std::string text = testing::read_file(directory_ / "config.json");
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    testing::write_file(directory_ / "config.json", text);
  }
  void expect_load_error(const std::string& fragment) {
    EXPECT_THAT([&] { Model::load(directory_.path()); },
                ::testing::ThrowsMessage<Error>(::testing::HasSubstr(fragment)));
  }
  TemporaryDirectory directory_;
};

TEST_F(BrokenModelDirectory, MissingShard) {
  copy_from("tiny-sharded");
  std::filesystem::remove(directory_ / "model-00002-of-00002.safetensors");
  expect_load_error("model-00002-of-00002.safetensors\" (holding tensor");
}

TEST_F(BrokenModelDirectory, MissingTensor) {
  copy_from("tiny-sharded");
  std::string index = testing::read_file(directory_ / "model.safetensors.index.json");
  const std::string entry = "\"language_model.model.layers.2.self_attn.v_proj.weight\"";
  const std::size_t at = index.find(entry);
  ASSERT_NE(at, std::string::npos);
  index.erase(at, index.find('\n', at) - at + 1);
  testing::write_file(directory_ / "model.safetensors.index.json", index);
  expect_load_error("has no tensor \"language_model.model.layers.2.self_attn.v_proj.weight\"");
}

TEST_F(BrokenModelDirectory, ConfigThatDisagreesWithTheWeights) {
  copy_from("tiny");
  edit_config("\"intermediate_size_mlp\": 96", "\"intermediate_size_mlp\": 128");
  expect_load_error("feed_forward.gate_proj.weight\" in");
}

TEST_F(BrokenModelDirectory, MisshapenTensor) {
  copy_from("tiny-maverick");
  // Rewrite the checkpoint with one tensor reshaped (same bytes, wrong shape).
  const SafetensorsFile original(golden_model_dir("tiny-maverick") / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : original.names()) {
    Tensor t = original.tensor(name);
    if (name == "model.layers.0.self_attn.o_proj.weight") t = t.reshape({32, 128});
    tensors.emplace_back(name, t);
  }
  write_safetensors(directory_ / "model.safetensors", tensors);
  expect_load_error("o_proj.weight\" in");
}

TEST_F(BrokenModelDirectory, UnsupportedDtype) {
  copy_from("tiny-maverick");
  const SafetensorsFile original(golden_model_dir("tiny-maverick") / "model.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : original.names()) {
    Tensor t = original.tensor(name);
    if (name == "model.norm.weight") t = t.to(DType::I32);
    tensors.emplace_back(name, t);
  }
  write_safetensors(directory_ / "model.safetensors", tensors);
  expect_load_error("has dtype I32; only F32, BF16 and F16 weights");
}

TEST_F(BrokenModelDirectory, MissingConfig) {
  copy_from("tiny");
  std::filesystem::remove(directory_ / "config.json");
  expect_load_error("config.json");
}

}  // namespace
}  // namespace llama4
