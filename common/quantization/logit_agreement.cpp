#include "common/quantization/logit_agreement.hpp"

#include <algorithm>
#include <cmath>

#include "common/model/generation.hpp"
#include "common/model/sampler.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// log softmax(logits) in double: logits - max - log Σ exp(logits - max).
std::vector<double> log_softmax(std::span<const float> logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const float value : logits) sum += std::exp(value - max);
  const double shift = max + std::log(sum);
  std::vector<double> result(logits.size());
  for (std::size_t v = 0; v < logits.size(); ++v) result[v] = logits[v] - shift;
  return result;
}

std::span<const float> row(const Tensor& logits, std::int64_t r) {
  const std::int64_t vocab = logits.dim(1);
  return {logits.data<float>() + r * vocab, static_cast<std::size_t>(vocab)};
}

}  // namespace

double kl_divergence(std::span<const float> reference_logits,
                     std::span<const float> variant_logits) {
  if (reference_logits.size() != variant_logits.size())
    fail("kl_divergence: rows of ", reference_logits.size(), " and ", variant_logits.size(),
         " logits");
  const std::vector<double> log_p = log_softmax(reference_logits);
  const std::vector<double> log_q = log_softmax(variant_logits);
  double kl = 0;
  for (std::size_t v = 0; v < log_p.size(); ++v) kl += std::exp(log_p[v]) * (log_p[v] - log_q[v]);
  return std::max(kl, 0.0);  // rounding can leave -1e-17 where the rows are equal
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) fail("quantile of no values");
  std::sort(values.begin(), values.end());
  const double rank = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(rank));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (rank - static_cast<double>(below)) * (values[above] - values[below]);
}

std::vector<LogitAgreement> compare_logits(InferenceSession& reference,
                                           std::span<InferenceSession* const> variants,
                                           std::span<const std::int32_t> tokens) {
  if (tokens.size() < 2) fail("comparing logits needs at least 2 tokens, got ", tokens.size());
  const auto window = static_cast<std::size_t>(reference.context_length());
  std::vector<std::vector<double>> kl(variants.size());
  std::vector<std::int64_t> agree(variants.size(), 0);
  std::vector<double> variant_nll(variants.size(), 0.0);
  double reference_nll = 0;
  std::int64_t predicted = 0;
  for (std::size_t begin = 0; begin + 1 < tokens.size(); begin += window) {
    const std::span<const std::int32_t> part =
        tokens.subspan(begin, std::min(window, tokens.size() - begin));
    reference.reset();
    const Tensor p = reference.forward(part, LogitRows::all);  // [n, V]
    check_logits_are_finite(p, static_cast<std::int64_t>(begin));
    for (std::size_t t = 0; t + 1 < part.size(); ++t)
      reference_nll += negative_log_likelihood(row(p, static_cast<std::int64_t>(t)), part[t + 1]);
    predicted += static_cast<std::int64_t>(part.size()) - 1;
    for (std::size_t i = 0; i < variants.size(); ++i) {
      variants[i]->reset();
      const Tensor q = variants[i]->forward(part, LogitRows::all);
      check_logits_are_finite(q, static_cast<std::int64_t>(begin));
      for (std::size_t t = 0; t + 1 < part.size(); ++t) {  // the positions that predict a token
        const auto r = static_cast<std::int64_t>(t);
        kl[i].push_back(kl_divergence(row(p, r), row(q, r)));
        agree[i] += argmax(row(p, r)) == argmax(row(q, r)) ? 1 : 0;
        variant_nll[i] += negative_log_likelihood(row(q, r), part[t + 1]);
      }
    }
  }
  reference.reset();
  std::vector<LogitAgreement> results;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    variants[i]->reset();
    LogitAgreement result;
    result.positions = predicted;
    double sum = 0;
    for (const double value : kl[i]) sum += value;
    result.mean_kl = sum / static_cast<double>(predicted);
    result.p99_kl = quantile(kl[i], 0.99);
    result.max_kl = *std::max_element(kl[i].begin(), kl[i].end());
    result.top1_agreement = static_cast<double>(agree[i]) / static_cast<double>(predicted);
    result.reference_perplexity = std::exp(reference_nll / static_cast<double>(predicted));
    result.variant_perplexity = std::exp(variant_nll[i] / static_cast<double>(predicted));
    results.push_back(result);
  }
  return results;
}

}  // namespace llama4
