// Choosing the next token from the logits.
//
// The model gives one logit z_i per vocabulary entry; softmax turns them into probabilities
// p_i = exp(z_i / T) / Σ_j exp(z_j / T) at temperature T. Then, in this order (Hugging Face's):
//
//   repetition penalty  each token already in the sequence has its logit divided by the penalty if
//                       positive, multiplied if negative (so it always becomes less likely)
//   temperature T       T < 1 sharpens the distribution, T > 1 flattens it; T = 0 means greedy:
//                       always the single most likely token
//   top-k               keep only the k most likely tokens
//   top-p (nucleus)     keep the most likely tokens until their probabilities sum to at least p
//   min-p               keep tokens with p_i >= min_p · max_j p_j
//
// and draw one token from what is left, renormalised. The random numbers come from our own
// splitmix64 generator, so a --seed gives the same text on every machine and compiler (the C++
// standard fixes std::mt19937 but not the distributions built on it).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace llama4 {

struct SamplingOptions {
  float temperature = 0.0f;         // 0: greedy
  std::int64_t top_k = 0;           // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off
  std::uint64_t seed = 0;
};

// A token and its probability, for the filtering steps.
struct Candidate {
  std::int32_t id;
  float probability;
};

// The pieces, exposed so each can be tested against its definition.
std::int32_t argmax(std::span<const float> logits);
void apply_repetition_penalty(std::span<float> logits, std::span<const std::int32_t> history,
                              float penalty);
// softmax(logits / temperature), sorted most likely first.
std::vector<Candidate> sorted_probabilities(std::span<const float> logits, float temperature);
void keep_top_k(std::vector<Candidate>& candidates, std::int64_t k);
void keep_top_p(std::vector<Candidate>& candidates, float p);
void keep_min_p(std::vector<Candidate>& candidates, float min_p);

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);

  // The next token for `logits` ([V]) given the tokens so far (for the repetition penalty).
  std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);

  const SamplingOptions& options() const { return options_; }
  // A uniform number in [0, 1), 53 random bits.
  double next_uniform();

 private:
  SamplingOptions options_;
  std::uint64_t state_;
  std::vector<float> scratch_;
};

}  // namespace llama4
