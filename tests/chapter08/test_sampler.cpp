// Chapter 08: each sampling method obeys its definition, and a seed makes sampling reproducible.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "common/model/sampler.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

std::vector<float> random_logits(std::size_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(count);
  for (float& z : logits) z = normal(generator);
  return logits;
}

std::vector<std::int32_t> best_ids(const std::vector<float>& logits, std::size_t k) {
  std::vector<std::int32_t> ids(logits.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i);
  std::sort(ids.begin(), ids.end(),
            [&](std::int32_t a, std::int32_t b) { return logits[a] > logits[b]; });
  ids.resize(k);
  return ids;
}

TEST(Sampler, TemperatureZeroIsGreedy) {
  const std::vector<float> logits = random_logits(1000, 1);
  Sampler sampler({.temperature = 0.0f, .seed = 99});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sampler.sample(logits, {}), best_ids(logits, 1)[0]);
}

TEST(Sampler, SameSeedGivesTheSameTokensDifferentSeedsDoNot) {
  const std::vector<float> logits = random_logits(500, 2);
  const auto draw = [&](std::uint64_t seed) {
    Sampler sampler({.temperature = 1.0f, .seed = seed});
    std::vector<std::int32_t> tokens;
    for (int i = 0; i < 200; ++i) tokens.push_back(sampler.sample(logits, {}));
    return tokens;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, TopKNeverPicksOutsideTheKBest) {
  const std::vector<float> logits = random_logits(2000, 3);
  const std::vector<std::int32_t> best = best_ids(logits, 5);
  Sampler sampler({.temperature = 1.5f, .top_k = 5, .seed = 1});
  std::set<std::int32_t> seen;
  for (int i = 0; i < 3000; ++i) {
    const std::int32_t id = sampler.sample(logits, {});
    ASSERT_NE(std::find(best.begin(), best.end(), id), best.end()) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 5u);  // at temperature 1.5 all five get drawn
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  const auto kept = [](float p) {
    std::vector<Candidate> candidates = {{0, 0.5f}, {1, 0.3f}, {2, 0.15f}, {3, 0.05f}};
    keep_top_p(candidates, p);
    return candidates.size();
  };
  EXPECT_EQ(kept(0.4f), 1u);
  EXPECT_EQ(kept(0.7f), 2u);
  EXPECT_EQ(kept(0.79f), 2u);
  EXPECT_EQ(kept(0.81f), 3u);
  EXPECT_EQ(kept(0.999f), 4u);
  EXPECT_EQ(kept(1.0f), 4u);
}

TEST(Sampler, TopPSamplingStaysInTheNucleus) {
  // log-probabilities of 0.6, 0.3, 0.06, 0.04: the 0.85 nucleus is {0, 1}.
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.06f),
                                     std::log(0.04f)};
  Sampler sampler({.temperature = 1.0f, .top_p = 0.85f, .seed = 3});
  int first = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::int32_t id = sampler.sample(logits, {});
    ASSERT_LE(id, 1);
    first += id == 0;
  }
  // Renormalised: P(0) = 0.6 / 0.9 = 2/3; 4000 draws give a standard deviation of 0.0075.
  EXPECT_NEAR(first / 4000.0, 2.0 / 3.0, 0.03);
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheBest) {
  std::vector<Candidate> candidates = {{0, 0.6f}, {1, 0.25f}, {2, 0.1f}, {3, 0.05f}};
  keep_min_p(candidates, 0.2f);  // threshold 0.12
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[1].id, 1);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  const std::vector<float> logits = {std::log(0.25f), std::log(0.75f)};
  Sampler sampler({.temperature = 1.0f, .seed = 11});
  int ones = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ones += sampler.sample(logits, {});
  EXPECT_NEAR(ones / static_cast<double>(draws), 0.75, 4 * std::sqrt(0.75 * 0.25 / draws));
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  const float cold = sorted_probabilities(logits, 0.5f)[0].probability;
  const float plain = sorted_probabilities(logits, 1.0f)[0].probability;
  const float hot = sorted_probabilities(logits, 2.0f)[0].probability;
  EXPECT_GT(cold, plain);
  EXPECT_GT(plain, hot);
  EXPECT_NEAR(plain, std::exp(2.0f) / (std::exp(2.0f) + std::exp(1.0f) + 1.0f), 1e-6);
}

TEST(Sampler, RepetitionPenaltyMakesSeenTokensLessLikelyOnce) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f};
  apply_repetition_penalty(logits, std::vector<std::int32_t>{0, 1, 0, 0}, 2.0f);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);   // positive: divided, once even though it appeared 3 times
  EXPECT_FLOAT_EQ(logits[1], -4.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(logits[2], 1.0f);   // unseen: unchanged
}

TEST(Sampler, PenaltyChangesTheGreedyChoice) {
  const std::vector<float> logits = {3.0f, 2.0f};
  Sampler sampler({.temperature = 0.0f, .repetition_penalty = 2.0f});
  EXPECT_EQ(sampler.sample(logits, std::vector<std::int32_t>{0}), 1);
}

TEST(Sampler, ImpossibleOptionsAreErrors) {
  using ::testing::HasSubstr;
  EXPECT_THAT([] { Sampler({.temperature = -1.0f}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("temperature")));
  EXPECT_THAT([] { Sampler({.top_p = 0.0f}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("top-p")));
  EXPECT_THAT([] { Sampler({.min_p = 1.5f}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("min-p")));
  EXPECT_THAT([] { Sampler({.top_k = -2}); }, ::testing::ThrowsMessage<Error>(HasSubstr("top-k")));
  EXPECT_THAT([] { Sampler({.repetition_penalty = 0.0f}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("penalty")));
}

}  // namespace
}  // namespace llama4
