// Batched decode and continuous batching (common/model/batched_generation.hpp) against the same
// sequences run one at a time through Model::forward, on the trained model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/model/batched_generation.hpp"
#include "common/model/model.hpp"
#include "common/model/sampler.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;

const Model& trained_model() {
  static const Model model = Model::load(trained_model_dir());
  return model;
}

// Three prompts of different lengths (ids of the trained model's vocabulary).
std::vector<std::vector<std::int32_t>> prompts() {
  return {{6144 - 2048, 300, 41, 1020, 77},
          {6144 - 2048, 12, 900},
          {6144 - 2048, 5, 6, 7, 8, 9, 10, 11, 12}};
}

std::int32_t greedy(const Tensor& logits, std::int64_t row) {
  const std::int64_t vocab = logits.dim(1);
  return argmax({logits.data<float>() + row * vocab, static_cast<std::size_t>(vocab)});
}

// The same sequence alone, greedily: prefill, then one token at a time.
std::vector<std::int32_t> generate_alone(const std::vector<std::int32_t>& prompt,
                                         std::int64_t count) {
  const Model& model = trained_model();
  KVCache cache = model.make_cache(64);
  std::vector<std::int32_t> out = {greedy(model.forward(prompt, cache, LogitRows::last), 0)};
  while (static_cast<std::int64_t>(out.size()) < count) {
    out.push_back(greedy(model.forward(std::span(&out.back(), 1), cache, LogitRows::last), 0));
  }
  return out;
}

TEST(BatchedDecode, EachSequencesLogitsEqualTheSequenceRunAlone) {
  const Model& model = trained_model();
  std::vector<KVCache> batched, alone;
  std::vector<std::int32_t> next;
  for (const std::vector<std::int32_t>& prompt : prompts()) {
    batched.push_back(model.make_cache(64));
    alone.push_back(model.make_cache(64));
    next.push_back(greedy(model.forward(prompt, batched.back(), LogitRows::last), 0));
    model.forward(prompt, alone.back(), LogitRows::last);
  }
  std::vector<KVCache*> caches;
  for (KVCache& cache : batched) caches.push_back(&cache);
  for (int step = 0; step < 6; ++step) {  // the sequences are at positions 5, 3 and 9 onwards
    const Tensor logits = model.forward_batch(next, caches);  // [3, V]
    for (std::size_t b = 0; b < next.size(); ++b) {
      const Tensor single = model.forward(std::span(&next[b], 1), alone[b], LogitRows::last);
      for (std::int64_t v = 0; v < single.dim(1); ++v) {
        const float expected = single.at({0, v});
        ASSERT_NEAR(logits.at({static_cast<std::int64_t>(b), v}), expected,
                    1e-4f * (1.0f + std::fabs(expected)))
            << "step " << step << " sequence " << b << " token " << v;
      }
      next[b] = greedy(logits, static_cast<std::int64_t>(b));
      ASSERT_EQ(next[b], greedy(single, 0)) << "step " << step << " sequence " << b;
    }
  }
}

// Five requests through two slots: slots are refilled as sequences finish (after 2, 7, 4, 1 and 5
// tokens), and every request's tokens equal its generation alone.
TEST(BatchedGeneration, ContinuousBatchingGivesEachRequestItsTokensAlone) {
  const std::vector<std::vector<std::int32_t>> p = prompts();
  const std::vector<GenerationRequest> requests = {
      {p[0], 2}, {p[1], 7}, {p[2], 4}, {p[1], 1}, {p[0], 5}};
  const std::vector<std::vector<std::int32_t>> outputs =
      generate_batched(trained_model(), requests, 2, 64);
  ASSERT_EQ(outputs.size(), requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    EXPECT_EQ(outputs[r], generate_alone(requests[r].prompt, requests[r].max_new_tokens))
        << "request " << r;
  }
}

// Whether a sequence decodes alone, beside one that stops early, or beside others that come and
// go, its tokens are the same.
TEST(BatchedGeneration, AFinishedSequenceNeverAffectsTheOthers) {
  const std::vector<std::vector<std::int32_t>> p = prompts();
  const std::vector<std::int32_t> alone =
      generate_batched(trained_model(), std::vector<GenerationRequest>{{p[2], 8}}, 1, 64).front();
  const std::vector<std::vector<std::int32_t>> crowded = generate_batched(
      trained_model(), std::vector<GenerationRequest>{{p[2], 8}, {p[0], 1}, {p[1], 3}, {p[0], 2}},
      3, 64);
  EXPECT_EQ(crowded.front(), alone);
}

TEST(BatchedGeneration, AStopIdEndsASequenceAndIsKept) {
  const std::vector<std::int32_t> free = generate_alone(prompts()[1], 6);
  const std::vector<std::int32_t> stop = {free[2]};
  const std::vector<std::vector<std::int32_t>> outputs = generate_batched(
      trained_model(), std::vector<GenerationRequest>{{prompts()[1], 6}}, 1, 64, stop);
  const auto first = std::find(free.begin(), free.end(), free[2]);
  EXPECT_EQ(outputs.front(), std::vector<std::int32_t>(free.begin(), first + 1));
}

TEST(BatchedGeneration, BadRequestsAreErrorsNamingTheRequest) {
  const Model& model = trained_model();
  const std::vector<std::int32_t> long_prompt(60, 5);
  EXPECT_THAT(
      [&] {
        generate_batched(model, std::vector<GenerationRequest>{{{5}, 2}, {long_prompt, 10}}, 2, 64);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("request 1: 60 prompt tokens and 10 new")));
  EXPECT_THAT(
      [&] {
        generate_batched(model, std::vector<GenerationRequest>{{{}, 2}}, 2, 64);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("request 0: the prompt is empty")));
  EXPECT_THAT(
      [&] {
        generate_batched(model, std::vector<GenerationRequest>{{{5}, 2}}, 0, 64);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("at least 1 sequence")));
  KVCache cache = model.make_cache(8);
  KVCache* caches[] = {&cache};
  const std::int32_t token = 5;
  EXPECT_THAT([&] { model.forward_batch(std::span(&token, 1), std::span<KVCache* const>()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("1 tokens but 0 caches")));
  const std::int32_t outside = 6144;
  EXPECT_THROW(model.forward_batch(std::span(&outside, 1), caches), Error);
}

}  // namespace
}  // namespace llama4
