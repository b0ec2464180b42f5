// Chapter 04: RMSNorm (with weight) and the weightless per-head QK norm, against the golden data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/layers/rms_norm.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::matches_golden;

class RmsNorm : public ::testing::TestWithParam<const char*> {};

// input_layernorm of layer l normalises the residual stream entering it.
TEST_P(RmsNorm, InputLayerNormMatchesGolden) {
  const auto& model = golden_model(GetParam());
  const float eps = static_cast<float>(model.config.rms_norm_eps);
  for (std::int64_t layer = 0; layer < model.config.num_hidden_layers; ++layer) {
    const Tensor input =
        layer == 0 ? model.golden("full", "embedding") : model.golden("full", layer - 1, "output");
    const Tensor weight =
        model.weight("layers." + std::to_string(layer) + ".input_layernorm.weight");
    EXPECT_TRUE(matches_golden(rms_norm(input, weight, eps),
                               model.golden("full", layer, "attn_norm"), tolerance::kElementwise))
        << "layer " << layer;
  }
}

TEST_P(RmsNorm, PostAttentionNormMatchesGolden) {
  const auto& model = golden_model(GetParam());
  const float eps = static_cast<float>(model.config.rms_norm_eps);
  for (std::int64_t layer = 0; layer < model.config.num_hidden_layers; ++layer) {
    const Tensor weight =
        model.weight("layers." + std::to_string(layer) + ".post_attention_layernorm.weight");
    EXPECT_TRUE(matches_golden(rms_norm(model.golden("full", layer, "attn_residual"), weight, eps),
                               model.golden("full", layer, "ffn_norm"), tolerance::kElementwise))
        << "layer " << layer;
  }
}

TEST_P(RmsNorm, FinalNormMatchesGolden) {
  const auto& model = golden_model(GetParam());
  const Tensor last = model.golden("full", model.config.num_hidden_layers - 1, "output");
  EXPECT_TRUE(matches_golden(
      rms_norm(last, model.weight("norm.weight"), static_cast<float>(model.config.rms_norm_eps)),
      model.golden("full", "final_norm"), tolerance::kElementwise));
}

INSTANTIATE_TEST_SUITE_P(Models, RmsNorm, ::testing::Values("tiny", "tiny-maverick"));

TEST(RmsNorm, ForgettingTheWeightFailsGolden) {
  const auto& model = golden_model("tiny");
  const Tensor ones = Tensor::from_values({64}, std::vector<float>(64, 1.0f));
  EXPECT_FALSE(matches_golden(rms_norm(model.golden("full", "embedding"), ones, 1e-5f),
                              model.golden("full", 0, "attn_norm"), tolerance::kElementwise));
}

TEST(RmsNorm, OutputHasUnitRootMeanSquareBeforeTheWeight) {
  const Tensor x = Tensor::from_values({1, 4}, {3, -4, 0, 0});  // rms = 2.5
  const Tensor y = rms_norm(x, Tensor::from_values({4}, {1, 1, 1, 1}), 0.0f);
  EXPECT_FLOAT_EQ(y.at({0, 0}), 1.2f);
  EXPECT_FLOAT_EQ(y.at({0, 1}), -1.6f);
}

TEST(RmsNorm, WrongWeightSizeIsAnError) {
  EXPECT_THAT(
      [] {
        rms_norm(Tensor::zeros({2, 4}), Tensor::zeros({5}), 1e-5f);
      },
      ::testing::ThrowsMessage<Error>(
          ::testing::HasSubstr("rms_norm weight has shape [5], expected [4]")));
}

// QK norm: after RoPE, on RoPE layers, per head, no weight.
TEST(QkNorm, MatchesGoldenOnEveryRopeLayer) {
  const auto& model = golden_model("tiny");
  const float eps = static_cast<float>(model.config.rms_norm_eps);
  for (std::int64_t layer = 0; layer < model.config.num_hidden_layers; ++layer) {
    if (!model.config.layers[static_cast<std::size_t>(layer)].uses_qk_norm) {
      EXPECT_FALSE(model.has_golden("full", layer, "q_norm"))
          << "NoPE layer " << layer << " has no QK norm";
      continue;
    }
    for (const char* which : {"q", "k"}) {
      Tensor x = model.golden("full", layer, std::string(which) + "_rope").clone();
      qk_norm(x, eps);
      EXPECT_TRUE(matches_golden(x, model.golden("full", layer, std::string(which) + "_norm"),
                                 tolerance::kElementwise))
          << which << " layer " << layer;
    }
  }
}

// vLLM #16311: normalising q over all heads at once instead of per head.
TEST(QkNorm, IsPerHeadNotAcrossHeads) {
  const auto& model = golden_model("tiny");
  const Tensor q = model.golden("full", 0, "q_rope");
  Tensor across_heads =
      q.clone().reshape({q.dim(0), 1, q.dim(1) * q.dim(2)});  // one "head" per token
  qk_norm(across_heads, 1e-5f);
  EXPECT_FALSE(matches_golden(across_heads.reshape(q.shape()), model.golden("full", 0, "q_norm"),
                              tolerance::kElementwise));
}

// The first Meta and HF releases used eps 1e-6; current ones use rms_norm_eps (1e-5). On O(1) data
// the difference is invisible, so the golden table holds a vector small enough for eps to matter.
TEST(QkNorm, UsesRmsNormEpsNotTheOldDefault) {
  const auto& golden = testing::golden_activations("tiny");
  const Tensor input = golden.tensor("tables.qk_norm_input");  // [2, 16]
  const Tensor expected = golden.tensor("tables.qk_norm_output");
  Tensor with_config_eps = input.clone().reshape({2, 1, 16});
  qk_norm(with_config_eps, 1e-5f);
  EXPECT_TRUE(matches_golden(with_config_eps.reshape({2, 16}), expected, tolerance::kElementwise));
  Tensor with_old_eps = input.clone().reshape({2, 1, 16});
  qk_norm(with_old_eps, 1e-6f);
  EXPECT_FALSE(matches_golden(with_old_eps.reshape({2, 16}), expected, tolerance::kElementwise));
}

}  // namespace
}  // namespace llama4
