// Performance thresholds: the figures a result must reach, committed in a file
// (bench/challenge/thresholds.json), so a slower change is a failure and not an opinion.
//
//   {"format": "llama4-challenge-thresholds", "version": 1, "thresholds": [
//     {"workload": "small", "engine": "cpu-bf16", "batch": 8,
//      "min_throughput": 20, "max_ttft_p99_seconds": 30, "max_tpot_p99_seconds": 2,
//      "max_peak_memory_bytes": 4000000000}, ...]}
//
// An entry applies to the run of its workload, engine and batch size; every bound is optional.
// A run with no entry is judged by the accuracy gate alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/challenge/latency.hpp"

namespace llama4::challenge {

struct Threshold {
  std::string workload;
  std::string engine;
  std::int64_t batch = 1;
  std::optional<double> min_throughput;  // generated tokens per second
  std::optional<double> max_ttft_p99_seconds;
  std::optional<double> max_tpot_p99_seconds;
  std::optional<double> max_peak_memory_bytes;
};

// Reads and checks the file; an Error names the file, the entry and the field.
std::vector<Threshold> read_thresholds(const std::filesystem::path& file);

struct ThresholdVerdict {
  std::int64_t checked = 0;         // bounds that applied
  std::vector<std::string> missed;  // one sentence per bound missed
};

ThresholdVerdict check_thresholds(std::span<const Threshold> thresholds,
                                  const std::string& workload, const std::string& engine,
                                  std::span<const RunMeasurement> runs,
                                  std::uint64_t peak_memory_bytes);

}  // namespace llama4::challenge
