// The feed-forward blocks on the GPU: GpuFeedForward against FeedForward
// (common/layers/feed_forward.hpp) and GpuMoe, the whole dispatch, against MoeLayer
// (common/layers/moe.hpp), at odd sizes, top-1 and top-k.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "gpu/gpu_layers.hpp"
#include "tests/chapter09/kernel_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

struct FeedForwardCase {
  std::string name;
  std::int64_t tokens, hidden, width;
};

void PrintTo(const FeedForwardCase& c, std::ostream* out) {
  *out << c.name << ": " << c.tokens << " tokens, hidden " << c.hidden << ", width " << c.width;
}

class DenseFeedForward : public GpuTestWithParam<FeedForwardCase> {};

TEST_P(DenseFeedForward, MatchesFeedForward) {
  const FeedForwardCase& c = GetParam();
  std::mt19937 generator(static_cast<unsigned>(c.tokens + c.hidden * 3 + c.width * 7));
  const FeedForward weights{random_weight({c.width, c.hidden}, generator),
                            random_weight({c.width, c.hidden}, generator),
                            random_weight({c.hidden, c.width}, generator)};
  const Tensor x = random_tensor({c.tokens, c.hidden}, generator);
  const Tensor want = weights.forward(x);

  ModelConfig config = small_config(c.hidden, 1, 1, 2, 1, 1, c.width);
  config.intermediate_size_mlp = c.width;
  gpu::Workspace workspace;
  workspace.reserve(config, c.tokens);
  const gpu::GpuFeedForward block(weights, "test ");
  const DeviceBuffer<float> x_device = to_device(x);
  DeviceBuffer<float> out(static_cast<std::size_t>(c.tokens * c.hidden));
  block.forward(x_device.data(), c.tokens, out.data(), workspace);
  const std::vector<float> got = out.to_host();
  EXPECT_LT(nmse(got, to_vector(want)), kF32SumNmse);
  block.forward(x_device.data(), c.tokens, out.data(), workspace);
  EXPECT_TRUE(same_bits(out.to_host(), got)) << "a second run gave different bits";
}

INSTANTIATE_TEST_SUITE_P(Sizes, DenseFeedForward,
                         ::testing::Values(FeedForwardCase{"Tiny", 1, 1, 1},
                                           FeedForwardCase{"GoldenMlp", 24, 64, 96},
                                           FeedForwardCase{"Odd", 7, 37, 53},
                                           FeedForwardCase{"Wide", 3, 257, 1000}),
                         case_name<FeedForwardCase>);

struct MoeCase {
  std::string name;
  std::int64_t tokens, hidden, experts, top_k, width;
};

void PrintTo(const MoeCase& c, std::ostream* out) {
  *out << c.name << ": " << c.tokens << " tokens, hidden " << c.hidden << ", " << c.experts
       << " experts, top-" << c.top_k << ", width " << c.width;
}

class MixtureOfExperts : public GpuTestWithParam<MoeCase> {};

TEST_P(MixtureOfExperts, MatchesMoeLayerAtEveryStage) {
  const MoeCase& c = GetParam();
  const ModelConfig config = small_config(c.hidden, 1, 1, 2, c.experts, c.top_k, c.width);
  std::mt19937 generator(static_cast<unsigned>(c.tokens * 5 + c.hidden + c.experts * 11 + c.top_k));
  // Router logits of a few units: the chosen experts are far apart from the next best, so both
  // sides choose the same ones (a near-tie could go either way under another order of additions),
  // and the scores spread over (0.5, 1) instead of all being 1.0 (which would hide where they are
  // applied).
  Tensor router = random_tensor({c.experts, c.hidden}, generator, 0.3f).to(DType::BF16);
  const MoeWeights weights{router, random_weight({c.experts, c.hidden, 2 * c.width}, generator),
                           random_weight({c.experts, c.width, c.hidden}, generator),
                           FeedForward{random_weight({c.width, c.hidden}, generator),
                                       random_weight({c.width, c.hidden}, generator),
                                       random_weight({c.hidden, c.width}, generator)}};
  const MoeLayer cpu(config, 0, weights);
  const Tensor x = random_tensor({c.tokens, c.hidden}, generator);
  ActivationRecorder cpu_recorder;
  const Tensor want = cpu.forward(x, &cpu_recorder);

  gpu::Workspace workspace;
  workspace.reserve(config, c.tokens);
  const gpu::GpuMoe block(config, 0, weights);
  const DeviceBuffer<float> x_device = to_device(x);
  DeviceBuffer<float> out(static_cast<std::size_t>(c.tokens * c.hidden));
  ActivationRecorder gpu_recorder;
  block.forward(x_device.data(), c.tokens, out.data(), workspace, &gpu_recorder);
  const std::vector<float> got = out.to_host();
  EXPECT_LT(nmse(got, to_vector(want)), kF32SumNmse);

  const std::string prefix = "layers.0.";
  EXPECT_EQ(elements_of<std::int32_t>(gpu_recorder.last(prefix + "expert_index")),
            elements_of<std::int32_t>(cpu_recorder.last(prefix + "expert_index")));
  for (const char* stage : {"router_logits", "expert_score", "routed_out", "shared_out"}) {
    EXPECT_EQ(gpu_recorder.last(prefix + stage).shape(), cpu_recorder.last(prefix + stage).shape())
        << stage;
    EXPECT_LT(nmse(to_vector(gpu_recorder.last(prefix + stage)),
                   to_vector(cpu_recorder.last(prefix + stage))),
              kF32SumNmse)
        << stage;
  }

  block.forward(x_device.data(), c.tokens, out.data(), workspace, nullptr);
  EXPECT_TRUE(same_bits(out.to_host(), got)) << "a second run gave different bits";
}

INSTANTIATE_TEST_SUITE_P(Sizes, MixtureOfExperts,
                         ::testing::Values(MoeCase{"OneTokenOneExpert", 1, 8, 1, 1, 4},
                                           MoeCase{"GoldenShape", 24, 64, 4, 1, 32},
                                           MoeCase{"OddSizes", 7, 37, 5, 1, 23},
                                           MoeCase{"TopTwo", 9, 40, 6, 2, 24},
                                           MoeCase{"TopThreeManyTokens", 300, 33, 8, 3, 17},
                                           MoeCase{"MoreExpertsThanTokens", 3, 64, 16, 1, 40}),
                         case_name<MoeCase>);

// The score scales the expert's input: a GPU MoE that scaled the output instead would still pass a
// test whose scores are all 1, so check that a plausible mistake is visible at these sizes.
TEST_F(GpuTest, ScalingTheExpertOutputInsteadWouldBeCaught) {
  const ModelConfig config = small_config(16, 1, 1, 2, 3, 1, 8);
  std::mt19937 generator(17);
  // Small router logits: scores near 0.5, far from 1.0, where both formulas would agree.
  const MoeWeights weights{
      random_tensor({3, 16}, generator, 0.05f).to(DType::BF16),
      random_weight({3, 16, 16}, generator), random_weight({3, 8, 16}, generator),
      FeedForward{random_weight({8, 16}, generator), random_weight({8, 16}, generator),
                  random_weight({16, 8}, generator)}};
  const MoeLayer cpu(config, 0, weights);
  const Tensor x = random_tensor({5, 16}, generator, 2.0f);
  const Tensor want = cpu.forward(x);
  // routed output scaled after the expert, Mixtral style:
  const RouterChoice choice = route_tokens(x, weights.router, 1);
  Tensor wrong = weights.shared_expert.forward(x);
  for (std::int64_t t = 0; t < 5; ++t) {
    const Tensor out =
        cpu.expert(choice.expert_index[static_cast<std::size_t>(t)], x.slice(0, t, t + 1));
    for (std::int64_t i = 0; i < 16; ++i) {
      wrong.set({t, i}, wrong.at({t, i}) +
                            choice.expert_score[static_cast<std::size_t>(t)] * out.at({0, i}));
    }
  }
  gpu::Workspace workspace;
  workspace.reserve(config, 5);
  const gpu::GpuMoe block(config, 0, weights);
  const DeviceBuffer<float> x_device = to_device(x);
  DeviceBuffer<float> out(5 * 16);
  block.forward(x_device.data(), 5, out.data(), workspace, nullptr);
  EXPECT_LT(nmse(out.to_host(), to_vector(want)), kF32SumNmse);
  EXPECT_GT(nmse(to_vector(wrong), to_vector(want)), 1e-4)
      << "the wrong formula is not distinguishable here";
}

}  // namespace
}  // namespace llama4::testing
