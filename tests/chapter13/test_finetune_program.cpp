// Chapter 13's programs on the command line: chapter13_finetune trains (LoRA and full), resumes
// exactly, refuses bad data; chapter08_model --adapter merges an adapter at load; --chat --prompt
// prints the assistant's reply alone. The base model is chapter 11's trained model
// (golden/llama4-bible); the runs are a few steps on a handful of conversations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/finetuning/adapted_model.hpp"
#include "common/finetuning/adapter_file.hpp"
#include "common/finetuning/chrf.hpp"
#include "common/finetuning/conversation_file.hpp"
#include "common/finetuning/packed_batches.hpp"
#include "common/model/generation.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::TemporaryDirectory;
using testing::write_file;

const std::string kFinetune = LLAMA4_CHAPTER13_FINETUNE;
const std::string kModelProgram = LLAMA4_CHAPTER08_MODEL;

std::string line(const std::string& task, const std::string& question, const std::string& answer) {
  return R"({"task": ")" + task + R"(", "messages": [{"role": "user", "content": ")" + question +
         R"("}, {"role": "assistant", "content": ")" + answer + "\"}]}\n";
}

// Six short conversations of the three tasks.
std::string conversations() {
  return line("book", "Which book is this verse from? In the beginning God created", "Genesis") +
         line("rewrite", "Rewrite in modern English: And God said, Let there be light",
              "God said, Let there be light") +
         line("continue", "Continue: The LORD is my shepherd;", "I shall not want.") +
         line("book", "Which book is this verse from? Jesus wept.", "John") +
         line("rewrite", "Rewrite in modern English: Thou shalt not steal.",
              "You shall not steal.") +
         line("continue", "Continue: In the beginning was the Word,", "and the Word was with God.");
}

// The options of a tiny run on `directory`'s data.
std::string small_run(const TemporaryDirectory& directory,
                      const std::string& data = conversations()) {
  write_file(directory / "data.jsonl", data);
  return kFinetune + " --data " + (directory / "data.jsonl").string() + " --validation " +
         (directory / "data.jsonl").string() +
         " --steps 4 --batch 2 --sequence 48 --warmup 1 --eval-every 2 --eval-batches 1";
}

TEST(FinetuneProgram, LoraResumedEqualsAnUninterruptedRun) {
  const TemporaryDirectory directory;
  const std::string run = "OMP_NUM_THREADS=1 " + small_run(directory) + " --lora 4";
  const CommandResult whole = run_command(run + " --out " + (directory / "whole").string(), true);
  ASSERT_EQ(whole.status, 0) << whole.output;
  ASSERT_EQ(
      run_command(run + " --stop-after 2 --out " + (directory / "parts").string(), true).status, 0);
  const CommandResult resumed = run_command(run + " --resume " + (directory / "parts").string() +
                                                " --out " + (directory / "parts").string(),
                                            true);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos);
  const SafetensorsFile a(directory / "whole" / "adapter_model.safetensors");
  const SafetensorsFile b(directory / "parts" / "adapter_model.safetensors");
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    SCOPED_TRACE(name);
    const Comparison same = compare(b.tensor(name), a.tensor(name), tolerance::kExact);
    EXPECT_TRUE(same.within_tolerance) << summary(same, a.tensor(name), tolerance::kExact);
  }
  // Trained: B is no longer zero, and the adapter loads for the base model.
  const ModelConfig config = load_model_config(trained_model_dir() / "config.json");
  LoraAdapter adapter = load_adapter(directory / "whole", config);
  EXPECT_EQ(adapter.settings().rank, 4);
  const Tensor b0 = adapter.parameters().value(adapter.targets()[0].lora_b());
  float largest = 0;
  for (std::int64_t i = 0; i < b0.numel(); ++i)
    largest = std::max(largest, std::abs(b0.data<float>()[i]));
  EXPECT_GT(largest, 0.0f);
}

TEST(FinetuneProgram, FullFineTuningWritesACheckpointChapter08Loads) {
  const TemporaryDirectory directory;
  const CommandResult trained =
      run_command(small_run(directory) + " --out " + (directory / "full").string(), true);
  ASSERT_EQ(trained.status, 0) << trained.output;
  const CommandResult answered =
      run_command(kModelProgram + " --model " + (directory / "full").string() +
                  " --chat --prompt 'Jesus wept.' -n 4");
  EXPECT_EQ(answered.status, 0);
  EXPECT_FALSE(answered.output.empty());
}

// --attention-chunk changes the chunked layers' rule, not a weight: the output's config.json says
// the new chunk (everything else as the base model's), chapter 08 runs it; LoRA refuses it, since
// an adapter is merged into its base model with that model's config.
TEST(FinetuneProgram, AttentionChunkIsWrittenIntoTheOutputsConfig) {
  const TemporaryDirectory directory;
  const std::string run = small_run(directory) + " --attention-chunk 16";
  const CommandResult trained = run_command(run + " --out " + (directory / "full").string(), true);
  ASSERT_EQ(trained.status, 0) << trained.output;
  const fs::path written = directory / "full" / "config.json";
  const ModelConfig config = parse_model_config(read_regular_file(written), written.string());
  const fs::path base_path = trained_model_dir() / "config.json";
  const ModelConfig base = parse_model_config(read_regular_file(base_path), base_path.string());
  EXPECT_EQ(config.attention_chunk_size, 16);
  EXPECT_EQ(base.attention_chunk_size, 64);
  EXPECT_EQ(config.no_rope_layers, base.no_rope_layers);
  EXPECT_EQ(config.hidden_size, base.hidden_size);
  const CommandResult answered =
      run_command(kModelProgram + " --model " + (directory / "full").string() +
                  " --chat --prompt 'Jesus wept.' -n 4");
  EXPECT_EQ(answered.status, 0) << answered.output;

  const CommandResult refused =
      run_command(run + " --lora 4 --out " + (directory / "adapter").string(), true);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("--attention-chunk needs full fine-tuning"), std::string::npos)
      << refused.output;
  EXPECT_FALSE(fs::exists(directory / "adapter"));
}

TEST(FinetuneProgram, AConversationLongerThanASequenceIsAnErrorNamingItsLine) {
  const TemporaryDirectory directory;
  const std::string run =
      small_run(directory, conversations() + line("book", std::string(400, 'a'), "Genesis"));
  const CommandResult refused = run_command(run + " --out " + (directory / "out").string(), true);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("data.jsonl:7"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(directory / "out"));
}

// --chat --prompt: the reply, and only the reply, on standard output; it equals what the merged
// model answers greedily in the chat format, computed here.
TEST(OneShotChat, PrintsTheAssistantsReplyAlone) {
  const TemporaryDirectory directory;
  const std::string run = small_run(directory);
  ASSERT_EQ(run_command(run + " --lora 4 --out " + (directory / "adapter").string()).status, 0);
  const std::string question = "Which book is this verse from? Jesus wept.";
  const CommandResult printed =
      run_command(kModelProgram + " --adapter " + (directory / "adapter").string() +
                  " --chat --prompt '" + question + "' -n 12");
  ASSERT_EQ(printed.status, 0);

  Model model = with_adapter(Model::load(trained_model_dir()), directory / "adapter");
  const Tokenizer tokenizer = Tokenizer::load(checkpoint_tokenizer_path(trained_model_dir()));
  CpuSession session(std::move(model), 256);
  Sampler greedy(SamplingOptions{});
  GenerationResult result = generate(
      session, greedy, encode_dialog(tokenizer, {{.role = "user", .content = question}}, true), 12,
      tokenizer.stop_ids(), [](std::int32_t) { return true; });
  if (result.reason == StopReason::stop_token) result.tokens.pop_back();
  EXPECT_EQ(printed.output, tokenizer.decode(result.tokens) + "\n");
}

// The committed fully fine-tuned model (golden/llama4-bible-instruct) learned to copy: asked to
// repeat a held-out verse (Genesis 10:24, chapter 10 is never trained on) or a sentence that is no
// verse, it answers with the text itself, names included, and stops. Its base model alone does not.
TEST(InstructModel, RepeatsTextItNeverSawWordForWord) {
  const fs::path instruct = fs::path(LLAMA4_SOURCE_DIR) / "golden" / "llama4-bible-instruct";
  for (const std::string text : {"And Arphaxad begat Salah; and Salah begat Eber.",
                                 "And Jesus answered and said unto them, Go your way."}) {
    const std::string ask = " --chat --prompt 'Repeat: " + text + "' -n 40";
    const CommandResult copied = run_command(kModelProgram + " --model " + instruct.string() + ask);
    ASSERT_EQ(copied.status, 0) << copied.output;
    EXPECT_EQ(copied.output, text + "\n");
    const CommandResult base =
        run_command(kModelProgram + " --model " + trained_model_dir().string() + ask);
    ASSERT_EQ(base.status, 0) << base.output;
    EXPECT_NE(base.output, text + "\n");
  }
}

TEST(Adapter, ForAnotherBaseModelIsAClearErrorAtLoad) {
  const TemporaryDirectory directory;
  ASSERT_EQ(
      run_command(small_run(directory) + " --lora 4 --out " + (directory / "adapter").string())
          .status,
      0);
  const CommandResult refused =
      run_command(kModelProgram + " --model " + golden_model_dir("tiny").string() + " --adapter " +
                      (directory / "adapter").string() + " --tokens 1,2 -n 1",
                  true);
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("adapter_model.safetensors"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("another base model"), std::string::npos) << refused.output;
}

// --evaluate: one line per task; the rewrite's baseline is chrF of the input copied.
TEST(Evaluation, ReportsEachTaskWithItsBaseline) {
  const TemporaryDirectory directory;
  write_file(directory / "data.jsonl", conversations());
  const CommandResult report =
      run_command(kFinetune + " --evaluate " + (directory / "data.jsonl").string() +
                  " -n 8 --answers " + (directory / "answers.jsonl").string());
  ASSERT_EQ(report.status, 0) << report.output;
  ChrfScore copy;
  copy.add("And God said, Let there be light", "God said, Let there be light");
  copy.add("Thou shalt not steal.", "You shall not steal.");
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.1f", copy.score());
  EXPECT_NE(report.output.find("rewrite        2"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find(expected), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("50.0%"), std::string::npos) << "book baseline\n" << report.output;
  EXPECT_EQ(std::ranges::count(testing::read_file(directory / "answers.jsonl"), '\n'), 6);
  EXPECT_NE(report.output.find("loops"), std::string::npos) << report.output;
  // --stop-loops answers the same conversations; the copy baseline does not depend on it.
  const CommandResult stopped = run_command(
      kFinetune + " --evaluate " + (directory / "data.jsonl").string() + " -n 8 --stop-loops");
  ASSERT_EQ(stopped.status, 0) << stopped.output;
  EXPECT_NE(stopped.output.find(expected), std::string::npos) << stopped.output;
}

// The batches of a run: the same step always gets the same batch, and one epoch trains on every
// conversation once.
TEST(PackedBatches, AreTheSameForTheSameStepAndCoverEveryConversationEachEpoch) {
  std::vector<SupervisedExample> examples;
  std::int64_t trained = 0;
  for (int i = 0; i < 40; ++i) {
    SupervisedExample example{"line " + std::to_string(i), {}, {}};
    for (int t = 0; t < 5 + i % 7; ++t) {
      example.tokens.push_back(i * 100 + t);
      example.trained.push_back(t > 2);
      trained += t > 2;
    }
    examples.push_back(example);
  }
  PackedBatches batches(examples, 2, 24, -1, 7);
  const auto copy = [](const TrainingBatch& b) {
    return std::vector<std::int32_t>(b.tokens.begin(), b.tokens.end());
  };
  const std::vector<std::int32_t> first = copy(batches.batch(0));
  const std::int64_t per_epoch = batches.batches_in_epoch(0);
  (void)copy(batches.batch(per_epoch));  // another epoch in between
  EXPECT_EQ(copy(batches.batch(0)), first);
  EXPECT_NE(copy(batches.batch(per_epoch)), first) << "each epoch has its own order";
  std::int64_t seen = 0;
  for (std::int64_t s = 0; s < per_epoch; ++s)
    for (const std::uint8_t m : batches.batch(s).loss_mask) seen += m;
  EXPECT_LE(seen, trained);
  EXPECT_GT(seen, trained * 3 / 4) << "only the last, incomplete batch is dropped";
  EXPECT_EQ(batches.trained_targets_per_epoch(), trained);
}

}  // namespace
}  // namespace llama4
