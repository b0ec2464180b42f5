// Chapter 11: the model it trained (golden/llama4-bible), as chapter 08 runs it.
//
// Our C++ trained the model, so its own output proves nothing about it. Two independent checks:
//  - its logits on a validation chapter equal those of golden/reference.py (PyTorch) loading the
//    same checkpoint, on ids that npm tiktoken produced (golden/trained_model_logits.py);
//  - the validation perplexity chapter08_model measures equals the figure its model card states
//    (the card is what a reader trusts; this keeps it true of the committed weights).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "common/model/multiple_choice.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/training/initialization.hpp"
#include "common/training/trainable_model.hpp"
#include "tests/chapter11/bible_data.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;

std::filesystem::path reference_logits_path() {
  return golden_data_dir() / "logits-llama4-bible.safetensors";
}

// The stated tolerances: the whole-model one of the golden tiny models (golden/README.md), 2e-5 +
// 2e-5·|golden|, for logits of trained weights (measured: see golden/README.md); a
// log-probability is a difference of such numbers, so 5e-5.
constexpr Tolerance kTrainedLogits = tolerance::kModel;
constexpr double kLogProbability = 5e-5;

TEST(TrainedModel, LogitsOnAValidationChapterEqualTheReferenceImplementations) {
  const SafetensorsFile golden(reference_logits_path());
  const Tensor tokens_tensor = golden.tensor("tokens");  // [T] I32
  const auto* begin = tokens_tensor.data<std::int32_t>();
  const std::vector<std::int32_t> tokens(begin, begin + tokens_tensor.numel());
  const Tensor positions = golden.tensor("positions");   // [K] I32
  const Tensor golden_logits = golden.tensor("logits");  // [K, V]

  CpuSession session(Model::load(trained_model_dir()), 512);
  const Tensor logits = session.forward(tokens, LogitRows::all, nullptr);  // [T, V]
  const std::int64_t vocab = logits.shape()[1];
  ASSERT_EQ(golden_logits.shape()[1], vocab);

  // The kept rows: positions inside the first chunk, across chunk boundaries (64, 128, 256) and
  // past the NoPE layer's temperature threshold (floor_scale 64).
  for (std::int64_t k = 0; k < positions.numel(); ++k) {
    const std::int64_t position = positions.data<std::int32_t>()[k];
    const Tensor ours = logits.slice(0, position, position + 1);
    const Tensor theirs = golden_logits.slice(0, k, k + 1);
    const Comparison comparison = compare(ours, theirs, kTrainedLogits);
    EXPECT_TRUE(comparison.within_tolerance)
        << "position " << position << ": " << summary(comparison, theirs, kTrainedLogits);
  }

  // Every position: log p(next token), from the full row of logits.
  const Tensor golden_log_probability = golden.tensor("next_token_log_probability");  // [T-1]
  double total = 0;
  for (std::int64_t t = 0; t + 1 < static_cast<std::int64_t>(tokens.size()); ++t) {
    const float* row = logits.data<float>() + t * vocab;
    double max = row[0];
    for (std::int64_t v = 1; v < vocab; ++v) max = std::max<double>(max, row[v]);
    double sum = 0;
    for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max);
    const double log_probability = row[tokens[t + 1]] - max - std::log(sum);
    total -= log_probability;
    EXPECT_NEAR(log_probability, golden_log_probability.flat(t), kLogProbability)
        << "position " << t;
  }
  const double mean = total / static_cast<double>(tokens.size() - 1);
  EXPECT_NEAR(mean, golden.tensor("mean_negative_log_likelihood").flat(0), 1e-5);
}

// The number written right after `marker` in `text` (0 and a test failure when there is none).
double number_after(const std::string& text, const std::string& marker) {
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no \"" << marker << "\" in:\n" << text;
    return 0.0;
  }
  return std::strtod(text.c_str() + at + marker.size(), nullptr);
}

// The figure the model card states, from its line
//   - validation perplexity, measured by chapter 08: **NN.NN** (...)
double perplexity_in_model_card() {
  return number_after(testing::read_file(trained_model_dir() / "MODEL_CARD.md"),
                      "validation perplexity, measured by chapter 08: **");
}

TEST(BibleData, TrainedModelsValidationPerplexityIsTheModelCards) {
  LLAMA4_SKIP_UNDER_SANITIZERS(
      "158,000 tokens through chapter 08; CommandLineWithTokenizer.TextPromptAndPerplexity runs "
      "the same --perplexity path on a short text");
  LLAMA4_BIBLE_OR_SKIP(bible);
  const CommandResult result = testing::run_command(
      std::string(LLAMA4_CHAPTER08_MODEL) + " --model " + trained_model_dir().string() +
      " --perplexity " + (bible / "validation.txt").string());
  ASSERT_EQ(result.status, 0) << result.output;
  // chapter 08 prints "perplexity 26.1744 over 158371 predicted tokens (...)"; the card rounds
  // to two decimals.
  EXPECT_NEAR(number_after(result.output, "perplexity "), perplexity_in_model_card(), 0.006)
      << result.output;
}

TEST(TrainedModel, ChapterEightRunsItWithoutArgumentsAndWritesText) {
  const CommandResult result = testing::run_command(LLAMA4_CHAPTER08_MODEL, true);
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("And it came to pass"));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("random weights")));
  // Sampled English: words separated by spaces, mostly lowercase letters.
  std::int64_t letters = 0, spaces = 0;
  for (const char c : result.output) {
    letters += (c >= 'a' && c <= 'z');
    spaces += (c == ' ');
  }
  EXPECT_GT(letters, 150) << result.output;
  EXPECT_GT(spaces, 30) << result.output;
}

TEST(TrainedModel, RandomWeightsSayTheyAreRandomAndTheTrainedOnesDoNot) {
  const CommandResult golden_tiny =
      testing::run_command(std::string(LLAMA4_CHAPTER08_MODEL) + " --model " +
                               golden_model_dir("tiny").string() + " --tokens 1,2,3 -n 2",
                           true);
  EXPECT_THAT(golden_tiny.output, HasSubstr("random weights"));
  const CommandResult trained = testing::run_command(
      std::string(LLAMA4_CHAPTER08_MODEL) + " --prompt 'The LORD is my shepherd' -n 8", true);
  EXPECT_EQ(trained.status, 0) << trained.output;
  EXPECT_THAT(trained.output, ::testing::Not(HasSubstr("random weights")));
}

// A cloze test from the validation split (golden/eval/bible-cloze.jsonl, made by
// scripts/make_bible_cloze.py): which of four words ends the verse? Every 4th question (50), enough
// to tell the trained model (0.84 on all 200) from chance (0.25).
std::vector<MultipleChoiceQuestion> cloze_questions() {
  const std::vector<MultipleChoiceQuestion> all = read_multiple_choice(
      std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden/eval/bible-cloze.jsonl");
  std::vector<MultipleChoiceQuestion> some;
  for (std::size_t i = 0; i < all.size(); i += 4) some.push_back(all[i]);
  return some;
}

TEST(TrainedModel, BeatsChanceClearlyOnAClozeTestOfVersesItNeverRead) {
  const Tokenizer tokenizer = Tokenizer::load(trained_model_dir() / "tokenizer.tiktoken");
  CpuSession session(Model::load(trained_model_dir()), 512);
  const MultipleChoiceResult result =
      evaluate_multiple_choice(session, tokenizer, cloze_questions());
  EXPECT_EQ(result.questions, 50);
  EXPECT_DOUBLE_EQ(result.chance, 0.25);
  std::cout << "trained: " << result.correct << " of " << result.questions << " right\n";
  // 42 of 50 measured; chance would be 12.5.
  EXPECT_GE(result.accuracy(), 0.6) << result.correct << " of " << result.questions;
}

TEST(TrainedModel, TheSameModelWithRandomWeightsDoesNotBeatChance) {
  LLAMA4_SKIP_UNDER_SANITIZERS(
      "the cloze test of BeatsChanceClearlyOnAClozeTestOfVersesItNeverRead, again on other "
      "weights");
  const ModelConfig config = load_model_config(trained_model_dir() / "config.json");
  TrainableModel random(config);
  initialise_weights(random, 1);  // what chapter11_train starts from (17 of 50 right, measured)
  const Tokenizer tokenizer = Tokenizer::load(trained_model_dir() / "tokenizer.tiktoken");
  CpuSession session(Model(config, random.checkpoint()), 512);
  const MultipleChoiceResult result =
      evaluate_multiple_choice(session, tokenizer, cloze_questions());
  std::cout << "random weights: " << result.correct << " of " << result.questions << " right\n";
  // Guessing gets 0.25 ± 0.061 (one standard deviation over 50 questions); 0.4 is 2.5 of them.
  EXPECT_LE(result.accuracy(), 0.4) << result.correct << " of " << result.questions;
}

// The trained model never saw the chat format (it read plain Bible text), but its tokenizer has
// Llama 4's special tokens, so a conversation runs; what it answers is Bible-like prose.
TEST(TrainedModel, ChatTakesTwoTurnsWithItsOwnTokenizer) {
  const CommandResult result = testing::run_command("printf 'Who was Moses?\\nAnd Aaron?\\n' | " +
                                                    std::string(LLAMA4_CHAPTER08_MODEL) +
                                                    " --chat -n 12 --temperature 0.8 --seed 3");
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(testing::count_occurrences(result.output, "assistant> "), 2u) << result.output;
}

}  // namespace
}  // namespace llama4

namespace llama4 {
namespace {

// The trained model's ranks are named tokenizer.tiktoken, not tokenizer.model (Meta's file, which
// stays outside the repository); a directory with Meta's file uses it first.
TEST(TrainedModel, ItsTokenizerIsFoundUnderItsOwnName) {
  const std::filesystem::path found = checkpoint_tokenizer_path(trained_model_dir());
  EXPECT_EQ(found.filename(), "tokenizer.tiktoken");
  EXPECT_EQ(Tokenizer::load(found).vocab_size(), load_model_config(trained_model_dir()).vocab_size);
  testing::TemporaryDirectory directory;
  EXPECT_TRUE(checkpoint_tokenizer_path(directory.path()).empty());
  testing::write_file(directory / "tokenizer.tiktoken", "");
  testing::write_file(directory / "tokenizer.model", "");
  EXPECT_EQ(checkpoint_tokenizer_path(directory.path()).filename(), "tokenizer.model");
}

}  // namespace
}  // namespace llama4
