// Chapter 05: RoPE (inverse frequencies with llama3 scaling, adjacent-pair rotation, positions with
// an offset) and the attention temperature of NoPE layers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/layers/attention_temperature.hpp"
#include "common/layers/rope.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::matches_golden;

Tensor as_tensor(const std::vector<float>& values) {
  return Tensor::from_values({static_cast<std::int64_t>(values.size())}, values);
}

// The real Scout table: head_dim 128, theta 500000, factor 16, low = high = 1, original 8192.
TEST(Rope, ScoutTableKeepsPairs0To34AndDividesPairs35To63By16) {
  const RopeScaling scout{16.0, 1.0, 1.0, 8192, {}};
  const std::vector<float> plain = rope_inverse_frequencies(128, 500000.0, std::nullopt);
  const std::vector<float> scaled = rope_inverse_frequencies(128, 500000.0, scout);
  ASSERT_EQ(scaled.size(), 64u);
  for (std::size_t i = 0; i < 64; ++i) {
    ASSERT_FALSE(std::isnan(scaled[i])) << "pair " << i << ": the empty blend band divided by zero";
    if (i <= 34) {
      EXPECT_EQ(scaled[i], plain[i]) << "pair " << i;
    } else {
      EXPECT_FLOAT_EQ(scaled[i], plain[i] / 16.0f) << "pair " << i;
    }
  }
  EXPECT_TRUE(matches_golden(as_tensor(scaled),
                             testing::golden_activations("tiny").tensor("tables.scout_inv_freq"),
                             tolerance::kElementwise));
}

// The tiny model's scaling (16, 1, 4, 64) puts pairs in all three bands.
TEST(Rope, TinyTableCoversAllThreeBands) {
  const auto& golden = testing::golden_activations("tiny");
  const auto& config = golden_model("tiny").config;
  const std::vector<float> scaled =
      rope_inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling);
  const std::vector<float> plain =
      rope_inverse_frequencies(config.head_dim, config.rope_theta, std::nullopt);
  EXPECT_TRUE(matches_golden(as_tensor(scaled), golden.tensor("tables.tiny_inv_freq"),
                             tolerance::kElementwise));
  EXPECT_TRUE(matches_golden(as_tensor(plain), golden.tensor("tables.tiny_inv_freq_unscaled"),
                             tolerance::kElementwise));
  EXPECT_EQ(scaled[0], 1.0f);                    // fast pair: kept
  EXPECT_NEAR(scaled[1], 0.239253f, 1e-6);       // blended
  EXPECT_NEAR(scaled[2], 0.00683099f, 1e-8);     // blended, mostly divided
  EXPECT_FLOAT_EQ(scaled[7], plain[7] / 16.0f);  // slow pair: divided
}

TEST(Rope, RotationMatchesGoldenOnRopeLayers) {
  for (const char* name : {"tiny", "tiny-maverick"}) {
    const auto& model = golden_model(name);
    const std::vector<float> frequencies = rope_inverse_frequencies(
        model.config.head_dim, model.config.rope_theta, model.config.rope_scaling);
    for (std::int64_t layer = 0; layer < model.config.num_hidden_layers; ++layer) {
      if (!model.config.layers[static_cast<std::size_t>(layer)].uses_rope) {
        EXPECT_FALSE(model.has_golden("full", layer, "q_rope")) << "layer " << layer << " is NoPE";
        continue;
      }
      for (const char* which : {"q", "k"}) {
        Tensor x = model.golden("full", layer, which).clone();
        apply_rope(x, 0, frequencies);
        EXPECT_TRUE(matches_golden(x, model.golden("full", layer, std::string(which) + "_rope"),
                                   tolerance::kElementwise))
            << name << " " << which << " layer " << layer;
      }
    }
  }
}

// The second call of the offset case starts at position 5: rows 5..11 rotated from start
// position 5.
TEST(Rope, StartPositionOffsetsEveryRow) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = rope_inverse_frequencies(
      model.config.head_dim, model.config.rope_theta, model.config.rope_scaling);
  Tensor second_call = model.golden("offset", 0, "k").slice(0, 5, 12).clone();
  apply_rope(second_call, 5, frequencies);
  EXPECT_TRUE(matches_golden(second_call, model.golden("offset", 0, "k_rope").slice(0, 5, 12),
                             tolerance::kElementwise));
  Tensor wrong_start = model.golden("offset", 0, "k").slice(0, 5, 12).clone();
  apply_rope(wrong_start, 0, frequencies);
  EXPECT_FALSE(matches_golden(wrong_start, model.golden("offset", 0, "k_rope").slice(0, 5, 12),
                              tolerance::kElementwise));
}

// The Llama 2/3 HF convention rotates x[i] with x[i + D/2]. Llama 4 rotates adjacent pairs.
TEST(Rope, PairsAdjacentNumbersNotHalves) {
  const auto& model = golden_model("tiny");
  const std::vector<float> frequencies = rope_inverse_frequencies(
      model.config.head_dim, model.config.rope_theta, model.config.rope_scaling);
  const Tensor q = model.golden("full", 0, "q");
  Tensor rotate_half = q.clone();
  const std::int64_t half = q.dim(2) / 2;
  for (std::int64_t t = 0; t < q.dim(0); ++t) {
    for (std::int64_t h = 0; h < q.dim(1); ++h) {
      for (std::int64_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(t) * frequencies[static_cast<std::size_t>(i)];
        const float a = q.at({t, h, i}), b = q.at({t, h, i + half});
        rotate_half.set({t, h, i}, a * std::cos(angle) - b * std::sin(angle));
        rotate_half.set({t, h, i + half}, a * std::sin(angle) + b * std::cos(angle));
      }
    }
  }
  EXPECT_FALSE(
      matches_golden(rotate_half, model.golden("full", 0, "q_rope"), tolerance::kElementwise));
}

TEST(Rope, RotationKeepsEveryPairsLength) {
  Tensor x = Tensor::from_values({1, 1, 4}, {3, 4, -1, 2});
  apply_rope(x, 1000, {0.7f, 0.01f});
  EXPECT_NEAR(std::hypot(x.at({0, 0, 0}), x.at({0, 0, 1})), 5.0, 1e-5);
  EXPECT_NEAR(std::hypot(x.at({0, 0, 2}), x.at({0, 0, 3})), std::sqrt(5.0), 1e-5);
}

// Scout's values: floor 8192, scale 0.1.
TEST(AttentionTemperature, AtPositions8190And8191And16383And1048575) {
  EXPECT_FLOAT_EQ(attention_temperature(8190, 8192, 0.1), 1.0f);
  EXPECT_NEAR(attention_temperature(8191, 8192, 0.1), 1.069315f, 1e-6);
  EXPECT_NEAR(attention_temperature(16383, 8192, 0.1), 1.109861f, 1e-6);
  EXPECT_NEAR(attention_temperature(1048575, 8192, 0.1), 1.485981f, 1e-6);
  const auto& golden = testing::golden_activations("tiny");
  const Tensor positions = golden.tensor("tables.temperature_positions");
  std::vector<float> ours;
  for (std::int64_t i = 0; i < positions.numel(); ++i) {
    ours.push_back(attention_temperature(static_cast<std::int64_t>(positions.flat(i)), 8192, 0.1));
  }
  EXPECT_TRUE(matches_golden(as_tensor(ours), golden.tensor("tables.temperature_scales"),
                             tolerance::kElementwise));
}

TEST(AttentionTemperature, TinyModelScalesAtEveryPosition) {
  std::vector<float> ours;
  for (int p = 0; p < 24; ++p) ours.push_back(attention_temperature(p, 4, 0.1));
  EXPECT_TRUE(matches_golden(
      as_tensor(ours), testing::golden_activations("tiny").tensor("tables.tiny_temperature_scales"),
      tolerance::kElementwise));
}

TEST(AttentionTemperature, ScalesNoPEQueriesLikeGolden) {
  for (const char* name : {"tiny", "tiny-maverick"}) {
    const auto& model = golden_model(name);
    const std::int64_t nope_layer = 3;
    ASSERT_FALSE(model.config.layers[nope_layer].uses_rope);
    Tensor q = model.golden("full", nope_layer, "q").clone();
    apply_attention_temperature(q, 0, model.config.floor_scale, model.config.attn_scale);
    EXPECT_TRUE(matches_golden(q, model.golden("full", nope_layer, "q_temperature"),
                               tolerance::kElementwise))
        << name;
  }
}

}  // namespace
}  // namespace llama4
