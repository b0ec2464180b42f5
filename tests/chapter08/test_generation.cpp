// Chapter 08: the generation loop's stopping rules, perplexity, synthetic models, activation dumps
// and the divergence finder, and the command-line contract used by scripts.
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

using testing::comma_separated;
using testing::CommandResult;
using testing::golden_model;
using testing::matches_golden;
using testing::read_dumped_logits;
using testing::run_command;
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

// The command line, run as a user or a script would.
TEST(CommandLine, DumpLogitsWritesFloat32RowsAndNothingOnStandardOutput) {
  TemporaryDirectory directory;
  const std::string list = comma_separated(golden_model("tiny").tokens("full"));
  const std::string out = (directory / "logits.bin").string();
  const CommandResult result = run_command(std::string(LLAMA4_CHAPTER08_MODEL) + " --model " +
                                           golden_model_dir("tiny").string() + " --tokens " + list +
                                           " --dump-logits " + out);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "");
  EXPECT_TRUE(matches_golden(read_dumped_logits(out, 24, 512),
                             golden_model("tiny").golden("full", "logits"), tolerance::kModel));
}

TEST(CommandLine, TokensFromAFileAndBadOptions) {
  TemporaryDirectory directory;
  testing::write_file(directory / "ids.txt", "286 227\n468, 301");
  const std::string model =
      std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + golden_model_dir("tiny").string();
  EXPECT_EQ(run_command(model + " --tokens @" + (directory / "ids.txt").string() + " -n 2").status,
            0);
  EXPECT_EQ(run_command(model + " --tokens 1,x,3").status, 1);
  EXPECT_EQ(run_command(model + " --temperature hot --tokens 1").status, 1);
  EXPECT_EQ(run_command(model + " --no-such-option").status, 1);
  EXPECT_EQ(run_command(model + " --ctx 4 --tokens 1,2,3,4,5").status, 1);
}

TEST(CommandLine, WithoutArgumentsRunsTheGoldenTinyModel) {
  const CommandResult result = run_command(LLAMA4_CHAPTER08_MODEL);
  EXPECT_EQ(result.status, 0);
  EXPECT_THAT(result.output, ::testing::HasSubstr("all 16 tokens equal the golden continuation"));
}

// Text in, text out, through Meta's tokenizer: the tiny model with the real 202048-token
// vocabulary.
class CommandLineWithTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(default_tokenizer_path())) {
      GTEST_SKIP() << "Meta's tokenizer.model not found at " << default_tokenizer_path()
                   << "; set LLAMA4_TOKENIZER to its path";
    }
  }
  const std::string program = std::string(LLAMA4_CHAPTER08_MODEL) + " --synthetic tiny-202k";
};

TEST_F(CommandLineWithTokenizer, ChatTakesTwoTurnsFromStandardInput) {
  const CommandResult result =
      run_command("printf 'Hello there\\nAnd a second question?\\n' | " + program +
                  " --chat --system 'Be brief.' -n 6 --temperature 0.8 --seed 3");
  EXPECT_EQ(result.status, 0) << result.output;
  std::size_t turns = 0;
  for (std::size_t at = result.output.find("assistant> "); at != std::string::npos;
       at = result.output.find("assistant> ", at + 1)) {
    ++turns;
  }
  EXPECT_EQ(turns, 2u) << result.output;
}

TEST_F(CommandLineWithTokenizer, TextPromptAndPerplexity) {
  EXPECT_EQ(run_command(program + " --prompt 'The capital of France is' -n 4").status, 0);
  const CommandResult perplexity = run_command(program + " --ctx 64 --perplexity " +
                                               (golden_model_dir("tiny") / "config.json").string());
  EXPECT_EQ(perplexity.status, 0);
  EXPECT_THAT(perplexity.output, ::testing::HasSubstr("perplexity "));
}

TEST_F(CommandLineWithTokenizer, TextPromptForASmallerVocabularyIsAClearError) {
  const CommandResult result =
      run_command(std::string(LLAMA4_CHAPTER08_MODEL) + " --synthetic tiny --prompt 'Hello'");
  EXPECT_EQ(result.status, 1);
}

TEST(CommandLine, CompareToolNamesTheFirstDivergence) {
  TemporaryDirectory directory;
  const std::string golden = testing::golden_activations("tiny").path().string();
  const std::string dump = (directory / "run").string();
  const std::string model =
      std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + golden_model_dir("tiny").string();
  ASSERT_EQ(
      run_command(
          model +
          " --tokens 286,227,468,301,433,210,347,38,426,243,267,340,38,314,117,166,56,25,339,145,"
          "120,179,498,431 --dump-activations " +
          dump)
          .status,
      0);
  const CommandResult agree = run_command(std::string(LLAMA4_CHAPTER08_COMPARE) + " " + dump +
                                          "/activations.safetensors " + golden + " --case-b full");
  EXPECT_EQ(agree.status, 0) << agree.output;
  EXPECT_THAT(agree.output, ::testing::HasSubstr("agree"));
  // Against the offset case (other tokens) the very first stage differs.
  const CommandResult differ =
      run_command(std::string(LLAMA4_CHAPTER08_COMPARE) + " " + dump + "/activations.safetensors " +
                  golden + " --case-b decode --tolerance 0");
  EXPECT_EQ(differ.status, agree.status == 0 ? 1 : 0) << differ.output;
}

}  // namespace
}  // namespace llama4
