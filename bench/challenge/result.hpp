// One challenge result: what ran, where, how fast, and whether it counts. Written as JSON (for
// machines: compare, plot, archive), as a Markdown table (for people) and as a plot
// (plot.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/challenge/accuracy_gate.hpp"
#include "bench/challenge/fingerprint.hpp"
#include "bench/challenge/latency.hpp"
#include "bench/challenge/thresholds.hpp"

namespace llama4::challenge {

struct ChallengeResult {
  std::string workload;  // its name
  std::string workload_file;
  std::string engine;
  std::string reference;  // the engine the gate compared with
  std::string model;      // the model's path
  MachineFingerprint machine;
  std::uint64_t weight_bytes = 0;
  std::uint64_t bytes_read_per_token = 0;  // one decode step at batch 1
  double read_bandwidth = 0;               // bytes/s of the engine's memory, measured in this run
  std::uint64_t peak_memory_bytes = 0;     // the process's peak resident memory after the runs
  std::vector<RunMeasurement> runs;        // one per batch size
  AccuracyResult accuracy;
  ThresholdVerdict thresholds;

  // Decode at batch 1: the weight bytes read per second over the ceiling (0 if not known).
  double bandwidth_fraction() const;
  // The score: the best throughput over the runs, or 0 if the accuracy gate failed.
  double score() const;
  bool passed() const { return accuracy.passed && thresholds.missed.empty(); }
};

nlohmann::json to_json(const ChallengeResult& result);
std::string to_markdown(const ChallengeResult& result);

}  // namespace llama4::challenge
