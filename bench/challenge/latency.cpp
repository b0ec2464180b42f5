#include "bench/challenge/latency.hpp"

#include <algorithm>

#include "common/quantization/logit_agreement.hpp"
#include "common/tensors/error.hpp"

namespace llama4::challenge {

Percentiles percentiles(std::span<const double> values) {
  if (values.empty()) fail("percentiles of no values");
  const std::vector<double> copy(values.begin(), values.end());
  return {quantile(copy, 0.50), quantile(copy, 0.90), quantile(copy, 0.99)};
}

RunMeasurement measure_run(std::int64_t batch, std::span<const RequestTimes> times,
                           std::span<const std::int64_t> prompt_lengths) {
  if (times.size() != prompt_lengths.size() || times.empty())
    fail("measure_run: ", times.size(), " timings for ", prompt_lengths.size(), " prompts");
  RunMeasurement run;
  run.batch = batch;
  std::vector<double> ttft, tpot;
  double prefill_seconds = 0;
  for (std::size_t r = 0; r < times.size(); ++r) {
    const std::vector<double>& tokens = times[r].token_times;
    if (tokens.empty()) fail("measure_run: request ", r, " has no tokens");
    run.prompt_tokens += prompt_lengths[r];
    run.generated_tokens += std::ssize(tokens);
    run.wall_seconds = std::max(run.wall_seconds, tokens.back());
    prefill_seconds += tokens.front() - times[r].prefill_start;
    ttft.push_back(tokens.front());
    if (tokens.size() >= 2)
      tpot.push_back((tokens.back() - tokens.front()) / static_cast<double>(tokens.size() - 1));
  }
  run.throughput = run.wall_seconds > 0 ? run.generated_tokens / run.wall_seconds : 0;
  run.prefill_tokens_per_second = prefill_seconds > 0 ? run.prompt_tokens / prefill_seconds : 0;
  run.ttft_seconds = percentiles(ttft);
  if (!tpot.empty()) run.tpot_seconds = percentiles(tpot);
  return run;
}

}  // namespace llama4::challenge
