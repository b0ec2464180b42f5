#include "common/model/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/tensors/error.hpp"

namespace llama4 {

std::int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) fail("argmax of an empty logit vector");
  // Ties go to the lowest id, like torch.argmax.
  return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void apply_repetition_penalty(std::span<float> logits, std::span<const std::int32_t> history,
                              float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<std::int32_t> seen;  // each token is penalised once, however often it occurred
  for (std::int32_t id : history) {
    if (id < 0 || static_cast<std::size_t>(id) >= logits.size() || !seen.insert(id).second)
      continue;
    float& logit = logits[static_cast<std::size_t>(id)];
    logit = logit > 0 ? logit / penalty : logit * penalty;
  }
}

std::vector<Candidate> sorted_probabilities(std::span<const float> logits, float temperature) {
  if (!(temperature > 0)) fail("sampling temperature must be positive, got ", temperature);
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  std::vector<Candidate> candidates(logits.size());
  double total = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const float p = std::exp((logits[i] - max_logit) / temperature);
    candidates[i] = {static_cast<std::int32_t>(i), p};
    total += p;
  }
  for (Candidate& c : candidates) c.probability = static_cast<float>(c.probability / total);
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.probability > b.probability; });
  return candidates;
}

void keep_top_k(std::vector<Candidate>& candidates, std::int64_t k) {
  if (k > 0 && static_cast<std::size_t>(k) < candidates.size())
    candidates.resize(static_cast<std::size_t>(k));
}

void keep_top_p(std::vector<Candidate>& candidates, float p) {
  if (p >= 1.0f) return;
  double mass = 0;
  std::size_t keep = 0;
  while (keep < candidates.size()) {
    mass += candidates[keep++].probability;
    if (mass >= p) break;  // the smallest prefix whose mass reaches p (always at least one token)
  }
  candidates.resize(keep);
}

void keep_min_p(std::vector<Candidate>& candidates, float min_p) {
  if (min_p <= 0.0f || candidates.empty()) return;
  const float threshold = min_p * candidates.front().probability;  // sorted: front is the max
  std::size_t keep = 1;
  while (keep < candidates.size() && candidates[keep].probability >= threshold) ++keep;
  candidates.resize(keep);
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), state_(options.seed) {
  if (!(options.temperature >= 0 && std::isfinite(options.temperature)))
    fail("temperature must be a finite number >= 0, got ", options.temperature);
  if (options.top_k < 0) fail("top-k must be >= 0, got ", options.top_k);
  if (!(options.top_p > 0 && options.top_p <= 1))
    fail("top-p must be in (0, 1], got ", options.top_p);
  if (!(options.min_p >= 0 && options.min_p < 1))
    fail("min-p must be in [0, 1), got ", options.min_p);
  if (!(options.repetition_penalty > 0 && std::isfinite(options.repetition_penalty)))
    fail("repetition penalty must be a finite positive number, got ", options.repetition_penalty);
}

double Sampler::next_uniform() {
  // splitmix64: a tiny, well-mixed generator with a fixed definition.
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::int32_t Sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history) {
  scratch_.assign(logits.begin(), logits.end());
  apply_repetition_penalty(scratch_, history, options_.repetition_penalty);
  if (options_.temperature == 0.0f) return argmax(scratch_);

  std::vector<Candidate> candidates = sorted_probabilities(scratch_, options_.temperature);
  keep_top_k(candidates, options_.top_k);
  keep_top_p(candidates, options_.top_p);
  keep_min_p(candidates, options_.min_p);

  double mass = 0;
  for (const Candidate& c : candidates) mass += c.probability;
  const double target = next_uniform() * mass;  // draw from the kept tokens, renormalised
  double running = 0;
  for (const Candidate& c : candidates) {
    running += c.probability;
    if (target < running) return c.id;
  }
  return candidates.back().id;  // rounding left target just above the total
}

}  // namespace llama4
