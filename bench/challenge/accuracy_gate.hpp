// The accuracy gate: a faster engine scores only if it computes the same model.
//
// Speed is easy to buy with wrong answers (skip a layer, drop experts, round harder), so before a
// result counts, the engine is compared with the reference (cpu-f32) on the workload itself:
//
//   greedy    the first N new tokens of every prompt identical to the reference's (N per workload):
//             what a user of greedy decoding would see;
//   mean KL   teacher forcing: both engines read each prompt followed by the REFERENCE's
//             continuation, and at every position KL(P_reference || P_engine) of the next-token
//             distributions (nats), averaged over all positions: a small, steady drift is caught
//             even where it has not yet flipped a token;
//   top-1     the share of those positions where both put the same token first;
//   perplexity  each engine's perplexity on the prompts' own tokens (real text), as a ratio.
//
// Stricter than a text-similarity check, and than MLPerf's "99% of the reference's score": a
// single flipped token in the first N fails the gate.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/challenge/engine.hpp"
#include "bench/challenge/workload.hpp"

namespace llama4::challenge {

struct GreedyMismatch {
  std::int64_t prompt = 0;
  std::int64_t position = 0;  // index among the new tokens
  std::int32_t reference_token = 0;
  std::int32_t engine_token = -1;  // -1: the engine stopped before this position
};

struct AccuracyResult {
  bool passed = false;
  std::vector<std::string> failures;  // one sentence per bound missed
  std::int64_t prompts = 0;
  std::int64_t prompts_identical = 0;  // whose first N new tokens equal the reference's
  std::optional<GreedyMismatch> first_mismatch;
  std::int64_t positions = 0;  // teacher-forced positions compared
  double mean_kl = 0, p99_kl = 0, max_kl = 0;
  double top1_agreement = 0;
  double reference_perplexity = 0, engine_perplexity = 0;
};

using Outputs = std::vector<std::vector<std::int32_t>>;  // the new tokens of each prompt

// Judges `engine` against `reference` on the workload's prompts (ids resolved). The engine's
// greedy tokens are checked in every run it made (one per batch size: batching must not change
// them); prompts_identical counts the prompts identical in all of them.
AccuracyResult judge_accuracy(Engine& reference, Engine& engine, const Workload& workload,
                              const Outputs& reference_outputs,
                              std::span<const Outputs> engine_runs);

}  // namespace llama4::challenge
