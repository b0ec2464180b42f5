#include "bench/challenge/accuracy_gate.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/model/generation.hpp"
#include "common/model/sampler.hpp"
#include "common/quantization/logit_agreement.hpp"
#include "common/tensors/error.hpp"

namespace llama4::challenge {
namespace {

std::span<const float> row(const Tensor& logits, std::int64_t t) {
  const auto width = static_cast<std::size_t>(logits.dim(1));
  return {logits.data<float>() + static_cast<std::size_t>(t) * width, width};
}

// The first of the first `n` new tokens where the engine differs from the reference.
std::optional<GreedyMismatch> greedy_mismatch(std::int64_t prompt,
                                              std::span<const std::int32_t> reference,
                                              std::span<const std::int32_t> engine,
                                              std::int64_t n) {
  const std::int64_t checked = std::min<std::int64_t>(n, std::ssize(reference));
  for (std::int64_t i = 0; i < checked; ++i) {
    const std::int32_t got = i < std::ssize(engine) ? engine[i] : -1;
    if (got != reference[i]) return GreedyMismatch{prompt, i, reference[i], got};
  }
  return std::nullopt;
}

template <typename... Parts>
std::string sentence(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace

AccuracyResult judge_accuracy(Engine& reference, Engine& engine, const Workload& workload,
                              const Outputs& reference_outputs,
                              std::span<const Outputs> engine_runs) {
  const std::size_t prompts = workload.prompts.size();
  if (reference_outputs.size() != prompts || engine_runs.empty())
    fail("judge_accuracy: ", prompts, " prompts but ", reference_outputs.size(),
         " reference outputs and ", engine_runs.size(), " runs");
  for (const Outputs& run : engine_runs) {
    if (run.size() != prompts) fail("judge_accuracy: a run has ", run.size(), " outputs");
  }
  const AccuracyBounds& bounds = workload.accuracy;
  AccuracyResult result;
  result.prompts = static_cast<std::int64_t>(prompts);

  std::vector<double> kl;
  std::int64_t same_top1 = 0, text_positions = 0;
  double reference_nll = 0, engine_nll = 0;
  for (std::size_t p = 0; p < prompts; ++p) {
    const std::vector<std::int32_t>& prompt = workload.prompts[p].ids;
    bool identical = true;
    for (const Outputs& run : engine_runs) {
      const auto mismatch = greedy_mismatch(static_cast<std::int64_t>(p), reference_outputs[p],
                                            run[p], bounds.identical_greedy_tokens);
      if (mismatch && !result.first_mismatch) result.first_mismatch = mismatch;
      identical = identical && !mismatch;
    }
    result.prompts_identical += identical;

    // Teacher forcing: the prompt and the reference's continuation but its last token.
    std::vector<std::int32_t> tokens = prompt;
    tokens.insert(tokens.end(), reference_outputs[p].begin(), reference_outputs[p].end() - 1);
    const Tensor expected = reference.logits(tokens);  // [T, V]
    const Tensor got = engine.logits(tokens);          // [T, V]
    check_logits_are_finite(got, 0);
    for (std::int64_t t = 0; t < std::ssize(tokens); ++t) {
      kl.push_back(kl_divergence(row(expected, t), row(got, t)));
      same_top1 += argmax(row(expected, t)) == argmax(row(got, t));
    }
    // Perplexity on the prompt's own text: position t predicts token t + 1.
    for (std::int64_t t = 0; t + 1 < std::ssize(prompt); ++t) {
      reference_nll += negative_log_likelihood(row(expected, t), prompt[t + 1]);
      engine_nll += negative_log_likelihood(row(got, t), prompt[t + 1]);
      ++text_positions;
    }
  }
  result.positions = std::ssize(kl);
  double sum = 0;
  for (const double value : kl) sum += value;
  result.mean_kl = sum / static_cast<double>(kl.size());
  result.p99_kl = quantile(kl, 0.99);
  result.max_kl = *std::max_element(kl.begin(), kl.end());
  result.top1_agreement = static_cast<double>(same_top1) / static_cast<double>(kl.size());
  if (text_positions > 0) {
    result.reference_perplexity = std::exp(reference_nll / static_cast<double>(text_positions));
    result.engine_perplexity = std::exp(engine_nll / static_cast<double>(text_positions));
  }

  if (result.first_mismatch) {
    const GreedyMismatch& m = *result.first_mismatch;
    result.failures.push_back(sentence(
        result.prompts - result.prompts_identical, " of ", result.prompts,
        " prompts differ from the reference within the first ", bounds.identical_greedy_tokens,
        " new tokens (first: prompt ", m.prompt, ", new token ", m.position, ": ",
        m.engine_token < 0 ? std::string("none") : std::to_string(m.engine_token),
        " where the reference has ", m.reference_token, ")"));
  }
  if (!(result.mean_kl <= bounds.max_mean_kl))
    result.failures.push_back(
        sentence("mean KL ", result.mean_kl, " nats is above the bound ", bounds.max_mean_kl));
  if (!(result.top1_agreement >= bounds.min_top1_agreement))
    result.failures.push_back(sentence("top-1 agreement ", result.top1_agreement,
                                       " is below the bound ", bounds.min_top1_agreement));
  if (text_positions > 0 &&
      !(result.engine_perplexity <= bounds.max_perplexity_ratio * result.reference_perplexity)) {
    result.failures.push_back(sentence("perplexity ", result.engine_perplexity, " is above ",
                                       bounds.max_perplexity_ratio, " x the reference's ",
                                       result.reference_perplexity));
  }
  result.passed = result.failures.empty();
  return result;
}

}  // namespace llama4::challenge
