// chapter14_parallel under mpirun: its logits against chapter08_model's, its text, and clear
// errors (from rank 0 only, every rank stopping) for a split the model cannot take or a missing
// model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/tensors/safetensors.hpp"
#include "tests/chapter11/toy_training.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using testing::read_dumped_logits;
using testing::run_command;
using testing::TemporaryDirectory;
using testing::write_file;

const char* kIds = "4096,300,41,1020,77,12,900,5,6,7,8,9";
constexpr std::int64_t kVocab = 6144;

// mpirun with `ranks` processes (as root where CI runs so; OpenMPI's exit allocations are not
// leaks of ours), stopped after 120 s: a hang fails the test instead of blocking it.
std::string mpirun(int ranks, const std::string& arguments,
                   const char* program = LLAMA4_CHAPTER14_PARALLEL " --threads 1") {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 "
         "OMP_NUM_THREADS=1 timeout 120 " LLAMA4_MPIEXEC " -np " +
         std::to_string(ranks) + " --oversubscribe " + program + " " + arguments;
}

TEST(ParallelProgram, LogitsOfEverySplitEqualChapter08s) {
  TemporaryDirectory directory;
  const auto reference = directory / "reference.bin";
  ASSERT_EQ(run_command(std::string(LLAMA4_CHAPTER08_MODEL) +
                        " --model " LLAMA4_SOURCE_DIR "/golden/llama4-bible --tokens " + kIds +
                        " --dump-logits " + reference.string())
                .status,
            0);
  const Tensor expected = read_dumped_logits(reference, 12, kVocab);
  // And the bytes each rank all-reduced in that one pass, against the formula (H = 256, 2 dense
  // and 2 MoE layers: 8 KiB per token for tp 2 with ep 2, 10 KiB with ep 4 on other ranks).
  const std::pair<int, const char*> splits[] = {{2, "--tp 2 --ep 2"}, {4, "--tp 2 --ep 4"}};
  const char* volumes[] = {
      "12 tokens in one pass: all-reduced 8192 bytes per token (formula: 8192)",
      "12 tokens in one pass: all-reduced 10240 bytes per token (formula: "
      "10240)"};
  for (int s = 0; s < 2; ++s) {
    const auto& [ranks, split] = splits[s];
    const auto out = directory / "parallel.bin";
    const auto result = run_command(
        mpirun(ranks, std::string(split) + " --tokens " + kIds + " --dump-logits " + out.string()),
        /*with_errors=*/true);
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr(volumes[s]));
    const Tensor got = read_dumped_logits(out, 12, kVocab);
    float largest = 0, difference = 0;
    for (std::int64_t i = 0; i < got.numel(); ++i) {
      largest = std::max(largest, std::abs(expected.data<float>()[i]));
      difference = std::max(difference, std::abs(got.data<float>()[i] - expected.data<float>()[i]));
    }
    EXPECT_LE(difference, 1e-4f * largest) << split;
  }
}

TEST(ParallelProgram, GreedyTextEqualsChapter08sAndOnlyRank0Prints) {
  const auto alone = run_command(std::string(LLAMA4_CHAPTER08_MODEL) +
                                 " --prompt 'And God said' -n 12 --temperature 0");
  ASSERT_EQ(alone.status, 0);
  const auto parallel = run_command(mpirun(2, "--tp 2 --prompt 'And God said' -n 12"));
  ASSERT_EQ(parallel.status, 0);
  EXPECT_EQ(parallel.output, alone.output);
  EXPECT_THAT(parallel.output, HasSubstr("And God said"));
}

TEST(ParallelProgram, AChatReadByRank0AndPerplexityEqualChapter08s) {
  // Two turns on standard input, which mpirun gives to rank 0 only: every rank must see them.
  const std::string lines =
      "printf 'Which book is this verse from? In the beginning God created "
      "the heaven and the earth.\\nAnd then?\\n' | ";
  const auto alone = run_command(lines + LLAMA4_CHAPTER08_MODEL
                                 " --model " LLAMA4_SOURCE_DIR
                                 "/golden/llama4-bible --chat -n 10 --temperature 0");
  ASSERT_EQ(alone.status, 0);
  const auto parallel = run_command(lines + mpirun(2, "--tp 2 --chat -n 10"));
  ASSERT_EQ(parallel.status, 0);
  EXPECT_EQ(parallel.output, alone.output);
  EXPECT_EQ(testing::count_occurrences(parallel.output, "assistant> "), 2u);

  TemporaryDirectory directory;
  write_file(directory / "text.txt", testing::kText);
  const std::string file = (directory / "text.txt").string();
  const auto expected = run_command(std::string(LLAMA4_CHAPTER08_MODEL) + " --model " +
                                    LLAMA4_SOURCE_DIR "/golden/llama4-bible --perplexity " + file);
  const auto got = run_command(mpirun(2, "--ep 2 --perplexity " + file));
  ASSERT_EQ(got.status, 0);
  EXPECT_THAT(expected.output, HasSubstr("perplexity "));
  EXPECT_EQ(got.output, expected.output);
}

TEST(ParallelProgram, ASplitTheModelCannotTakeStopsEveryRankWithOneMessage) {
  const auto result = run_command(mpirun(2, "--tp 3 --tokens 4096,5"), /*with_errors=*/true);
  EXPECT_NE(result.status, 0);
  EXPECT_THAT(result.output, HasSubstr("--tp 3 does not divide the 2 ranks"));
  EXPECT_EQ(testing::count_occurrences(result.output, "does not divide"), 1u) << result.output;
  const auto heads = run_command(mpirun(4, "--tp 4 --tokens 4096,5"), /*with_errors=*/true);
  EXPECT_NE(heads.status, 0);
  EXPECT_THAT(heads.output, HasSubstr("the 2 key/value heads cannot be divided evenly over 4"));
}

TEST(ParallelProgram, AMissingModelStopsEveryRankNamingIt) {
  const auto result =
      run_command(mpirun(2, "--model /nonexistent/llama4 --tokens 4096,5"), /*with_errors=*/true);
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.status, 124) << "timed out: a rank waited forever";
  EXPECT_THAT(result.output, HasSubstr("/nonexistent/llama4"));
}

// Data-parallel training: chapter14_train on 2 and 4 ranks against chapter11_train in one process,
// the same batches: the same weights after 4 steps, up to the order of the sums.
TEST(DataParallelTraining, RanksGiveTheWeightsOfOneProcessOnTheWholeBatch) {
  TemporaryDirectory directory;
  write_file(directory / "config.json", testing::kToyConfig);
  std::string text;
  for (int i = 0; i < 8; ++i) text += testing::kText;
  write_file(directory / "train.txt", text);
  write_file(directory / "validation.txt", testing::kText);
  const std::string files = " --config " + (directory / "config.json").string() +
                            " --tokenizer " LLAMA4_SOURCE_DIR "/golden/tokenizer/toy.tiktoken" +
                            " --train " + (directory / "train.txt").string() + " --validation " +
                            (directory / "validation.txt").string() +
                            " --steps 4 --sequence 16 --warmup 2 --learning-rate 3e-3 "
                            "--eval-every 2 --eval-batches 1 --out ";
  const auto alone = run_command("OMP_NUM_THREADS=1 " LLAMA4_CHAPTER11_TRAIN + files +
                                     (directory / "alone").string() + " --batch 4",
                                 /*with_errors=*/true);
  ASSERT_EQ(alone.status, 0) << alone.output;
  const SafetensorsFile expected(directory / "alone/training_state.safetensors");
  for (const int ranks : {2, 4}) {
    const std::string out = (directory / ("ranks" + std::to_string(ranks))).string();
    const auto parallel =
        run_command(mpirun(ranks, files + out + " --batch 4", LLAMA4_CHAPTER14_TRAIN), true);
    ASSERT_EQ(parallel.status, 0) << parallel.output;
    EXPECT_THAT(parallel.output, HasSubstr("data parallel: " + std::to_string(ranks) + " ranks"));
    const SafetensorsFile got(out + "/training_state.safetensors");
    double largest = 0, difference = 0;
    for (const std::string& name : expected.names()) {
      if (name.rfind("weight.", 0) != 0) continue;
      const Tensor a = expected.tensor(name), b = got.tensor(name);
      for (std::int64_t i = 0; i < a.numel(); ++i) {
        largest = std::max(largest, std::abs(double(a.data<float>()[i])));
        difference =
            std::max(difference, std::abs(double(a.data<float>()[i] - b.data<float>()[i])));
      }
    }
    EXPECT_LE(difference, 1e-5 * largest) << ranks << " ranks";
  }
  // A batch the ranks cannot share is an error before the first step, from rank 0 alone.
  const auto odd = run_command(
      mpirun(4, files + (directory / "odd").string() + " --batch 6", LLAMA4_CHAPTER14_TRAIN), true);
  EXPECT_NE(odd.status, 0);
  EXPECT_THAT(odd.output, HasSubstr("--batch 6 sequences cannot be divided evenly over 4 ranks"));
}

}  // namespace
}  // namespace llama4
