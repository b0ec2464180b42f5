// Chapter 09's model kernels, each against the CPU function it mirrors (chapters 03–08), on random
// inputs at sizes that are and are not multiples of the block size (256) and the warp widths (32,
// 64), compared by NMSE (gpu_test.hpp); and each run twice, which must give the same bits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/layers/attention_temperature.hpp"
#include "common/layers/embedding.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe_router.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/model/sampler.hpp"
#include "common/tensors/error.hpp"
#include "gpu/attention_temperature.hpp"
#include "gpu/embedding.hpp"
#include "gpu/feed_forward.hpp"
#include "gpu/moe.hpp"
#include "gpu/residual.hpp"
#include "gpu/rms_norm.hpp"
#include "gpu/rope.hpp"
#include "gpu/sampler.hpp"
#include "tests/chapter09/kernel_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;
using ::testing::HasSubstr;

// Runs `kernel` (which launches into the buffer `out`) twice; returns the first result and checks
// that the second has the same bits. Kernels that work in place restore their input first.
template <class Run>
std::vector<float> run_twice(Run run) {
  const std::vector<float> first = run();
  EXPECT_TRUE(same_bits(run(), first)) << "a second run gave different bits";
  return first;
}

// ---------------------------------------------------------------------------------------------
// Embedding (common/layers/embedding.hpp): a gather, so exact.

using EmbeddingSizes = std::tuple<int, int, int>;  // vocab, hidden, tokens
class Embedding : public GpuTestWithParam<EmbeddingSizes> {};

TEST_P(Embedding, GatherEqualsCpuBitForBit) {
  const auto [vocab, hidden, tokens] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(vocab * 31 + hidden * 7 + tokens));
  const Tensor table = random_tensor({vocab, hidden}, generator).to(DType::BF16);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens));
  std::uniform_int_distribution<std::int32_t> any_id(0, vocab - 1);
  for (std::int32_t& id : ids) id = any_id(generator);
  ids.front() = 0;
  ids.back() = vocab - 1;  // the first and last rows of the table
  const Tensor want = embed_tokens(ids, table);

  const DeviceBuffer<bfloat16> table_device = to_device_bf16(table);
  DeviceBuffer<std::int32_t> ids_device(ids.size());
  DeviceBuffer<float> x(static_cast<std::size_t>(tokens) * hidden);
  const std::vector<float> got = run_twice([&] {
    gpu::embed_tokens(ids, ids_device.data(), table_device.data(), x.data(), vocab, hidden);
    return x.to_host();
  });
  EXPECT_TRUE(same_bits(got, to_vector(want)));
}

INSTANTIATE_TEST_SUITE_P(Sizes, Embedding,
                         ::testing::Values(EmbeddingSizes{1, 1, 1}, EmbeddingSizes{7, 31, 5},
                                           EmbeddingSizes{50, 257, 17}, EmbeddingSizes{512, 64, 24},
                                           EmbeddingSizes{1000, 1000, 3}),
                         sizes_name<EmbeddingSizes>);

// Runs without a GPU: the ids are checked on the host before anything touches the device.
TEST(GpuEmbedding, OutOfRangeIdsAreRejectedBeforeAnyLaunch) {
  const std::vector<std::int32_t> too_big = {3, 512};
  EXPECT_THAT([&] { gpu::embed_tokens(too_big, nullptr, nullptr, nullptr, 512, 64); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("token id 512 at position 1 is outside the vocabulary (512 rows)")));
  const std::vector<std::int32_t> negative = {-1};
  EXPECT_THAT([&] { gpu::embed_tokens(negative, nullptr, nullptr, nullptr, 512, 64); },
              ::testing::ThrowsMessage<Error>(HasSubstr("token id -1 at position 0")));
}

// ---------------------------------------------------------------------------------------------
// RMSNorm and QK norm (common/layers/rms_norm.hpp)

using NormSizes = std::tuple<int, int>;  // rows, hidden
class RmsNorm : public GpuTestWithParam<NormSizes> {};

TEST_P(RmsNorm, MatchesCpu) {
  const auto [rows, hidden] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(rows * 131 + hidden));
  const Tensor x = random_tensor({rows, hidden}, generator, 3.0f);
  Tensor weight = random_tensor({hidden}, generator, 0.1f);
  for (std::int64_t i = 0; i < hidden; ++i) weight.set({i}, 1.0f + weight.at({i}));
  weight = weight.to(DType::BF16);
  const Tensor want = rms_norm(x, weight, 1e-5f);

  const DeviceBuffer<float> x_device = to_device(x);
  const DeviceBuffer<bfloat16> weight_device = to_device_bf16(weight);
  DeviceBuffer<float> y(x_device.size());
  const std::vector<float> got = run_twice([&] {
    gpu::rms_norm(x_device.data(), weight_device.data(), y.data(), rows, hidden, 1e-5f);
    return y.to_host();
  });
  EXPECT_LT(nmse(got, to_vector(want)), kF32SumNmse);

  // In place (y = x), as the CPU allows.
  DeviceBuffer<float> in_place = to_device(x);
  gpu::rms_norm(in_place.data(), weight_device.data(), in_place.data(), rows, hidden, 1e-5f);
  EXPECT_TRUE(same_bits(in_place.to_host(), got));
}

INSTANTIATE_TEST_SUITE_P(Sizes, RmsNorm,
                         ::testing::Values(NormSizes{1, 1}, NormSizes{1, 31}, NormSizes{3, 64},
                                           NormSizes{17, 255}, NormSizes{5, 257},
                                           NormSizes{2, 5120}, NormSizes{33, 1000}),
                         sizes_name<NormSizes>);

using HeadSizes = std::tuple<int, int, int>;  // tokens, heads, head_dim
class QkNorm : public GpuTestWithParam<HeadSizes> {};

TEST_P(QkNorm, MatchesCpuPerHead) {
  const auto [tokens, heads, head_dim] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(tokens * 1009 + heads * 17 + head_dim));
  // Heads of very different sizes: normalising across heads instead of per head would show.
  Tensor x = random_tensor({tokens, heads, head_dim}, generator);
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t d = 0; d < head_dim; ++d)
        x.set({t, h, d}, x.at({t, h, d}) * static_cast<float>(h + 1));
    }
  }
  Tensor want = x.clone();
  qk_norm(want, 1e-5f);

  DeviceBuffer<float> device = to_device(x);
  const std::vector<float> got = run_twice([&] {
    device.upload(to_vector(x));
    gpu::qk_norm(device.data(), static_cast<std::int64_t>(tokens) * heads, head_dim, 1e-5f);
    return device.to_host();
  });
  EXPECT_LT(nmse(got, to_vector(want)), kF32SumNmse);
}

INSTANTIATE_TEST_SUITE_P(Sizes, QkNorm,
                         ::testing::Values(HeadSizes{1, 1, 2}, HeadSizes{3, 4, 16},
                                           HeadSizes{5, 7, 18}, HeadSizes{2, 40, 128},
                                           HeadSizes{1, 3, 300}),
                         sizes_name<HeadSizes>);

// ---------------------------------------------------------------------------------------------
// RoPE (common/layers/rope.hpp) and the attention temperature
// (common/layers/attention_temperature.hpp)

using RopeCase = std::tuple<int, int, int, int>;  // tokens, heads, head_dim, start position
class Rope : public GpuTestWithParam<RopeCase> {};

TEST_P(Rope, MatchesCpuWithAndWithoutLlama3Scaling) {
  const auto [tokens, heads, head_dim, start] = GetParam();
  for (const bool scaled : {false, true}) {
    const std::optional<RopeScaling> scaling =
        scaled ? std::optional<RopeScaling>(RopeScaling{16.0, 1.0, 4.0, 64, {}}) : std::nullopt;
    const std::vector<float> frequencies =
        rope_inverse_frequencies(head_dim, scaled ? 10000.0 : 500000.0, scaling);
    std::mt19937 generator(static_cast<unsigned>(tokens * 7 + heads * 11 + head_dim * 13 + start));
    const Tensor x = random_tensor({tokens, heads, head_dim}, generator);
    Tensor want = x.clone();
    apply_rope(want, start, frequencies);

    const DeviceBuffer<float> frequencies_device(frequencies);
    DeviceBuffer<float> device = to_device(x);
    const std::vector<float> got = run_twice([&] {
      device.upload(to_vector(x));
      gpu::apply_rope(device.data(), tokens, heads, head_dim, start, frequencies_device.data());
      return device.to_host();
    });
    EXPECT_LT(nmse(got, to_vector(want)), kElementwiseNmse) << (scaled ? "llama3-scaled" : "plain");
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Rope,
                         ::testing::Values(RopeCase{1, 1, 2, 0}, RopeCase{24, 4, 16, 0},
                                           RopeCase{7, 5, 18, 13}, RopeCase{3, 40, 128, 8190},
                                           RopeCase{2, 3, 130, 100000}),
                         sizes_name<RopeCase>);

TEST(GpuRope, OddHeadDimIsAnError) {
  // Checked on the host before the launch, so this runs without a GPU (but not against the
  // GPU_BACKEND=off stub, which refuses every call).
  if (gpu::probe().backend == "off") GTEST_SKIP() << "built with GPU_BACKEND=off";
  EXPECT_THAT([] { gpu::apply_rope(nullptr, 1, 1, 5, 0, nullptr); },
              ::testing::ThrowsMessage<Error>(HasSubstr("even head_dim")));
}

using TemperatureCase =
    std::tuple<int, int, int, int, int>;  // tokens, heads, head_dim, start, floor scale
class AttentionTemperature : public GpuTestWithParam<TemperatureCase> {};

TEST_P(AttentionTemperature, MatchesCpu) {
  const auto [tokens, heads, head_dim, start, floor_scale] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(tokens + heads + head_dim + start));
  const Tensor q = random_tensor({tokens, heads, head_dim}, generator);
  Tensor want = q.clone();
  apply_attention_temperature(want, start, floor_scale, 0.1);

  DeviceBuffer<float> device = to_device(q);
  const std::vector<float> got = run_twice([&] {
    device.upload(to_vector(q));
    gpu::apply_attention_temperature(device.data(), tokens,
                                     static_cast<std::int64_t>(heads) * head_dim, start,
                                     floor_scale, 0.1);
    return device.to_host();
  });
  EXPECT_LT(nmse(got, to_vector(want)), kElementwiseNmse);
}

INSTANTIATE_TEST_SUITE_P(Sizes, AttentionTemperature,
                         ::testing::Values(TemperatureCase{24, 4, 16, 0, 4},
                                           TemperatureCase{5, 3, 17, 8185, 8192},
                                           TemperatureCase{1, 40, 128, 100000, 8192},
                                           TemperatureCase{300, 1, 1, 0, 3}),
                         sizes_name<TemperatureCase>);

// ---------------------------------------------------------------------------------------------
// SwiGLU (common/layers/feed_forward.hpp) and the residual add (common/layers/decoder_layer.cpp)

class ElementCount : public GpuTestWithParam<int> {};

TEST_P(ElementCount, SwigluMatchesCpu) {
  const int count = GetParam();
  std::mt19937 generator(static_cast<unsigned>(count));
  const Tensor gate = random_tensor({count}, generator, 4.0f);
  const Tensor up = random_tensor({count}, generator);
  Tensor want = gate.clone();
  swiglu(want, up);

  DeviceBuffer<float> gate_device = to_device(gate);
  const DeviceBuffer<float> up_device = to_device(up);
  const std::vector<float> got = run_twice([&] {
    gate_device.upload(to_vector(gate));
    gpu::swiglu(gate_device.data(), up_device.data(), count);
    return gate_device.to_host();
  });
  EXPECT_LT(nmse(got, to_vector(want)), kElementwiseNmse);
}

TEST_P(ElementCount, ResidualAddIsExact) {
  const int count = GetParam();
  std::mt19937 generator(static_cast<unsigned>(count + 1));
  const std::vector<float> a = random_normal(static_cast<std::size_t>(count), generator);
  const std::vector<float> b = random_normal(static_cast<std::size_t>(count), generator);
  std::vector<float> want = a;
  for (std::size_t i = 0; i < want.size(); ++i) want[i] += b[i];

  DeviceBuffer<float> a_device(a);
  const DeviceBuffer<float> b_device(b);
  const std::vector<float> got = run_twice([&] {
    a_device.upload(a);
    gpu::add_into(a_device.data(), b_device.data(), count);
    return a_device.to_host();
  });
  EXPECT_TRUE(same_bits(got, want));  // one f32 addition per element: no room for any difference
}

INSTANTIATE_TEST_SUITE_P(Counts, ElementCount, ::testing::Values(1, 31, 64, 257, 10000, 1 << 20));

using FusedSizes = std::tuple<int, int>;  // rows, width
class SwigluFused : public GpuTestWithParam<FusedSizes> {};

// The routed experts' layout: [rows, 2·width], gate in the first half of each row, up in the
// second, as in MoeLayer::expert.
TEST_P(SwigluFused, MatchesTheExpertLoopOfTheCpu) {
  const auto [rows, width] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(rows * 3 + width));
  const Tensor gate_up = random_tensor({rows, 2 * width}, generator, 3.0f);
  std::vector<float> want(static_cast<std::size_t>(rows) * width);
  const float* gu = gate_up.data<float>();
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < width; ++c) {
      want[static_cast<std::size_t>(r) * width + c] =
          silu(gu[r * 2 * width + c]) * gu[r * 2 * width + width + c];
    }
  }
  const DeviceBuffer<float> gate_up_device = to_device(gate_up);
  DeviceBuffer<float> hidden(want.size());
  const std::vector<float> got = run_twice([&] {
    gpu::swiglu_fused(gate_up_device.data(), hidden.data(), rows, width);
    return hidden.to_host();
  });
  EXPECT_LT(nmse(got, want), kElementwiseNmse);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SwigluFused,
                         ::testing::Values(FusedSizes{1, 1}, FusedSizes{3, 32}, FusedSizes{7, 257},
                                           FusedSizes{24, 96}, FusedSizes{2, 8192}),
                         sizes_name<FusedSizes>);

// ---------------------------------------------------------------------------------------------
// Greedy sampling (common/model/sampler.hpp, argmax)

using ArgmaxSizes = std::tuple<int, int>;  // rows, vocab
class Argmax : public GpuTestWithParam<ArgmaxSizes> {};

TEST_P(Argmax, MatchesCpuIncludingTiesAndNaN) {
  const auto [rows, vocab] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(rows * 5 + vocab));
  std::vector<float> logits = random_normal(static_cast<std::size_t>(rows) * vocab, generator);
  // Row 0: a tie for the maximum, the later copy placed first in some threads' strides. Row 1: a
  // NaN before the maximum (the CPU's max_element never picks a NaN that is not first).
  if (vocab >= 3) {
    logits[static_cast<std::size_t>(vocab - 1)] = 9.0f;
    logits[static_cast<std::size_t>(vocab / 2)] = 9.0f;
  }
  if (rows >= 2 && vocab >= 3)
    logits[static_cast<std::size_t>(vocab) + 1] = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::int32_t> want(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    want[static_cast<std::size_t>(r)] = argmax(std::span<const float>(
        logits.data() + static_cast<std::size_t>(r) * vocab, static_cast<std::size_t>(vocab)));
  }
  const DeviceBuffer<float> logits_device(logits);
  DeviceBuffer<std::int32_t> ids(static_cast<std::size_t>(rows));
  gpu::argmax_rows(logits_device.data(), ids.data(), rows, vocab);
  EXPECT_EQ(ids.to_host(), want);
  gpu::argmax_rows(logits_device.data(), ids.data(), rows, vocab);
  EXPECT_EQ(ids.to_host(), want) << "second run";
}

INSTANTIATE_TEST_SUITE_P(Sizes, Argmax,
                         ::testing::Values(ArgmaxSizes{1, 1}, ArgmaxSizes{1, 257},
                                           ArgmaxSizes{3, 1000}, ArgmaxSizes{2, 202048},
                                           ArgmaxSizes{5, 33}),
                         sizes_name<ArgmaxSizes>);

// ---------------------------------------------------------------------------------------------
// The router (common/layers/moe_router.hpp) and the MoE gather / scatter (common/layers/moe.cpp)

using RouterCase = std::tuple<int, int, int>;  // tokens, experts, top_k
class Router : public GpuTestWithParam<RouterCase> {};

TEST_P(Router, TopKAndSigmoidMatchRouteTokens) {
  const auto [tokens, experts, top_k] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(tokens * 101 + experts * 3 + top_k));
  Tensor logits = random_tensor({tokens, experts}, generator, 2.0f);
  // Ties: token 0's logits all equal (the experts must come in index order), token 1 has two equal
  // best logits.
  for (std::int64_t e = 0; e < experts; ++e) logits.set({0, e}, 0.5f);
  if (tokens > 1 && experts > 2) {
    logits.set({1, 2}, 7.0f);
    logits.set({1, 1}, 7.0f);
  }
  // route_tokens computes its logits as x·Wᵀ; with W the identity that is x itself, exactly.
  Tensor identity = Tensor::zeros({experts, experts});
  for (std::int64_t e = 0; e < experts; ++e) identity.set({e, e}, 1.0f);
  const RouterChoice want = route_tokens(logits, identity.to(DType::BF16), top_k);
  ASSERT_TRUE(same_bits(to_vector(want.logits), to_vector(logits)));

  const DeviceBuffer<float> logits_device = to_device(logits);
  DeviceBuffer<std::int32_t> index(static_cast<std::size_t>(tokens) * top_k);
  DeviceBuffer<float> score(static_cast<std::size_t>(tokens) * top_k);
  for (int run = 0; run < 2; ++run) {
    gpu::route_top_k(logits_device.data(), index.data(), score.data(), tokens, experts, top_k);
    EXPECT_EQ(index.to_host(), want.expert_index) << "run " << run;
    EXPECT_LT(nmse(score.to_host(), want.expert_score), kElementwiseNmse) << "run " << run;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Router,
                         ::testing::Values(RouterCase{1, 1, 1}, RouterCase{7, 4, 1},
                                           RouterCase{24, 16, 1}, RouterCase{5, 128, 1},
                                           RouterCase{9, 5, 2}, RouterCase{300, 8, 3},
                                           RouterCase{3, 4, 4}),
                         sizes_name<RouterCase>);

// Host code: runs everywhere.
TEST(GpuMoeDispatch, BatchByExpertIsAStableCountingSort) {
  const std::vector<std::int32_t> index = {2, 0, 2, 1, 2, 0};
  const gpu::ExpertBatches batches = gpu::batch_by_expert(index, 4);
  EXPECT_EQ(batches.slots, (std::vector<std::int32_t>{1, 5, 3, 0, 2, 4}));
  EXPECT_EQ(batches.offsets, (std::vector<std::int64_t>{0, 2, 3, 6, 6}));
  EXPECT_EQ(batches.count(2), 3);
  EXPECT_EQ(batches.count(3), 0);
  EXPECT_THAT(
      [] {
        gpu::batch_by_expert(std::vector<std::int32_t>{0, -1}, 4);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("slot 1 was routed to expert -1")));
  EXPECT_THAT([] { gpu::batch_by_expert(std::vector<std::int32_t>{4}, 4); },
              ::testing::ThrowsMessage<Error>(HasSubstr("outside 0..3")));
}

using GatherCase = std::tuple<int, int, int>;  // tokens, top_k, hidden
class GatherScatter : public GpuTestWithParam<GatherCase> {};

// One expert's round trip, as in MoeLayer::forward: gather the rows of the slots routed to it,
// scaled by their scores, then add rows back into the tokens' rows.
TEST_P(GatherScatter, MatchTheCpuLoops) {
  const auto [tokens, top_k, hidden] = GetParam();
  std::mt19937 generator(static_cast<unsigned>(tokens * 13 + top_k * 5 + hidden));
  const std::vector<float> x = random_normal(static_cast<std::size_t>(tokens) * hidden, generator);
  const std::vector<float> scores =
      random_normal(static_cast<std::size_t>(tokens) * top_k, generator);
  // Every other token's choice number (t % top_k) goes to "this expert": one slot per token at
  // most.
  std::vector<std::int32_t> slots;
  for (int t = 0; t < tokens; t += 2) slots.push_back(t * top_k + t % top_k);
  const auto n = static_cast<std::int64_t>(slots.size());

  std::vector<float> gathered(static_cast<std::size_t>(n) * hidden);
  std::vector<float> routed = random_normal(static_cast<std::size_t>(tokens) * hidden, generator);
  std::vector<float> routed_want = routed;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t token = slots[static_cast<std::size_t>(i)] / top_k;
    for (int c = 0; c < hidden; ++c) {
      gathered[static_cast<std::size_t>(i * hidden + c)] =
          scores[static_cast<std::size_t>(slots[static_cast<std::size_t>(i)])] *
          x[static_cast<std::size_t>(token * hidden + c)];
      routed_want[static_cast<std::size_t>(token * hidden + c)] +=
          gathered[static_cast<std::size_t>(i * hidden + c)];
    }
  }

  const DeviceBuffer<float> x_device(x), scores_device(scores);
  const DeviceBuffer<std::int32_t> slots_device(slots);
  DeviceBuffer<float> gathered_device(gathered.size()), routed_device(routed);
  const std::vector<float> got = run_twice([&] {
    gpu::gather_scaled_rows(x_device.data(), scores_device.data(), slots_device.data(),
                            gathered_device.data(), n, top_k, hidden);
    return gathered_device.to_host();
  });
  EXPECT_TRUE(same_bits(got, gathered));  // one multiplication per element
  gpu::scatter_add_rows(gathered_device.data(), slots_device.data(), routed_device.data(), n, top_k,
                        hidden);
  EXPECT_TRUE(same_bits(routed_device.to_host(), routed_want));  // one addition per element
}

INSTANTIATE_TEST_SUITE_P(Sizes, GatherScatter,
                         ::testing::Values(GatherCase{1, 1, 1}, GatherCase{7, 1, 33},
                                           GatherCase{24, 2, 257}, GatherCase{100, 3, 64}),
                         sizes_name<GatherCase>);

}  // namespace
}  // namespace llama4::testing
