// Chapter 07: the router, the routed and shared experts, the dense SwiGLU layers, and the traps.
// Each layer runs on the golden input of its feed-forward (ffn_norm).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::GoldenModel;
using testing::matches_golden;

std::string layer_name(std::int64_t l, const char* stage) {
  return "layers." + std::to_string(l) + "." + stage;
}

class Moe : public ::testing::TestWithParam<const char*> {};

TEST_P(Moe, RouterAndExpertsMatchGolden) {
  const auto& model = golden_model(GetParam());
  for (const char* case_name : {"full", "decode"}) {
    for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
      if (!model.config.layers[static_cast<std::size_t>(l)].is_moe) continue;
      const MoeLayer moe(model.config, l, model.checkpoint, model.names);
      ActivationRecorder recorder;
      const Tensor out = moe.forward(model.golden(case_name, l, "ffn_norm"), &recorder);
      EXPECT_TRUE(matches_golden(recorder.last(layer_name(l, "router_logits")),
                                 model.golden(case_name, l, "router_logits"),
                                 tolerance::kProjection))
          << l;
      EXPECT_TRUE(matches_golden(recorder.last(layer_name(l, "expert_index")),
                                 model.golden(case_name, l, "expert_index"), tolerance::kExact))
          << l;
      EXPECT_TRUE(matches_golden(recorder.last(layer_name(l, "expert_score")),
                                 model.golden(case_name, l, "expert_score"),
                                 tolerance::kProjection))
          << l;
      EXPECT_TRUE(matches_golden(recorder.last(layer_name(l, "shared_out")),
                                 model.golden(case_name, l, "shared_out"), tolerance::kProjection))
          << l;
      EXPECT_TRUE(matches_golden(recorder.last(layer_name(l, "routed_out")),
                                 model.golden(case_name, l, "routed_out"), tolerance::kProjection))
          << l;
      EXPECT_TRUE(
          matches_golden(out, model.golden(case_name, l, "ffn_out"), tolerance::kProjection))
          << case_name << " layer " << l;
    }
  }
}

TEST_P(Moe, DenseLayersMatchGolden) {
  const auto& model = golden_model(GetParam());
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    if (model.config.layers[static_cast<std::size_t>(l)].is_moe) continue;
    const FeedForward mlp =
        FeedForward::load(model.checkpoint, model.names.layer(l, "feed_forward."),
                          model.config.hidden_size, model.config.intermediate_size_mlp);
    const Tensor out = mlp.forward(model.golden("full", l, "ffn_norm"));
    EXPECT_TRUE(matches_golden(out, model.golden("full", l, "mlp_out"), tolerance::kProjection))
        << "layer " << l;
  }
}

// Gathering the tokens of each expert (what we do) must equal running every expert on every token
// with zero scores for the experts it was not routed to (what HF and Meta do).
TEST_P(Moe, SparseExpertsEqualEveryExpertOnEveryToken) {
  const auto& model = golden_model(GetParam());
  for (std::int64_t l = 0; l < model.config.num_hidden_layers; ++l) {
    if (!model.config.layers[static_cast<std::size_t>(l)].is_moe) continue;
    const MoeLayer moe(model.config, l, model.checkpoint, model.names);
    const Tensor x = model.golden("full", l, "ffn_norm");
    EXPECT_TRUE(matches_golden(moe.forward(x), moe.forward_every_expert(x), {1e-6, 1e-6}))
        << "layer " << l;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Moe, ::testing::Values("tiny", "tiny-maverick"));

// The Mixtral habit: run the expert on x and scale its OUTPUT by the score. For Llama 4 that is
// wrong (vLLM #16744), and the golden comparison must notice.
TEST(Moe, ScalingTheOutputInsteadOfTheInputFailsGolden) {
  const auto& model = golden_model("tiny");
  const std::int64_t l = 1;
  const MoeLayer moe(model.config, l, model.checkpoint, model.names);
  const Tensor x = model.golden("full", l, "ffn_norm");
  ActivationRecorder recorder;
  moe.forward(x, &recorder);
  const Tensor index = recorder.last(layer_name(l, "expert_index"));
  const Tensor score = recorder.last(layer_name(l, "expert_score"));
  Tensor wrong = Tensor::zeros(x.shape());
  for (std::int64_t t = 0; t < x.dim(0); ++t) {
    const Tensor y = moe.expert(static_cast<std::int64_t>(index.at({t, 0})),
                                x.slice(0, t, t + 1));  // unscaled input
    for (std::int64_t i = 0; i < x.dim(1); ++i)
      wrong.set({t, i}, score.at({t, 0}) * y.at({0, i}));  // scaled output
  }
  EXPECT_FALSE(
      matches_golden(wrong, model.golden("full", l, "routed_out"), tolerance::kProjection));
  // ...while scaling the input, with the same pieces, passes.
  Tensor right = Tensor::zeros(x.shape());
  for (std::int64_t t = 0; t < x.dim(0); ++t) {
    Tensor scaled = x.slice(0, t, t + 1).clone();
    for (std::int64_t i = 0; i < x.dim(1); ++i)
      scaled.set({0, i}, score.at({t, 0}) * scaled.at({0, i}));
    const Tensor y = moe.expert(static_cast<std::int64_t>(index.at({t, 0})), scaled);
    for (std::int64_t i = 0; i < x.dim(1); ++i) right.set({t, i}, y.at({0, i}));
  }
  EXPECT_TRUE(matches_golden(right, model.golden("full", l, "routed_out"), tolerance::kProjection));
}

// gate_up_proj [E, H, 2I]: the first I columns are the gate. Taking the up half as the gate fails.
TEST(Moe, GateIsTheFirstHalfOfGateUp) {
  const auto& model = golden_model("tiny");
  const std::int64_t l = 1;
  MoeWeights swapped = MoeLayer(model.config, l, model.checkpoint, model.names).weights();
  const std::int64_t experts = swapped.gate_up_proj.dim(0), hidden = swapped.gate_up_proj.dim(1);
  const std::int64_t width = swapped.gate_up_proj.dim(2) / 2;
  Tensor reordered = Tensor::zeros(swapped.gate_up_proj.shape());
  for (std::int64_t e = 0; e < experts; ++e)
    for (std::int64_t i = 0; i < hidden; ++i)
      for (std::int64_t c = 0; c < 2 * width; ++c)
        reordered.set({e, i, (c + width) % (2 * width)}, swapped.gate_up_proj.at({e, i, c}));
  swapped.gate_up_proj = reordered;
  const MoeLayer wrong(model.config, l, swapped);
  EXPECT_FALSE(matches_golden(wrong.forward(model.golden("full", l, "ffn_norm")),
                              model.golden("full", l, "ffn_out"), tolerance::kProjection));
}

TEST(Moe, RouterPicksTheLargestLogitAndSigmoidsOnlyIt) {
  const Tensor router = Tensor::from_values({3, 2}, {1, 0, 0, 1, -1, -1});  // [E=3, H=2]
  const Tensor x = Tensor::from_values({2, 2}, {0.5f, 2.0f, -1.0f, -1.0f});
  const RouterChoice choice = route_tokens(x, router, 1);
  EXPECT_EQ(choice.expert_index,
            (std::vector<std::int32_t>{1, 2}));  // logits (0.5, 2, -2.5) and (-1, -1, 2)
  EXPECT_FLOAT_EQ(choice.expert_score[0], 1.0f / (1.0f + std::exp(-2.0f)));  // sigmoid, not softmax
  EXPECT_FLOAT_EQ(choice.expert_score[1], 1.0f / (1.0f + std::exp(-2.0f)));
}

TEST(Moe, ExpertWidthFromTheWrongFieldIsAnError) {
  const auto& model = golden_model("tiny");
  ModelConfig swapped = model.config;
  std::swap(swapped.intermediate_size, swapped.intermediate_size_mlp);  // the naming trap
  EXPECT_THAT([&] { MoeLayer(swapped, 1, model.checkpoint, model.names); },
              ::testing::ThrowsMessage<Error>(
                  ::testing::HasSubstr("does config.json belong to these weights?")));
}

}  // namespace
}  // namespace llama4
