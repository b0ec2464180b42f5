// How close a variant of a model (quantized, say) stays to the original: teacher forcing over a
// text, position by position (chapter 12).
//
// Both models read the same tokens; at every position we compare their next-token distributions
// P (the reference) and Q (the variant):
//   KL(P || Q) = Σ_v P(v) · (log P(v) - log Q(v))   nats: 0 when the distributions are equal. The
//                mean says how far the variant is on average, the 99th percentile how far it goes
//                on the positions it gets most wrong (a mean can hide a few bad ones).
//   top-1      the share of positions where both put the same token first: what greedy decoding
//              would see.
//   perplexity exp(mean -log Q(actual next token)) for each: the cost in prediction quality. It can
//              even improve by chance; KL cannot.
// The same figures llama.cpp's perplexity tool prints with --kl-divergence, so they compare.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/model/inference_session.hpp"

namespace llama4 {

struct LogitAgreement {
  double mean_kl = 0;  // nats
  double p99_kl = 0;   // 99th percentile over positions
  double max_kl = 0;
  double top1_agreement = 0;  // 0..1
  double reference_perplexity = 0;
  double variant_perplexity = 0;
  std::int64_t positions = 0;
};

// KL(P || Q) of the softmaxes of two rows of logits, in double precision.
double kl_divergence(std::span<const float> reference_logits,
                     std::span<const float> variant_logits);

// The q-th quantile (0..1) of `values`, linear between the two nearest ranks (numpy's default).
double quantile(std::vector<double> values, double q);

// Runs `reference` and each of `variants` over `tokens` in windows of the reference's context
// length (each window from an empty cache; every session must hold that many tokens) and compares
// them position by position. One result per variant.
std::vector<LogitAgreement> compare_logits(InferenceSession& reference,
                                           std::span<InferenceSession* const> variants,
                                           std::span<const std::int32_t> tokens);

}  // namespace llama4
