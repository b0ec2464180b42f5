// Latency percentiles and throughput from a recorded trace (bench/challenge/latency.hpp), and the
// thresholds file (thresholds.hpp), with every figure worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bench/challenge/latency.hpp"
#include "bench/challenge/thresholds.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/test_support.hpp"

namespace llama4::challenge {
namespace {

using ::testing::HasSubstr;
using testing::TemporaryDirectory;
using testing::write_file;

// Four requests, batch 2: requests 0 and 1 start at once; 2 and 3 wait for a free slot.
std::vector<RequestTimes> recorded_trace() {
  return {{0.0, {0.1, 0.3, 0.5}},       // TTFT 0.1, TPOT (0.5 - 0.1) / 2 = 0.2
          {0.1, {0.2, 0.3, 0.4, 0.5}},  // TTFT 0.2, TPOT 0.1
          {0.3, {0.4, 0.8}},            // TTFT 0.4, TPOT 0.4
          {0.5, {0.8}}};                // TTFT 0.8, one token: no TPOT
}

TEST(Latency, PercentilesAreLinearBetweenRanksAsNumpys) {
  // numpy.percentile([0.1, 0.2, 0.4, 0.8], [50, 90, 99]) = [0.3, 0.68, 0.788]
  const std::vector<double> values = {0.8, 0.1, 0.4, 0.2};
  const Percentiles p = percentiles(values);
  EXPECT_NEAR(p.p50, 0.3, 1e-12);
  EXPECT_NEAR(p.p90, 0.68, 1e-12);
  EXPECT_NEAR(p.p99, 0.788, 1e-12);
  const std::vector<double> one = {2.5};
  EXPECT_EQ(percentiles(one).p99, 2.5);
  EXPECT_THROW(percentiles(std::vector<double>{}), Error);
}

TEST(Latency, ARecordedTraceGivesTheFiguresWorkedOutByHand) {
  const std::vector<RequestTimes> trace = recorded_trace();
  const std::vector<std::int64_t> prompts = {10, 20, 30, 40};
  const RunMeasurement run = measure_run(2, trace, prompts);
  EXPECT_EQ(run.batch, 2);
  EXPECT_EQ(run.prompt_tokens, 100);
  EXPECT_EQ(run.generated_tokens, 10);
  EXPECT_DOUBLE_EQ(run.wall_seconds, 0.8);
  EXPECT_DOUBLE_EQ(run.throughput, 10 / 0.8);
  // Prefill time: 0.1 + 0.1 + 0.1 + 0.3 = 0.6 s for 100 prompt tokens.
  EXPECT_NEAR(run.prefill_tokens_per_second, 100 / 0.6, 1e-9);
  // TTFT (0.1, 0.2, 0.4, 0.8): queueing counts.
  EXPECT_NEAR(run.ttft_seconds.p50, 0.3, 1e-12);
  EXPECT_NEAR(run.ttft_seconds.p90, 0.68, 1e-12);
  EXPECT_NEAR(run.ttft_seconds.p99, 0.788, 1e-12);
  // TPOT (0.2, 0.1, 0.4), the one-token request left out: sorted (0.1, 0.2, 0.4).
  EXPECT_NEAR(run.tpot_seconds.p50, 0.2, 1e-12);
  EXPECT_NEAR(run.tpot_seconds.p90, 0.2 + 0.8 * 0.2, 1e-12);
  EXPECT_NEAR(run.tpot_seconds.p99, 0.2 + 0.98 * 0.2, 1e-12);
}

TEST(Latency, ATraceThatDoesNotMatchItsPromptsIsAnError) {
  const std::vector<RequestTimes> trace = recorded_trace();
  const std::vector<std::int64_t> three = {1, 2, 3};
  EXPECT_THROW(measure_run(1, trace, three), Error);
  std::vector<RequestTimes> empty = {{0.0, {}}};
  const std::vector<std::int64_t> one = {1};
  EXPECT_THROW(measure_run(1, empty, one), Error);
}

TEST(Thresholds, EachBoundAppliesToItsWorkloadEngineAndBatch) {
  TemporaryDirectory directory;
  write_file(directory / "t.json", R"({"format": "llama4-challenge-thresholds", "version": 1,
      "thresholds": [
        {"workload": "w", "engine": "cpu-bf16", "batch": 2, "min_throughput": 20,
         "max_ttft_p99_seconds": 1, "max_tpot_p99_seconds": 0.3, "max_peak_memory_bytes": 1e9},
        {"workload": "w", "engine": "cpu-q4_0", "batch": 2, "min_throughput": 1e9},
        {"workload": "other", "engine": "cpu-bf16", "batch": 2, "min_throughput": 1e9}]})");
  const std::vector<Threshold> thresholds = read_thresholds(directory / "t.json");
  ASSERT_EQ(thresholds.size(), 3u);
  const std::vector<std::int64_t> prompts = {10, 20, 30, 40};
  const std::vector<RunMeasurement> runs = {measure_run(2, recorded_trace(), prompts)};
  // 12.5 tok/s < 20; TTFT p99 0.788 <= 1; TPOT p99 0.396 > 0.3; 2e9 bytes > 1e9.
  const ThresholdVerdict verdict =
      check_thresholds(thresholds, "w", "cpu-bf16", runs, 2'000'000'000);
  EXPECT_EQ(verdict.checked, 4);
  ASSERT_EQ(verdict.missed.size(), 3u);
  EXPECT_THAT(verdict.missed[0],
              HasSubstr("throughput (tok/s) at batch 2 is 12.5, the threshold is >= 20"));
  EXPECT_THAT(verdict.missed[1], HasSubstr("TPOT p99"));
  EXPECT_THAT(verdict.missed[2], HasSubstr("peak memory"));
  // No entry for this engine, or for this batch: nothing checked.
  EXPECT_EQ(check_thresholds(thresholds, "w", "cpu-q8_0", runs, 1).checked, 0);
  const std::vector<RunMeasurement> batch_one = {measure_run(1, recorded_trace(), prompts)};
  EXPECT_EQ(check_thresholds(thresholds, "w", "cpu-bf16", batch_one, 1).checked, 0);
}

TEST(Thresholds, MalformedFilesAreErrorsNamingTheEntry) {
  TemporaryDirectory directory;
  const std::string head =
      R"({"format": "llama4-challenge-thresholds", "version": 1, "thresholds": )";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"format": "x"})", "not a thresholds file"},
      {R"({"format": "llama4-challenge-thresholds", "version": 3, "thresholds": []})",
       "\"version\" must be 1"},
      {head + "{}}", "\"thresholds\" must be a list"},
      {head + R"([{"engine": "cpu-bf16", "batch": 1}]})", "threshold 0: no string \"workload\""},
      {head + R"([{"workload": "w", "engine": "e", "batch": 0}]})", "\"batch\" must be"},
      {head + R"([{"workload": "w", "engine": "e", "batch": 1, "min_throughput": -1}]})",
       "\"min_throughput\" must be a positive number"},
      {head + R"([{"workload": "w", "engine": "e", "batch": 1, "min_thruput": 1}]})",
       "unknown field \"min_thruput\""},
  };
  for (const auto& [text, expected] : cases) {
    write_file(directory / "t.json", text);
    EXPECT_THAT([&] { read_thresholds(directory / "t.json"); },
                ::testing::ThrowsMessage<Error>(HasSubstr(expected)))
        << text;
  }
}

}  // namespace
}  // namespace llama4::challenge
