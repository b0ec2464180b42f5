// The report (bench/challenge/result.hpp, plot.hpp): the score counts only with the gate passed,
// and the JSON, Markdown and SVG say what the result holds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bench/challenge/plot.hpp"
#include "bench/challenge/result.hpp"

namespace llama4::challenge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ChallengeResult two_runs() {
  ChallengeResult result;
  result.workload = "w<&>";
  result.engine = "cpu-bf16";
  result.reference = "cpu-f32";
  result.bytes_read_per_token = 1'000'000;
  result.read_bandwidth = 10e9;
  RunMeasurement one, eight;
  one.batch = 1;
  one.throughput = 500;
  one.tpot_seconds = {0.001, 0.002, 0.003};
  eight.batch = 8;
  eight.throughput = 2000;
  eight.tpot_seconds = {0.004, 0.005, 0.006};
  result.runs = {one, eight};
  result.accuracy.passed = true;
  return result;
}

TEST(ChallengeResult, TheScoreIsTheBestThroughputAndZeroWhenTheGateFails) {
  ChallengeResult result = two_runs();
  EXPECT_EQ(result.score(), 2000);
  EXPECT_TRUE(result.passed());
  // 1 MB per token every 1 ms (TPOT p50 at batch 1) = 1 GB/s of 10 GB/s.
  EXPECT_DOUBLE_EQ(result.bandwidth_fraction(), 0.1);
  result.thresholds.missed = {"too slow"};
  EXPECT_EQ(result.score(), 2000);  // a missed threshold fails the run, the score stands
  EXPECT_FALSE(result.passed());
  result.accuracy.passed = false;
  EXPECT_EQ(result.score(), 0);
}

TEST(ChallengeResult, TheJsonAndMarkdownCarryTheFigures) {
  const ChallengeResult result = two_runs();
  const nlohmann::json json = to_json(result);
  EXPECT_EQ(json["format"], "llama4-challenge-result");
  EXPECT_EQ(json["runs"][1]["batch"], 8);
  EXPECT_EQ(json["runs"][1]["tpot_seconds"]["p99"], 0.006);
  EXPECT_EQ(json["score_tokens_per_second"], 2000);
  EXPECT_EQ(json["passed"], true);
  const std::string markdown = to_markdown(result);
  EXPECT_THAT(markdown, HasSubstr("| 8 | 2000.0 |"));
  EXPECT_THAT(markdown, HasSubstr("**Score: 2000.0 tok/s** (passed)"));
}

TEST(ChallengeResult, ThePlotIsAnSvgWithTheWorkloadsNameEscaped) {
  const std::string svg = plot_svg(two_runs());
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(svg, HasSubstr("w&lt;&amp;&gt;"));
  EXPECT_THAT(svg, Not(HasSubstr("w<&>")));
  EXPECT_THAT(svg, HasSubstr("TPOT p99"));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

}  // namespace
}  // namespace llama4::challenge
