// chapter14_parallel under mpirun: its logits against chapter08_model's, its text, and clear
// errors (from rank 0 only, every rank stopping) for a split the model cannot take or a missing
// model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using testing::read_dumped_logits;
using testing::run_command;
using testing::TemporaryDirectory;

const char* kIds = "4096,300,41,1020,77,12,900,5,6,7,8,9";
constexpr std::int64_t kVocab = 6144;

// mpirun with `ranks` processes (as root where CI runs so; OpenMPI's exit allocations are not
// leaks of ours), stopped after 120 s: a hang fails the test instead of blocking it.
std::string mpirun(int ranks, const std::string& arguments) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 "
         "timeout 120 " LLAMA4_MPIEXEC " -np " +
         std::to_string(ranks) + " --oversubscribe " LLAMA4_CHAPTER14_PARALLEL " --threads 1 " +
         arguments;
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
  for (const auto& [ranks, split] :
       {std::pair{2, "--tp 2 --ep 2"}, std::pair{4, "--tp 2 --ep 4"}}) {
    const auto out = directory / "parallel.bin";
    const auto result = run_command(
        mpirun(ranks, std::string(split) + " --tokens " + kIds + " --dump-logits " + out.string()),
        /*with_errors=*/true);
    ASSERT_EQ(result.status, 0) << result.output;
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

}  // namespace
}  // namespace llama4
