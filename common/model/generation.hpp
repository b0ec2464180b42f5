// Generating text: prefill the prompt, then sample one token at a time.
//
//   prefill   the whole prompt in one forward pass (matrix-matrix products, fast per token); its
//             last row of logits gives the first new token
//   decode    feed that token back, get the next logits, sample, repeat (one token per pass: every
//             weight is read from memory for a single token, so this phase is memory-bound)
//
// It stops at a stop token (Llama 4: <|end_of_text|>, <|eom|>, <|eot|>), after max_new_tokens, when
// the context is full, or when the caller's callback says so. The stop token itself is returned but
// not passed to the callback, and it has NOT been run through the model yet: a chat loop feeds it
// at the start of the next turn.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/model/inference_session.hpp"
#include "common/model/sampler.hpp"

namespace llama4 {

// Logits must be finite. A NaN or infinity in a weight (or an overflow on the way) spreads through
// every later stage, and sampling NaN logits quietly yields token 0 forever: "0 0 0 ..." or
// "perplexity nan", exit status 0. So every caller of forward() checks: an Error naming the first
// position (rows of `logits` [rows, V] are positions first_position, first_position + 1, ...) and,
// given the recorder of that forward pass, the first stage where a non-finite value appears.
void check_logits_are_finite(const Tensor& logits, std::int64_t first_position,
                             const ActivationRecorder* recorder = nullptr);

struct GenerationStats {
  std::int64_t prompt_tokens = 0;
  std::int64_t generated_tokens = 0;  // including a final stop token
  double prefill_seconds = 0;         // the prompt's forward pass
  double time_to_first_token = 0;     // prefill + sampling the first token
  double decode_seconds = 0;          // every later forward pass and sample

  double prefill_tokens_per_second() const {
    return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0;
  }
  double decode_tokens_per_second() const {
    return decode_seconds > 0 ? static_cast<double>(generated_tokens - 1) / decode_seconds : 0;
  }
};

enum class StopReason { stop_token, max_tokens, context_full, callback };

struct GenerationResult {
  std::vector<std::int32_t> tokens;  // the generated tokens (a stop token, if any, is the last)
  StopReason reason = StopReason::max_tokens;
  GenerationStats stats;
};

// Generates after `prompt` (which is prefilled from the session's current position). `history`
// holds the earlier tokens of the conversation for the repetition penalty. on_token is called with
// each generated non-stop token; returning false stops generation.
GenerationResult generate(InferenceSession& session, Sampler& sampler,
                          std::span<const std::int32_t> prompt, std::int64_t max_new_tokens,
                          std::span<const std::int32_t> stop_ids,
                          const std::function<bool(std::int32_t)>& on_token,
                          std::vector<std::int32_t> history = {});

// -log p(next | the text before), from one row of logits: log Σ exp(z) - z[next], computed
// stably around the largest logit. Used by perplexity() and the multiple-choice evaluation.
double negative_log_likelihood(std::span<const float> logits_row, std::int32_t next);

struct PerplexityResult {
  double perplexity = 0;
  double mean_negative_log_likelihood = 0;  // nats per predicted token
  std::int64_t predicted_tokens = 0;
};

// exp(mean over positions of -log p(token_{t+1} | tokens_0..t)). The text is cut into windows of at
// most the session's context length; each window starts from an empty cache. A context shorter
// than 2 tokens predicts nothing and is an Error (it used to print "-nan over 0 tokens").
PerplexityResult perplexity(InferenceSession& session, std::span<const std::int32_t> tokens);

}  // namespace llama4
