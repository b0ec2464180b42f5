#include "bench/challenge/result.hpp"

#include <algorithm>
#include <cstdio>

namespace llama4::challenge {
namespace {

nlohmann::json to_json(const Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}};
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace

double ChallengeResult::bandwidth_fraction() const {
  for (const RunMeasurement& run : runs) {
    if (run.batch == 1 && run.tpot_seconds.p50 > 0 && read_bandwidth > 0)
      return static_cast<double>(bytes_read_per_token) / run.tpot_seconds.p50 / read_bandwidth;
  }
  return 0;
}

double ChallengeResult::score() const {
  if (!accuracy.passed) return 0;
  double best = 0;
  for (const RunMeasurement& run : runs) best = std::max(best, run.throughput);
  return best;
}

nlohmann::json to_json(const ChallengeResult& result) {
  nlohmann::json runs = nlohmann::json::array();
  for (const RunMeasurement& run : result.runs) {
    runs.push_back({{"batch", run.batch},
                    {"wall_seconds", run.wall_seconds},
                    {"prompt_tokens", run.prompt_tokens},
                    {"generated_tokens", run.generated_tokens},
                    {"throughput_tokens_per_second", run.throughput},
                    {"prefill_tokens_per_second", run.prefill_tokens_per_second},
                    {"ttft_seconds", to_json(run.ttft_seconds)},
                    {"tpot_seconds", to_json(run.tpot_seconds)}});
  }
  const AccuracyResult& a = result.accuracy;
  nlohmann::json accuracy = {{"passed", a.passed},
                             {"failures", a.failures},
                             {"prompts", a.prompts},
                             {"prompts_identical", a.prompts_identical},
                             {"positions", a.positions},
                             {"mean_kl", a.mean_kl},
                             {"p99_kl", a.p99_kl},
                             {"max_kl", a.max_kl},
                             {"top1_agreement", a.top1_agreement},
                             {"reference_perplexity", a.reference_perplexity},
                             {"engine_perplexity", a.engine_perplexity}};
  const MachineFingerprint& m = result.machine;
  return {{"format", "llama4-challenge-result"},
          {"version", 1},
          {"workload", result.workload},
          {"workload_file", result.workload_file},
          {"engine", result.engine},
          {"reference", result.reference},
          {"model", result.model},
          {"machine",
           {{"cpu", m.cpu},
            {"logical_cores", m.logical_cores},
            {"threads", m.threads},
            {"memory_bytes", m.memory_bytes},
            {"device", m.device},
            {"commit", m.commit},
            {"compiler", m.compiler},
            {"date_utc", m.date_utc},
            {"hostname", m.hostname}}},
          {"weight_bytes", result.weight_bytes},
          {"bytes_read_per_token", result.bytes_read_per_token},
          {"read_bandwidth_bytes_per_second", result.read_bandwidth},
          {"bandwidth_fraction_batch_1", result.bandwidth_fraction()},
          {"peak_memory_bytes", result.peak_memory_bytes},
          {"runs", runs},
          {"accuracy", accuracy},
          {"thresholds",
           {{"checked", result.thresholds.checked}, {"missed", result.thresholds.missed}}},
          {"score_tokens_per_second", result.score()},
          {"passed", result.passed()}};
}

std::string to_markdown(const ChallengeResult& result) {
  const MachineFingerprint& m = result.machine;
  std::string md =
      "## Challenge: workload " + result.workload + ", engine " + result.engine + "\n\n";
  md += "- machine: " + m.cpu + ", " + std::to_string(m.logical_cores) + " logical cores, " +
        format("%.1f", static_cast<double>(m.memory_bytes) / 1e9) + " GB; " + m.device + "\n";
  md += "- commit " + m.commit + ", " + m.compiler + ", " + m.date_utc + "\n";
  md += "- model " + result.model + ": " +
        format("%.1f", static_cast<double>(result.weight_bytes) / 1e6) + " MB of weights, " +
        format("%.2f", static_cast<double>(result.bytes_read_per_token) / 1e6) +
        " MB read per decoded token\n";
  if (result.read_bandwidth > 0) {
    md += "- read bandwidth (this run) " + format("%.1f", result.read_bandwidth / 1e9) +
          " GB/s; decode at batch 1 reaches " + format("%.0f", 100 * result.bandwidth_fraction()) +
          "% of it\n";
  }
  md += "- peak resident memory " +
        format("%.0f", static_cast<double>(result.peak_memory_bytes) / 1e6) + " MB\n\n";
  md +=
      "| batch | tok/s | prefill tok/s | TTFT p50 / p90 / p99 (ms) | TPOT p50 / p90 / p99 (ms) |\n";
  md += "| ---: | ---: | ---: | ---: | ---: |\n";
  for (const RunMeasurement& run : result.runs) {
    md += "| " + std::to_string(run.batch) + " | " + format("%.1f", run.throughput) + " | " +
          format("%.0f", run.prefill_tokens_per_second) + " | " +
          format("%.0f", 1e3 * run.ttft_seconds.p50) + " / " +
          format("%.0f", 1e3 * run.ttft_seconds.p90) + " / " +
          format("%.0f", 1e3 * run.ttft_seconds.p99) + " | " +
          format("%.1f", 1e3 * run.tpot_seconds.p50) + " / " +
          format("%.1f", 1e3 * run.tpot_seconds.p90) + " / " +
          format("%.1f", 1e3 * run.tpot_seconds.p99) + " |\n";
  }
  const AccuracyResult& a = result.accuracy;
  md += "\nAccuracy gate against " + result.reference + ": **" +
        (a.passed ? std::string("passed") : std::string("FAILED")) +
        "**: " + std::to_string(a.prompts_identical) + " of " + std::to_string(a.prompts) +
        " prompts with identical greedy tokens; mean KL " + format("%.2e", a.mean_kl) +
        " nats (p99 " + format("%.2e", a.p99_kl) + "), top-1 agreement " +
        format("%.4f", a.top1_agreement) + ", perplexity " + format("%.3f", a.engine_perplexity) +
        " (reference " + format("%.3f", a.reference_perplexity) + ")\n";
  for (const std::string& failure : a.failures) md += "- " + failure + "\n";
  md += "\nThresholds: " + std::to_string(result.thresholds.checked) + " checked, " +
        std::to_string(result.thresholds.missed.size()) + " missed\n";
  for (const std::string& missed : result.thresholds.missed) md += "- " + missed + "\n";
  md += "\n**Score: " + format("%.1f", result.score()) + " tok/s** (" +
        (result.passed() ? "passed" : "failed") + ")\n";
  return md;
}

}  // namespace llama4::challenge
