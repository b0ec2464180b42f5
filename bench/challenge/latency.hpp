// What one timed run of a workload gives: throughput and latency percentiles, from the time every
// token came out (RequestTimes, common/model/batched_generation.hpp).
//
// Every request is waiting at time 0 (an offline load, as in MLPerf's Offline scenario), so a
// request's time to first token (TTFT) includes the time it queued for a free place in the batch:
// what its user would wait. Its time per output token (TPOT) is the mean gap between its later
// tokens, (last - first) / (n - 1): how fast the text streams once it starts (MLPerf's
// definition); a request with one token has none. Percentiles are over requests, linear between
// ranks (numpy's default).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/model/batched_generation.hpp"

namespace llama4::challenge {

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0;
};

// p50, p90 and p99 of `values`; an Error if there are none.
Percentiles percentiles(std::span<const double> values);

struct RunMeasurement {
  std::int64_t batch = 0;
  double wall_seconds = 0;               // from the start of the run to its last token
  std::int64_t prompt_tokens = 0;        // over every request
  std::int64_t generated_tokens = 0;     // over every request
  double throughput = 0;                 // generated tokens / wall_seconds
  double prefill_tokens_per_second = 0;  // prompt tokens / time spent in prefill passes
  Percentiles ttft_seconds;
  Percentiles tpot_seconds;  // over requests with two or more tokens (zeros if none has)
};

// The figures of one run: `times` and `prompt_lengths` per request (same order).
RunMeasurement measure_run(std::int64_t batch, std::span<const RequestTimes> times,
                           std::span<const std::int64_t> prompt_lengths);

}  // namespace llama4::challenge
