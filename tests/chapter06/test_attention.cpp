// Chapter 06: attention with GQA, RoPE + QK norm, chunked and global masks, and the KV cache.
// Each layer's attention runs on the golden input of that layer (its attn_norm), so a failure
// points at attention itself, not at an earlier stage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::GoldenModel;
using testing::matches_golden;

std::vector<float> frequencies_of(const GoldenModel& model) {
  return rope_inverse_frequencies(model.config.head_dim, model.config.rope_theta,
                                  model.config.rope_scaling);
}

// Runs `layer` over the golden input of `case_name` in calls of the given lengths, one cache.
ActivationRecorder run_in_calls(const GoldenModel& model, const AttentionLayer& layer,
                                std::int64_t index, const std::string& case_name,
                                const std::vector<std::int64_t>& call_lengths) {
  const Tensor x = model.golden(case_name, index, "attn_norm");
  LayerKVCache cache = layer.make_cache(64);
  ActivationRecorder recorder;
  std::int64_t start = 0;
  for (std::int64_t length : call_lengths) {
    layer.forward(x.slice(0, start, start + length), cache, &recorder);
    start += length;
  }
  EXPECT_EQ(start, x.dim(0));
  return recorder;
}

std::vector<std::int64_t> prefill_then_single_tokens(std::int64_t prefill, std::int64_t total) {
  std::vector<std::int64_t> calls = {prefill};
  for (std::int64_t t = prefill; t < total; ++t) calls.push_back(1);
  return calls;
}

class Attention : public ::testing::TestWithParam<const char*> {};

TEST_P(Attention, FullPrefillMatchesGoldenAtEveryStage) {
  const auto& model = golden_model(GetParam());
  const std::vector<float> frequencies = frequencies_of(model);
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    const AttentionLayer layer(model.config, l, model.checkpoint, model.names, frequencies);
    const ActivationRecorder recorder = run_in_calls(model, layer, l, "full", {24});
    for (const char* stage :
         {"q", "k", "v", "q_rope", "k_rope", "q_norm", "k_norm", "q_temperature"}) {
      if (!model.has_golden("full", l, stage)) continue;
      EXPECT_TRUE(matches_golden(recorder.concatenated("layers." + std::to_string(l) + "." + stage),
                                 model.golden("full", l, stage), tolerance::kProjection))
          << "layer " << l << " " << stage;
    }
    EXPECT_TRUE(matches_golden(recorder.last("layers." + std::to_string(l) + ".attn_probs"),
                               model.golden("full", l, "attn_probs"), tolerance::kProjection))
        << "layer " << l;
    EXPECT_TRUE(matches_golden(recorder.concatenated("layers." + std::to_string(l) + ".attn_out"),
                               model.golden("full", l, "attn_out"), tolerance::kProjection))
        << "layer " << l;
  }
}

// 24 tokens at once must equal a prefill of 10 then 14 single-token steps, at every position; the
// steps cross the chunk boundary at 16 (and the prefill the one at 8).
TEST_P(Attention, PrefillOf10Then14SingleTokenStepsEqualsFullSequence) {
  const auto& model = golden_model(GetParam());
  const std::vector<float> frequencies = frequencies_of(model);
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    const AttentionLayer layer(model.config, l, model.checkpoint, model.names, frequencies);
    const ActivationRecorder recorder =
        run_in_calls(model, layer, l, "decode", prefill_then_single_tokens(10, 24));
    const Tensor out = recorder.concatenated("layers." + std::to_string(l) + ".attn_out");
    EXPECT_TRUE(matches_golden(out, model.golden("decode", l, "attn_out"), tolerance::kProjection))
        << "layer " << l;
    EXPECT_TRUE(matches_golden(out, model.golden("full", l, "attn_out"), tolerance::kProjection))
        << "layer " << l;
    EXPECT_TRUE(
        matches_golden(recorder.concatenated("layers." + std::to_string(l) + ".attn_context"),
                       model.golden("decode", l, "attn_context"), tolerance::kProjection))
        << "layer " << l;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Attention, ::testing::Values("tiny", "tiny-maverick"));

// A second multi-token prefill, 7 tokens at offset 5 (Meta's reference cannot run this at all).
TEST(Attention, SecondPrefillAtOffset5) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = frequencies_of(model);
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    const AttentionLayer layer(model.config, l, model.checkpoint, model.names, frequencies);
    const ActivationRecorder recorder = run_in_calls(model, layer, l, "offset", {5, 7});
    EXPECT_TRUE(matches_golden(recorder.concatenated("layers." + std::to_string(l) + ".attn_out"),
                               model.golden("offset", l, "attn_out"), tolerance::kProjection))
        << "layer " << l;
    // The second call's probabilities: [heads, 7, 12], with everything outside the mask exactly 0.
    EXPECT_TRUE(matches_golden(recorder.last("layers." + std::to_string(l) + ".attn_probs"),
                               model.golden("offset", l, "attn_probs"), tolerance::kProjection))
        << "layer " << l;
  }
}

// With the cache, step t attends to cached keys; without it, the whole prefix 0..t is recomputed
// from scratch. The last row must be the same.
TEST(Attention, CacheAndNoCacheGiveTheSameOutputs) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = frequencies_of(model);
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    const AttentionLayer layer(model.config, l, model.checkpoint, model.names, frequencies);
    const Tensor x = model.golden("full", l, "attn_norm");
    LayerKVCache cache = layer.make_cache(64);
    for (std::int64_t t = 0; t < x.dim(0); ++t) {
      const Tensor with_cache = layer.forward(x.slice(0, t, t + 1), cache);
      LayerKVCache fresh = layer.make_cache(64);
      const Tensor without_cache = layer.forward(x.slice(0, 0, t + 1), fresh).slice(0, t, t + 1);
      ASSERT_TRUE(matches_golden(with_cache, without_cache, {1e-6, 1e-6}))
          << "layer " << l << " position " << t;
    }
  }
}

// Position 8 starts the second chunk (C = 8): on a chunked layer it sees only itself; on the global
// NoPE layer it sees positions 0..8. Row 15 (the chunk's last) sees 8..15.
TEST(Attention, ChunkBoundaryResetsWhatAQuerySees) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = frequencies_of(model);
  const auto visible = [](const Tensor& probabilities, std::int64_t head, std::int64_t row) {
    std::vector<std::int64_t> keys;
    for (std::int64_t j = 0; j < probabilities.dim(2); ++j) {
      if (probabilities.at({head, row, j}) != 0.0f) keys.push_back(j);
    }
    return keys;
  };
  const AttentionLayer chunked(model.config, 0, model.checkpoint, model.names, frequencies);
  const AttentionLayer global(model.config, 3, model.checkpoint, model.names, frequencies);
  const Tensor chunked_probs =
      run_in_calls(model, chunked, 0, "full", {24}).last("layers.0.attn_probs");
  const Tensor global_probs =
      run_in_calls(model, global, 3, "full", {24}).last("layers.3.attn_probs");
  EXPECT_EQ(visible(chunked_probs, 0, 8), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(visible(chunked_probs, 2, 15),
            (std::vector<std::int64_t>{8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(visible(global_probs, 0, 8).size(), 9u);
  EXPECT_FLOAT_EQ(chunked_probs.at({1, 8, 8}), 1.0f);
}

// A sliding window of 8 (the common mistake) would let position 9 see 2..9; the chunk lets it
// see 8..9.
TEST(Attention, ChunkIsNotASlidingWindow) {
  const auto& model = golden_model("tiny");
  const Tensor golden = model.golden("full", 0, "attn_probs");
  for (std::int64_t j = 0; j < 8; ++j) EXPECT_EQ(golden.at({0, 9, j}), 0.0f) << "key " << j;
  EXPECT_GT(golden.at({0, 9, 8}), 0.0f);
}

TEST(KVCache, ChunkedLayersKeepOneChunkGlobalLayersKeepEverything) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = frequencies_of(model);
  EXPECT_EQ(AttentionLayer(model.config, 0, model.checkpoint, model.names, frequencies)
                .make_cache(128)
                .slots(),
            8);
  EXPECT_EQ(AttentionLayer(model.config, 3, model.checkpoint, model.names, frequencies)
                .make_cache(128)
                .slots(),
            128);
}

TEST(KVCache, RingOverwritesThePreviousChunk) {
  LayerKVCache cache(1, 2, 100, 4);
  for (int p = 0; p < 6; ++p) {
    const float row[2] = {static_cast<float>(p), static_cast<float>(-p)};
    cache.append(p, row, row);
  }
  EXPECT_EQ(cache.first_visible(5), 4);
  EXPECT_EQ(cache.keys(0, 4, 5)[0], 4.0f);
  EXPECT_EQ(cache.keys(0, 4, 5)[2], 5.0f);
  EXPECT_EQ(cache.keys(0, 2, 3)[0], 2.0f);  // still in the ring: slots 2, 3 not overwritten yet
  EXPECT_THAT([&] { cache.keys(0, 1, 1); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("not all in the cache")));
  EXPECT_THAT([&] { cache.keys(0, 3, 4); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("cross a chunk boundary")));
}

// Head-major: each kv head's keys for a run of positions are contiguous, [positions, head_dim],
// although append() takes them as the projections make them, [kv_heads, head_dim] per position.
TEST(KVCache, EachKvHeadsKeysAreOneContiguousRun) {
  constexpr std::int64_t kKvHeads = 3, kHeadDim = 2, kPositions = 5;
  LayerKVCache cache(kKvHeads, kHeadDim, 8, std::nullopt);
  const auto key_of = [](std::int64_t p, std::int64_t h, std::int64_t d) {
    return static_cast<float>(100 * p + 10 * h + d);
  };
  for (std::int64_t p = 0; p < kPositions; ++p) {
    float key[kKvHeads * kHeadDim], value[kKvHeads * kHeadDim];
    for (std::int64_t h = 0; h < kKvHeads; ++h) {
      for (std::int64_t d = 0; d < kHeadDim; ++d) {
        key[h * kHeadDim + d] = key_of(p, h, d);
        value[h * kHeadDim + d] = -key_of(p, h, d);
      }
    }
    cache.append(p, key, value);
  }
  for (std::int64_t h = 0; h < kKvHeads; ++h) {
    const float* keys = cache.keys(h, 1, 4);  // [4, kHeadDim]
    const float* values = cache.values(h, 1, 4);
    for (std::int64_t j = 0; j < 4; ++j) {
      for (std::int64_t d = 0; d < kHeadDim; ++d) {
        EXPECT_EQ(keys[j * kHeadDim + d], key_of(1 + j, h, d)) << "head " << h << " key " << j;
        EXPECT_EQ(values[j * kHeadDim + d], -key_of(1 + j, h, d)) << "head " << h << " value " << j;
      }
    }
  }
  EXPECT_THAT([&] { cache.keys(3, 0, 1); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("kv head 3 does not exist")));
}

TEST(KVCache, PositionsMustArriveInOrderAndFit) {
  LayerKVCache cache(1, 2, 3, std::nullopt);
  const float row[2] = {1, 2};
  EXPECT_THAT(
      [&] { cache.append(1, row, row); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("expected position 0 next, got 1")));
  for (int p = 0; p < 3; ++p) cache.append(p, row, row);
  EXPECT_THAT([&] { cache.append(3, row, row); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("past the context length 3")));
}

TEST(Attention, WeightsThatDisagreeWithTheConfigAreAnError) {
  const auto& model = golden_model("tiny");
  ModelConfig wrong = model.config;
  wrong.num_key_value_heads = 4;  // the checkpoint has 2
  const std::vector<float> frequencies = frequencies_of(model);
  EXPECT_THAT(
      [&] { AttentionLayer(wrong, 0, model.checkpoint, model.names, frequencies); },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("self_attn.k_proj.weight\" in")));
}

}  // namespace
}  // namespace llama4
