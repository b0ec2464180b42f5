// The challenge program end to end on a workload of three short prompts: the report, the three
// files, the exit status for a missed threshold, and clear errors for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace llama4::challenge {
namespace {

using ::testing::HasSubstr;
using testing::read_file;
using testing::run_command;
using testing::TemporaryDirectory;
using testing::write_file;

const char* kWorkload = R"({"format": "llama4-challenge-workload", "version": 1, "name": "tiny",
  "model": "chapter11-trained", "context_length": 64, "batch_sizes": [1, 2],
  "accuracy": {"identical_greedy_tokens": 4, "max_mean_kl": 0.001, "min_top1_agreement": 0.99,
               "max_perplexity_ratio": 1.01},
  "prompts": [{"text": "And God said", "max_new_tokens": 5},
              {"ids": [4096, 12, 900], "max_new_tokens": 3},
              {"text": "In the beginning", "max_new_tokens": 4}]})";

testing::CommandResult run_command_with_errors(const std::string& command) {
  return run_command(command, /*with_errors=*/true);
}

std::string challenge(const std::string& arguments) {
  return std::string(LLAMA4_CHALLENGE) + " --threads 2 " + arguments;
}

TEST(ChallengeProgram, RunsAWorkloadAndWritesTheReportTheJsonAndThePlot) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", kWorkload);
  const auto result = run_command_with_errors(
      challenge("--workload " + (directory / "w.json").string() +
                " --engine cpu-bf16 --no-thresholds --out " + (directory / "out").string()));
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Accuracy gate against cpu-f32: **passed**"));
  EXPECT_THAT(result.output, HasSubstr("| 2 |"));
  const nlohmann::json json = nlohmann::json::parse(read_file(directory / "out/result.json"));
  EXPECT_EQ(json["engine"], "cpu-bf16");
  EXPECT_EQ(json["workload"], "tiny");
  EXPECT_EQ(json["passed"], true);
  ASSERT_EQ(json["runs"].size(), 2u);
  EXPECT_EQ(json["runs"][1]["batch"], 2);
  EXPECT_EQ(json["runs"][0]["generated_tokens"], 5 + 3 + 4);
  EXPECT_GT(json["runs"][0]["throughput_tokens_per_second"].get<double>(), 0);
  EXPECT_EQ(json["accuracy"]["prompts_identical"], 3);
  EXPECT_GT(json["peak_memory_bytes"].get<double>(), 0);
  EXPECT_GT(json["read_bandwidth_bytes_per_second"].get<double>(), 0);
  EXPECT_FALSE(json["machine"]["cpu"].get<std::string>().empty());
  EXPECT_EQ(json["score_tokens_per_second"],
            json["runs"][1]["throughput_tokens_per_second"].get<double>() >
                    json["runs"][0]["throughput_tokens_per_second"].get<double>()
                ? json["runs"][1]["throughput_tokens_per_second"]
                : json["runs"][0]["throughput_tokens_per_second"]);
  EXPECT_THAT(read_file(directory / "out/result.md"), HasSubstr("## Challenge: workload tiny"));
  EXPECT_THAT(read_file(directory / "out/result.svg"), HasSubstr("<svg xmlns"));
}

TEST(ChallengeProgram, AMissedThresholdExitsWithStatus1AndSaysWhich) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", kWorkload);
  write_file(directory / "t.json", R"({"format": "llama4-challenge-thresholds", "version": 1,
    "thresholds": [{"workload": "tiny", "engine": "cpu-bf16", "batch": 1, "min_throughput": 1e12}]})");
  const auto result = run_command_with_errors(
      challenge("--workload " + (directory / "w.json").string() +
                " --batch 1 --no-bandwidth --thresholds " + (directory / "t.json").string()));
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Thresholds: 1 checked, 1 missed"));
  EXPECT_THAT(result.output, HasSubstr("the threshold is >= 1e+12"));
}

TEST(ChallengeProgram, BadInputIsAClearErrorBeforeAnythingRuns) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", kWorkload);
  const std::string workload = " --workload " + (directory / "w.json").string();
  auto result = run_command_with_errors(challenge(workload + " --engine cpu-fp64 --no-thresholds"));
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("unknown engine \"cpu-fp64\": the engines are cpu-f32, "
                                       "cpu-bf16, cpu-q8_0, cpu-q4_0, cpu-q4_1, gpu-chapter09"));
  result = run_command_with_errors(challenge(workload + " --batch 0"));
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.output, HasSubstr("--batch"));
  result =
      run_command_with_errors(challenge("--workload " + (directory / "missing.json").string()));
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("missing.json"));
  write_file(directory / "long.json",
             std::string(kWorkload).replace(std::string(kWorkload).find("\"max_new_tokens\": 5"),
                                            19, "\"max_new_tokens\": 99"));
  result = run_command_with_errors(challenge("--workload " + (directory / "long.json").string()));
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("prompt 0: 4 prompt tokens and 99 new ones need 102 "
                                       "positions, more than the context_length of 64"));
  EXPECT_FALSE(std::filesystem::exists(directory / "out"));
}

TEST(ChallengeProgram, AGpuEngineWithoutAGpuSaysSo) {
  TemporaryDirectory directory;
  write_file(directory / "w.json", kWorkload);
  const auto result = run_command_with_errors(challenge(
      "--workload " + (directory / "w.json").string() + " --engine gpu-chapter09 --no-thresholds"));
  if (result.status == 0) GTEST_SKIP() << "a GPU is here: the GPU engine ran";
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.output, HasSubstr("engine gpu-chapter09: no usable GPU"));
}

}  // namespace
}  // namespace llama4::challenge
