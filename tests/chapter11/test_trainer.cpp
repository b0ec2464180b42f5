// The trainer: it learns (a tiny model overfits one sentence), it resumes exactly, its checkpoints
// load in chapter 08, --dump-gradients agrees with PyTorch, and bad input gives a clear error and
// no checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/model/model.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/training/adamw.hpp"
#include "common/training/initialization.hpp"
#include "common/training/training_checkpoint.hpp"
#include "tests/chapter11/toy_training.hpp"
#include "tests/chapter11/training_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::kText;
using testing::kToyConfig;
using testing::run_command;
using testing::TemporaryDirectory;
using testing::write_file;

const std::string kTrainer = LLAMA4_CHAPTER11_TRAIN;
const fs::path kToyTokenizer = fs::path(LLAMA4_SOURCE_DIR) / "golden/tokenizer/toy.tiktoken";

std::string repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

// Writes config, train and validation texts into `directory`; returns the common arguments.
std::string training_files(const TemporaryDirectory& directory, const std::string& train_text,
                           const std::string& validation_text,
                           const std::string& config = kToyConfig) {
  write_file(directory / "config.json", config);
  write_file(directory / "train.txt", train_text);
  write_file(directory / "validation.txt", validation_text);
  return " --config " + (directory / "config.json").string() + " --tokenizer " +
         kToyTokenizer.string() + " --train " + (directory / "train.txt").string() +
         " --validation " + (directory / "validation.txt").string();
}

const std::string kSmallRun =
    " --steps 6 --batch 2 --sequence 16 --warmup 2 --learning-rate 3e-3 --eval-every 3 "
    "--eval-batches 1";

TEST(Trainer, ATinyModelOverfitsOneSentence) {
  const Tokenizer tokenizer = Tokenizer::load(kToyTokenizer);
  TrainableModel model(parse_model_config(kToyConfig, "toy config"));
  initialise_weights(model, 1);
  std::vector<std::int32_t> sentence = {tokenizer.bos_id()};
  for (const std::int32_t id :
       tokenizer.encode("And God said, Let there be light: and there was light."))
    sentence.push_back(id);
  AdamW optimizer({0.9, 0.95, 1e-8, 0.0}, model.parameters().count());
  double loss = 0.0;
  for (int step = 0; step < 300; ++step) {
    loss = model.forward_backward(sentence, 1);
    clip_gradient_norm(model.parameters().gradients(), 1.0);
    optimizer.step(model.parameters(), 1e-2);
  }
  EXPECT_LT(loss, 0.1) << "after 300 steps on one sentence of " << sentence.size() << " tokens";
}

TEST(Trainer, ResumingEqualsAnUninterruptedRun) {
  const TemporaryDirectory directory;
  const std::string files = training_files(directory, repeat(kText, 8), repeat(kText, 2));
  const std::string prefix = "OMP_NUM_THREADS=1 " + kTrainer + files + kSmallRun;
  ASSERT_EQ(run_command(prefix + " --out " + (directory / "whole").string(), true).status, 0);
  ASSERT_EQ(
      run_command(prefix + " --stop-after 3 --out " + (directory / "parts").string(), true).status,
      0);
  const CommandResult resumed =
      run_command("OMP_NUM_THREADS=1 " + kTrainer + files + " --resume " +
                      (directory / "parts").string() + " --out " + (directory / "parts").string(),
                  true);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos);

  const SafetensorsFile whole(directory / "whole" / "training_state.safetensors");
  const SafetensorsFile parts(directory / "parts" / "training_state.safetensors");
  EXPECT_EQ(whole.metadata().at("steps_done"), "6");
  EXPECT_EQ(parts.metadata().at("steps_done"), "6");
  for (const std::string& name : whole.names()) {
    SCOPED_TRACE(name);
    const Comparison same = compare(parts.tensor(name), whole.tensor(name), tolerance::kExact);
    EXPECT_TRUE(same.within_tolerance) << summary(same, whole.tensor(name), tolerance::kExact);
  }
  // The same loss curve, step by step: the CSV logs agree in every loss column.
  const std::string whole_log = testing::read_file(directory / "whole" / "training_log.csv");
  const std::string parts_log = testing::read_file(directory / "parts" / "training_log.csv");
  const auto losses = [](const std::string& csv) {
    std::vector<std::string> columns;
    std::istringstream lines(csv);
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> fields;
      std::istringstream cells(line);
      for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
      columns.push_back(fields.at(0) + "," + fields.at(2) + "," +
                        (fields.size() > 3 ? fields[3] : ""));
    }
    return columns;
  };
  EXPECT_EQ(losses(parts_log), losses(whole_log));
}

TEST(Trainer, ItsCheckpointLoadsInChapter08WithTheTrainedWeights) {
  const TemporaryDirectory directory;
  const std::string files = training_files(directory, repeat(kText, 8), repeat(kText, 2));
  const fs::path out = directory / "model";
  ASSERT_EQ(run_command(kTrainer + files + kSmallRun + " --out " + out.string(), true).status, 0);
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.tiktoken",
                           "training_state.safetensors", "training_log.csv", "loss.svg"}) {
    EXPECT_TRUE(fs::exists(out / name)) << name;
  }
  // The bf16 weights are the f32 master weights rounded: chapter 08's loader reads exactly them.
  const Model model = Model::load(out);
  const SafetensorsFile state(out / "training_state.safetensors");
  const Checkpoint& weights = model.checkpoint();
  for (const std::string& name : weights.names()) {
    SCOPED_TRACE(name);
    const Tensor master = state.tensor("weight." + name).to(DType::BF16);
    EXPECT_TRUE(compare(weights.tensor(name), master, tolerance::kExact).within_tolerance);
  }
  EXPECT_EQ(Tokenizer::load(out / "tokenizer.tiktoken").vocab_size(), model.config().vocab_size);
}

TEST(Trainer, DumpedGradientsOfTheGoldenModelEqualPyTorchs) {
  const TemporaryDirectory directory;
  const SafetensorsFile& golden = testing::golden_gradients("tiny");
  const Tensor tokens = golden.tensor("one.tokens");
  const std::vector<std::int32_t> ids(tokens.data<std::int32_t>(),
                                      tokens.data<std::int32_t>() + tokens.numel());
  const fs::path out = directory / "gradients.safetensors";
  const CommandResult result =
      run_command(kTrainer + " --model " + golden_model_dir("tiny").string() + " --tokens " +
                      testing::comma_separated(ids) + " --dump-gradients " + out.string(),
                  true);
  ASSERT_EQ(result.status, 0) << result.output;
  const SafetensorsFile dumped(out);
  EXPECT_TRUE(dumped.tensor("loss").shape().empty()) << "loss is a scalar";
  EXPECT_NEAR(dumped.tensor("loss").flat(0), golden.tensor("one.loss").flat(0), 1e-5);
  int compared = 0;
  for (const std::string& name : dumped.names()) {
    if (name == "loss") continue;
    SCOPED_TRACE(name);
    // The tiny checkpoint nests the model (language_model.model.*): the dump uses its names.
    ASSERT_TRUE(name.starts_with("language_model."));
    EXPECT_TRUE(testing::matches_gradient(
        dumped.tensor(name),
        golden.tensor("one.grad." + name.substr(std::string("language_model.").size()))));
    ++compared;
  }
  EXPECT_EQ(compared, 4 * 9 + 3 + 2 * 3);  // every weight of the tiny model, experts fused
}

// ------------------------------------------------------------------------------------------------
// Bad input: a clear error, exit status 1, and no checkpoint written.

struct BadRun {
  std::string what;
  std::string train_text, validation_text, config;
  std::string sequence = "16";  // --sequence
  std::string out;              // --out; empty: a fresh directory
  std::string expected;         // part of the message
};

// Printed in test names and failures as its short name (not as 192 raw bytes).
void PrintTo(const BadRun& bad, std::ostream* out) {
  *out << bad.what;
}

class TrainerRefuses : public ::testing::TestWithParam<BadRun> {};

TEST_P(TrainerRefuses, WithAClearErrorAndNoCheckpoint) {
  const BadRun& bad = GetParam();
  const TemporaryDirectory directory;
  const std::string files = training_files(directory, bad.train_text, bad.validation_text,
                                           bad.config.empty() ? kToyConfig : bad.config);
  const fs::path out = bad.out.empty() ? directory / "out" : fs::path(bad.out);
  const std::string run = " --steps 6 --batch 2 --warmup 2 --eval-every 3 --eval-batches 1";
  const CommandResult result = run_command(
      kTrainer + files + run + " --sequence " + bad.sequence + " --out " + out.string(), true);
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_NE(result.output.find(bad.expected), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(out / "model.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, TrainerRefuses,
    ::testing::Values(BadRun{"EmptyText", "", repeat(kText, 2), "", "16", "", "is empty"},
                      BadRun{"NotUtf8", repeat(kText, 4) + "\xff\xfe", repeat(kText, 2), "", "16",
                             "", "not valid UTF-8 at byte offset 1020"},
                      BadRun{"ShorterThanOneSequence", "In the beginning.", repeat(kText, 2), "",
                             "16", "", "fewer than one sequence"},
                      BadRun{"VocabularyOfAnotherTokenizer", repeat(kText, 4), repeat(kText, 2),
                             R"({"model_type": "llama4_text", "vocab_size": 512, "hidden_size": 32,
                  "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
                  "head_dim": 8, "intermediate_size": 16, "intermediate_size_mlp": 16})",
                             "16", "", "vocab_size 512"},
                      BadRun{"SequenceLongerThanTheModelsPositions", repeat(kText, 4),
                             repeat(kText, 2), "", "100", "", "max_position_embeddings"},
                      BadRun{"UnwritableOutput", repeat(kText, 4), repeat(kText, 2), "", "16",
                             "/proc/llama4-cannot-write-here", "cannot"}),
    [](const ::testing::TestParamInfo<BadRun>& parameter) { return parameter.param.what; });

// ------------------------------------------------------------------------------------------------
// The settings a training checkpoint carries are outside input too: --resume trusts none of them.

TEST(TrainingSettings, RoundTripThroughJson) {
  TrainingSettings settings;
  settings.steps = 2200;
  settings.sequences = 16;
  settings.schedule.peak = 3e-3;
  const TrainingSettings back = TrainingSettings::from_json(settings.to_json(), "test");
  EXPECT_EQ(back.steps, 2200);
  EXPECT_EQ(back.sequences, 16);
  EXPECT_EQ(back.schedule.peak, 3e-3);
  EXPECT_EQ(back.to_json(), settings.to_json());
}

TEST(TrainingSettings, ValuesOutsideTheCommandLinesRangesAreErrorsNamingTheKey) {
  const std::string good = TrainingSettings().to_json();
  const auto with = [&](const std::string& key, const std::string& value) {
    const std::size_t at = good.find("\"" + key + "\":");
    const std::size_t begin = good.find(':', at) + 1, end = good.find_first_of(",}", begin);
    return good.substr(0, begin) + value + good.substr(end);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sequences", "0"},            // a batch of nothing: a division by zero later
      {"steps", "1e30"},             // beyond int64: the cast would be undefined
      {"tokens", "2.5"},             // not a whole number
      {"evaluate_every", "0"},       // step % 0
      {"peak_learning_rate", "-1"},  // a rate the command line refuses
      {"beta2", "1"},                // Adam's bias correction divides by 1 - beta2^t
      {"epsilon", "0"},
      {"seed", "-3"},
      {"warmup_steps", "\"100\""},  // not a number at all
  };
  for (const auto& [key, value] : cases) {
    const std::string text = with(key, value);
    try {
      TrainingSettings::from_json(text, "training_state.safetensors");
      ADD_FAILURE() << key << " = " << value << " was accepted: " << text;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("training_state.safetensors"), std::string::npos);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Saving a checkpoint over an older one.

TEST(TrainingCheckpoint, SavingAgainReplacesTheDirectoryWholeAndLeavesNothingBeside) {
  const TemporaryDirectory directory;
  const fs::path out = directory / "run";
  TrainableModel model(parse_model_config(kToyConfig, "toy config"));
  initialise_weights(model, 1);
  const TrainingSettings settings;
  const AdamW optimizer(settings.adamw, model.parameters().count());
  save_checkpoint(out, kToyConfig, model, optimizer, settings, 3, kToyTokenizer, true,
                  {{"note.txt", "first"}});
  model.parameters().value("model.norm.weight").mutable_data<float>()[0] = 42.0f;
  save_checkpoint(out, kToyConfig, model, optimizer, settings, 7, kToyTokenizer, true, {});

  // The second save, whole: its step count, its weights, none of the first save's extra files.
  EXPECT_EQ(SafetensorsFile(out / "training_state.safetensors").metadata().at("steps_done"), "7");
  EXPECT_EQ(SafetensorsFile(out / "training_state.safetensors")
                .tensor("weight.model.norm.weight")
                .flat(0),
            42.0f);
  EXPECT_FALSE(fs::exists(out / "note.txt"));
  // No staging or old directory left next to it.
  std::vector<std::string> beside;
  for (const auto& entry : fs::directory_iterator(directory.path()))
    beside.push_back(entry.path().filename().string());
  EXPECT_EQ(beside, std::vector<std::string>{"run"});
}

// ------------------------------------------------------------------------------------------------
// The safetensors writer.

TEST(SafetensorsWriter, WhatItWritesReadsBackExactly) {
  const TemporaryDirectory directory;
  const Tensor a = Tensor::from_values({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::from_values({3}, {0.5f, -1.25f, 3e-3f}).to(DType::BF16);
  const Tensor scalar = Tensor::from_values({}, {7.0f});
  write_safetensors(directory / "t.safetensors", {{"a", a}, {"b", b}, {"s", scalar}},
                    {{"note", "hello"}});
  const SafetensorsFile file(directory / "t.safetensors");
  EXPECT_EQ(file.metadata().at("note"), "hello");
  EXPECT_TRUE(compare(file.tensor("a"), a, tolerance::kExact).within_tolerance);
  EXPECT_EQ(file.tensor("b").dtype(), DType::BF16);
  EXPECT_TRUE(compare(file.tensor("b"), b, tolerance::kExact).within_tolerance);
  EXPECT_TRUE(file.tensor("s").shape().empty());
  EXPECT_EQ(file.tensor("s").flat(0), 7.0f);
}

TEST(SafetensorsWriter, AFailedWriteLeavesNoFile) {
  const TemporaryDirectory directory;
  const fs::path missing = directory / "no-such-directory" / "t.safetensors";
  EXPECT_THROW(write_safetensors(missing, {{"a", Tensor::zeros({2})}}), Error);
  EXPECT_FALSE(fs::exists(missing));
  // A directory where no file can be created (/proc): an Error naming the reason.
  EXPECT_THROW(write_file_atomically("/proc/llama4-test", "x"), Error);
}

TEST(SafetensorsWriter, TwoTensorsWithOneNameAreRefused) {
  const TemporaryDirectory directory;
  EXPECT_THROW(write_safetensors(directory / "t.safetensors",
                                 {{"a", Tensor::zeros({2})}, {"a", Tensor::zeros({2})}}),
               Error);
  EXPECT_FALSE(fs::exists(directory / "t.safetensors"));
}

}  // namespace
}  // namespace llama4
