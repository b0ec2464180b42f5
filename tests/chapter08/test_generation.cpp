// Chapter 08: the generation loop's stopping rules, perplexity, synthetic models, activation dumps
// and the divergence finder. The programs themselves: test_program.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::matches_golden;
using testing::TemporaryDirectory;

CpuSession tiny_session(std::int64_t context = 64) {
  return CpuSession(Model::load(golden_model_dir("tiny")), context);
}

std::vector<std::int32_t> golden_ids(const char* name) {
  const Tensor t = golden_model("tiny").golden("greedy", name);
  return {t.data<std::int32_t>(), t.data<std::int32_t>() + t.numel()};
}

TEST(Generation, StopsAtAStopTokenWithoutPassingItOn) {
  CpuSession session = tiny_session();
  const std::vector<std::int32_t> expected = golden_ids("tokens");
  const std::vector<std::int32_t> stop = {expected[5]};
  std::vector<std::int32_t> streamed;
  Sampler greedy({});
  const GenerationResult result =
      generate(session, greedy, golden_ids("prompt"), 16, stop, [&](std::int32_t id) {
        streamed.push_back(id);
        return true;
      });
  EXPECT_EQ(result.reason, StopReason::stop_token);
  EXPECT_EQ(result.tokens, std::vector<std::int32_t>(expected.begin(), expected.begin() + 6));
  EXPECT_EQ(streamed, std::vector<std::int32_t>(expected.begin(), expected.begin() + 5));
  EXPECT_EQ(session.position(), 8 + 5);  // the stop token was never fed back
}

TEST(Generation, StopsAfterMaxNewTokens) {
  CpuSession session = tiny_session();
  Sampler greedy({});
  const GenerationResult result = generate(session, greedy, golden_ids("prompt"), 3, {}, nullptr);
  EXPECT_EQ(result.reason, StopReason::max_tokens);
  EXPECT_EQ(result.tokens.size(), 3u);
  EXPECT_EQ(result.stats.generated_tokens, 3);
  EXPECT_EQ(result.stats.prompt_tokens, 8);
}

TEST(Generation, StopsWhenTheContextIsFull) {
  CpuSession session = tiny_session(12);
  Sampler greedy({});
  const GenerationResult result = generate(session, greedy, golden_ids("prompt"), 100, {}, nullptr);
  EXPECT_EQ(result.reason, StopReason::context_full);
  EXPECT_EQ(session.position(), 12);
  const std::vector<std::int32_t> expected = golden_ids("tokens");
  EXPECT_EQ(result.tokens, std::vector<std::int32_t>(expected.begin(), expected.begin() + 5));
}

TEST(Generation, CallbackCanStop) {
  CpuSession session = tiny_session();
  Sampler greedy({});
  const GenerationResult result =
      generate(session, greedy, golden_ids("prompt"), 16, {}, [](std::int32_t) { return false; });
  EXPECT_EQ(result.reason, StopReason::callback);
  EXPECT_EQ(result.tokens.size(), 1u);
}

TEST(Generation, PromptErrors) {
  CpuSession session = tiny_session(8);
  Sampler greedy({});
  EXPECT_THAT([&] { generate(session, greedy, std::vector<std::int32_t>{}, 4, {}, nullptr); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("the prompt is empty")));
  EXPECT_THAT([&] { generate(session, greedy, std::vector<std::int32_t>(9, 4), 4, {}, nullptr); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::HasSubstr("does not fit the context of 8 tokens")));
}

// exp(mean of -log p(next)), computed here from the golden logits directly.
double perplexity_from_golden(std::int64_t window) {
  const auto& golden = golden_model("tiny");
  const std::vector<std::int32_t> tokens = golden.tokens("full");
  const Tensor logits = golden.golden("full", "logits");  // [24, 512], one pass from position 0
  double total = 0;
  int count = 0;
  for (std::int64_t t = 0; t + 1 < 24; ++t) {
    if (t % window == window - 1) continue;  // the last token of a window predicts nothing
    double sum = 0;
    for (std::int64_t v = 0; v < 512; ++v) sum += std::exp(static_cast<double>(logits.at({t, v})));
    total += std::log(sum) - logits.at({t, tokens[static_cast<std::size_t>(t + 1)]});
    ++count;
  }
  return std::exp(total / count);
}

TEST(Generation, PerplexityFollowsItsDefinition) {
  CpuSession session = tiny_session(64);
  const PerplexityResult result = perplexity(session, golden_model("tiny").tokens("full"));
  EXPECT_EQ(result.predicted_tokens, 23);
  EXPECT_NEAR(result.perplexity, perplexity_from_golden(64), 1e-4 * result.perplexity);
}

TEST(Generation, PerplexityWindowsStartFromAnEmptyCache) {
  CpuSession session = tiny_session(8);  // windows [0,8), [8,16), [16,24)
  const PerplexityResult result = perplexity(session, golden_model("tiny").tokens("full"));
  EXPECT_EQ(result.predicted_tokens, 21);
  // Windows that restart at 8 and 16 see different contexts than the one-pass golden logits, so
  // only the first window can be checked against them; the value must still be finite and positive.
  EXPECT_TRUE(std::isfinite(result.perplexity));
  EXPECT_GT(result.perplexity, 1.0);
}

TEST(SyntheticModel, TinyShapeMatchesTheGoldenTinyConfig) {
  const ModelConfig synthetic = synthetic_config("tiny");
  const ModelConfig& golden = golden_model("tiny").config;
  EXPECT_EQ(synthetic.total_parameters(), golden.total_parameters());
  ASSERT_EQ(synthetic.layers.size(), golden.layers.size());
  for (std::size_t l = 0; l < golden.layers.size(); ++l) {
    EXPECT_EQ(synthetic.layers[l].is_moe, golden.layers[l].is_moe);
    EXPECT_EQ(synthetic.layers[l].uses_rope, golden.layers[l].uses_rope);
  }
}

TEST(SyntheticModel, SizesAreWhatTheirNamesSay) {
  EXPECT_NEAR(static_cast<double>(synthetic_config("100m").total_parameters()) / 1e6, 114, 15);
  EXPECT_NEAR(static_cast<double>(synthetic_config("1b").total_parameters()) / 1e9, 1.0, 0.15);
  const ModelConfig scout_layer = synthetic_config("scout-layer");
  EXPECT_EQ(scout_layer.hidden_size, 5120);
  EXPECT_EQ(scout_layer.num_local_experts, 16);
  EXPECT_EQ(scout_layer.vocab_size, 202048);
  EXPECT_THAT([] { synthetic_config("7b"); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::HasSubstr("known: tiny, tiny-202k, 100m, 1b, scout-layer")));
}

TEST(SyntheticModel, SameSeedSameWeightsDifferentSeedDifferent) {
  const ModelConfig config = synthetic_config("tiny");
  const auto logits = [&](std::uint64_t seed) {
    Model model(config, synthetic_checkpoint(config, seed));
    KVCache cache = model.make_cache(16);
    return model.forward(std::vector<std::int32_t>{1, 2, 3}, cache);
  };
  EXPECT_TRUE(matches_golden(logits(5), logits(5), tolerance::kExact));
  EXPECT_FALSE(matches_golden(logits(5), logits(6), tolerance::kModel));
}

// A dump of the golden "full" case agrees with the golden data stage by stage; a dump with one
// stage disturbed is caught at that stage.
class ActivationDump : public ::testing::Test {
 protected:
  void SetUp() override {
    CpuSession session = tiny_session();
    ActivationRecorder recorder;
    const std::vector<std::int32_t> tokens = golden_model("tiny").tokens("full");
    session.forward(tokens, LogitRows::all, &recorder);
    write_activation_dump(dump_path(), recorder, tokens);
  }
  std::filesystem::path dump_path() const { return directory_ / "activations.safetensors"; }
  TemporaryDirectory directory_;
};

TEST_F(ActivationDump, AgreesWithGoldenAtEveryStage) {
  const SafetensorsFile dump(dump_path());
  const Divergence divergence =
      first_divergence(dump, "", testing::golden_activations("tiny"), "full.", 4);
  EXPECT_FALSE(divergence.found) << divergence.stage << ": " << divergence.detail;
  EXPECT_GT(divergence.stages_compared, 70);
}

TEST_F(ActivationDump, NamesTheFirstStageThatDiffers) {
  const SafetensorsFile dump(dump_path());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : dump.names()) {
    Tensor t = dump.tensor(name).clone();
    if (name == "layers.2.attn_out") t.set({3, 7}, t.at({3, 7}) + 0.01f);  // what a bug would do
    tensors.emplace_back(name, t);
  }
  write_safetensors(directory_ / "broken.safetensors", tensors);
  const SafetensorsFile broken(directory_ / "broken.safetensors");
  const Divergence divergence =
      first_divergence(broken, "", testing::golden_activations("tiny"), "full.", 4);
  ASSERT_TRUE(divergence.found);
  EXPECT_EQ(divergence.stage, "layers.2.attn_out");
  EXPECT_EQ(divergence.layer, 2);
  EXPECT_THAT(divergence.detail, ::testing::HasSubstr("worst at [3, 7]"));
}

}  // namespace
}  // namespace llama4
