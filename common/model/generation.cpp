#include "common/model/generation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/debugging/activation_dump.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::span<const float> row_of(const Tensor& logits, std::int64_t row) {
  const auto width = static_cast<std::size_t>(logits.dim(1));
  return {logits.data<float>() + static_cast<std::size_t>(row) * width, width};
}

}  // namespace

void check_logits_are_finite(const Tensor& logits, std::int64_t first_position,
                             const ActivationRecorder* recorder) {
  const float* values = logits.data<float>();
  const std::int64_t rows = logits.dim(0), width = logits.dim(1);
  for (std::int64_t row = 0; row < rows; ++row) {
    for (std::int64_t i = 0; i < width; ++i) {
      if (std::isfinite(values[row * width + i])) continue;
      std::string where;
      if (recorder != nullptr) {
        const std::string stage = first_non_finite_stage(*recorder);
        if (!stage.empty()) where = "; the first stage holding one is " + stage;
      }
      fail("the logits of position ", first_position + row, " are not finite (token ", i, ": ",
           values[row * width + i], "): the weights hold NaN or infinity, or the computation ",
           "overflowed", where);
    }
  }
}

GenerationResult generate(InferenceSession& session, Sampler& sampler,
                          std::span<const std::int32_t> prompt, std::int64_t max_new_tokens,
                          std::span<const std::int32_t> stop_ids,
                          const std::function<bool(std::int32_t)>& on_token,
                          std::vector<std::int32_t> history) {
  if (prompt.empty()) fail("the prompt is empty: there is nothing to continue");
  if (session.position() + static_cast<std::int64_t>(prompt.size()) > session.context_length()) {
    fail("the prompt (", prompt.size(), " tokens",
         session.position() > 0 ? " after the conversation so far" : "",
         ") does not fit the context of ", session.context_length(), " tokens; raise --ctx");
  }
  GenerationResult result;
  result.stats.prompt_tokens = static_cast<std::int64_t>(prompt.size());
  history.insert(history.end(), prompt.begin(), prompt.end());

  // [excerpt generation_loop]
  // Prefill: the whole prompt in one pass; only its last row of logits is needed.
  const auto start = std::chrono::steady_clock::now();
  Tensor logits = session.forward(prompt, LogitRows::last);
  result.stats.prefill_seconds = seconds_since(start);
  check_logits_are_finite(logits, session.position() - 1);

  std::chrono::steady_clock::time_point first_token_at;
  while (static_cast<std::int64_t>(result.tokens.size()) < max_new_tokens) {
    const std::int32_t token = sampler.sample(row_of(logits, 0), history);
    result.tokens.push_back(token);
    history.push_back(token);
    if (result.tokens.size() == 1) {
      first_token_at = std::chrono::steady_clock::now();
      result.stats.time_to_first_token = seconds_since(start);
    }
    if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
      result.reason = StopReason::stop_token;
      break;
    }
    if (on_token && !on_token(token)) {
      result.reason = StopReason::callback;
      break;
    }
    if (static_cast<std::int64_t>(result.tokens.size()) == max_new_tokens) break;
    if (session.position() >= session.context_length()) {
      result.reason = StopReason::context_full;
      break;
    }
    logits =
        session.forward(std::span(&result.tokens.back(), 1), LogitRows::last);  // decode one token
    check_logits_are_finite(logits, session.position() - 1);
  }
  // [end excerpt]
  result.stats.generated_tokens = static_cast<std::int64_t>(result.tokens.size());
  if (!result.tokens.empty()) result.stats.decode_seconds = seconds_since(first_token_at);
  return result;
}

double negative_log_likelihood(std::span<const float> logits_row, std::int32_t next) {
  // -log softmax(z)[next] = log Σ exp(z) - z[next]; subtracting the largest z first keeps every
  // exp() at most 1, so nothing overflows.
  const float max_logit = *std::max_element(logits_row.begin(), logits_row.end());
  double sum = 0;
  for (const float z : logits_row) sum += std::exp(static_cast<double>(z - max_logit));
  return std::log(sum) + max_logit - logits_row[static_cast<std::size_t>(next)];
}

PerplexityResult perplexity(InferenceSession& session, std::span<const std::int32_t> tokens) {
  if (tokens.size() < 2) fail("perplexity needs at least 2 tokens, got ", tokens.size());
  if (session.context_length() < 2) {
    fail("perplexity needs a context of at least 2 tokens (one to predict from, one to predict); ",
         "the context is ", session.context_length());
  }
  PerplexityResult result;
  double total = 0;
  const auto window = static_cast<std::size_t>(session.context_length());
  for (std::size_t begin = 0; begin + 1 < tokens.size(); begin += window) {
    const std::size_t end = std::min(tokens.size(), begin + window);
    session.reset();
    const Tensor logits =
        session.forward(tokens.subspan(begin, end - begin), LogitRows::all);  // [n, V]
    check_logits_are_finite(logits, static_cast<std::int64_t>(begin));
    for (std::size_t t = begin; t + 1 < end; ++t) {
      total += negative_log_likelihood(row_of(logits, static_cast<std::int64_t>(t - begin)),
                                       tokens[t + 1]);
      ++result.predicted_tokens;
    }
  }
  session.reset();
  result.mean_negative_log_likelihood = total / static_cast<double>(result.predicted_tokens);
  result.perplexity = std::exp(result.mean_negative_log_likelihood);
  return result;
}

}  // namespace llama4
