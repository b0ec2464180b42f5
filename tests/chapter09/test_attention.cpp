// Attention on the GPU: the device KV cache against common/layers/kv_cache.hpp, the attention
// kernel against the CPU's attend() loop, and GpuAttention against AttentionLayer
// (common/layers/attention.hpp) over several calls, crossing chunk boundaries, with more visible
// keys than one block has threads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/error.hpp"
#include "gpu/attention.hpp"
#include "gpu/gpu_layers.hpp"
#include "gpu/kv_cache.hpp"
#include "tests/chapter09/kernel_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;
using gpu::DeviceKVCache;
using ::testing::HasSubstr;

// The CPU's AttentionLayer::attend for queries q: [T, heads, D] at positions start.., whose keys
// and values are already in `cache`. Returns context [T, heads · D].
std::vector<float> cpu_attention(const std::vector<float>& q, std::int64_t tokens,
                                 std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim,
                                 std::int64_t start, const LayerKVCache& cache) {
  const std::int64_t group = heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> context(static_cast<std::size_t>(tokens * heads * head_dim), 0.0f);
  for (std::int64_t t = 0; t < tokens; ++t) {
    const std::int64_t position = start + t;
    const std::int64_t first = cache.first_visible(position);
    const std::int64_t count = position - first + 1;
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t g = h / group;
      const float* keys = cache.keys(g, first, position);      // [count, head_dim]
      const float* values = cache.values(g, first, position);  // [count, head_dim]
      const float* query = q.data() + (t * heads + h) * head_dim;
      std::vector<float> scores(static_cast<std::size_t>(count));
      float max_score = -std::numeric_limits<float>::infinity();
      for (std::int64_t j = 0; j < count; ++j) {
        float dot = 0.0f;
        for (std::int64_t d = 0; d < head_dim; ++d) dot += query[d] * keys[j * head_dim + d];
        scores[static_cast<std::size_t>(j)] = dot * scale;
        max_score = std::max(max_score, dot * scale);
      }
      float total = 0.0f;
      for (float& s : scores) {
        s = std::exp(s - max_score);
        total += s;
      }
      float* out = context.data() + (t * heads + h) * head_dim;
      for (std::int64_t j = 0; j < count; ++j) {
        for (std::int64_t d = 0; d < head_dim; ++d) {
          out[d] += scores[static_cast<std::size_t>(j)] / total * values[j * head_dim + d];
        }
      }
    }
  }
  return context;
}

struct KernelCase {
  std::string name;
  std::int64_t heads, kv_heads, head_dim;
  std::int64_t chunk;               // 0: a global layer
  std::vector<std::int64_t> calls;  // tokens per call; a chunked layer's calls stay inside a chunk
};

void PrintTo(const KernelCase& c, std::ostream* out) {
  *out << c.name << ": " << c.heads << " query heads, " << c.kv_heads << " kv heads, head_dim "
       << c.head_dim << ", " << (c.chunk > 0 ? "chunk " + std::to_string(c.chunk) : "global")
       << ", calls of " << sizes_text(c.calls) << " tokens";
}

class AttentionKernel : public GpuTestWithParam<KernelCase> {};

// Each call appends its keys and values to both caches and attends; the contexts must agree, and a
// second launch must give the same bits.
TEST_P(AttentionKernel, MatchesTheCpuLoopCallAfterCall) {
  const KernelCase& c = GetParam();
  std::int64_t capacity = 0;
  for (const std::int64_t call : c.calls) capacity += call;
  const std::optional<std::int64_t> chunk =
      c.chunk > 0 ? std::optional<std::int64_t>(c.chunk) : std::nullopt;
  LayerKVCache cpu_cache(c.kv_heads, c.head_dim, capacity, chunk);
  DeviceKVCache gpu_cache(c.kv_heads, c.head_dim, capacity, chunk);
  EXPECT_EQ(gpu_cache.slots(), cpu_cache.slots());
  std::mt19937 generator(static_cast<unsigned>(c.heads * 7 + c.head_dim + c.chunk));
  const std::int64_t row = c.kv_heads * c.head_dim;
  for (const std::int64_t tokens : c.calls) {
    const std::int64_t start = cpu_cache.next_position();
    const std::vector<float> q =
        random_normal(static_cast<std::size_t>(tokens * c.heads * c.head_dim), generator);
    const std::vector<float> k = random_normal(static_cast<std::size_t>(tokens * row), generator);
    const std::vector<float> v = random_normal(static_cast<std::size_t>(tokens * row), generator);
    for (std::int64_t t = 0; t < tokens; ++t)
      cpu_cache.append(start + t, k.data() + t * row, v.data() + t * row);
    const std::vector<float> want =
        cpu_attention(q, tokens, c.heads, c.kv_heads, c.head_dim, start, cpu_cache);

    const DeviceBuffer<float> q_device(q), k_device(k), v_device(v);
    gpu_cache.append(k_device.data(), v_device.data(), tokens);
    EXPECT_EQ(gpu_cache.next_position(), cpu_cache.next_position());
    DeviceBuffer<float> context(want.size());
    const auto run = [&] {
      gpu::attention(q_device.data(), gpu_cache.keys(), gpu_cache.values(), context.data(), tokens,
                     c.heads, c.kv_heads, c.head_dim, start, gpu_cache.chunk_size());
      return context.to_host();
    };
    const std::vector<float> got = run();
    EXPECT_LT(nmse(got, want), kF32SumNmse) << "call at position " << start;
    EXPECT_TRUE(same_bits(run(), got))
        << "a second run gave different bits, call at position " << start;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionKernel,
    ::testing::Values(
        KernelCase{"OneHeadOneToken", 1, 1, 2, 0, {1}},
        KernelCase{"GlobalGqaPrefillThenDecode", 6, 2, 18, 0, {7, 1, 1, 4}},
        KernelCase{"ChunkedRingOfFive", 4, 2, 16, 5, {5, 1, 1, 1, 1, 1, 3, 2, 5, 4}},
        // More visible keys than the block's 256 threads: several tiles of probabilities.
        KernelCase{"GlobalLongerThanABlock", 8, 1, 128, 0, {1, 260, 1, 300}},
        KernelCase{"ChunkedLongerThanABlock", 3, 3, 65, 300, {300, 1, 2, 297, 5}},
        KernelCase{"HeadDimAboveTheBlockSize", 2, 1, 300, 0, {3, 1}}),
    case_name<KernelCase>);

// The slots hold what the CPU's ring holds: after positions 0 .. 12 with chunk 5, positions 10..12
// sit in slots 0..2. (The device keeps them position-major, [slots, kv_heads, D]; the CPU
// head-major, [kv_heads, slots, D]: gpu/kv_cache.hpp says why.)
TEST_F(GpuTest, DeviceCacheRingLayoutMatchesTheCpu) {
  constexpr std::int64_t kKvHeads = 2, kHeadDim = 3, kRow = kKvHeads * kHeadDim, kChunk = 5,
                         kPositions = 13;
  LayerKVCache cpu_cache(kKvHeads, kHeadDim, 64, kChunk);
  DeviceKVCache gpu_cache(kKvHeads, kHeadDim, 64, kChunk);
  std::mt19937 generator(5);
  for (std::int64_t p = 0; p < kPositions; ++p) {
    const std::vector<float> k = random_normal(kRow, generator), v = random_normal(kRow, generator);
    cpu_cache.append(p, k.data(), v.data());
    const DeviceBuffer<float> k_device(k), v_device(v);
    gpu_cache.append(k_device.data(), v_device.data(), 1);
  }
  std::vector<float> keys(static_cast<std::size_t>(gpu_cache.slots() * kRow));
  gpu::copy_to_host(keys.data(), gpu_cache.keys(), keys.size() * sizeof(float));
  for (std::int64_t g = 0; g < kKvHeads; ++g) {
    const float* cpu_keys = cpu_cache.keys(g, 10, 12);  // [3, kHeadDim]
    for (std::int64_t slot = 0; slot < 3; ++slot) {
      for (std::int64_t d = 0; d < kHeadDim; ++d) {
        EXPECT_EQ(keys[static_cast<std::size_t>(slot * kRow + g * kHeadDim + d)],
                  cpu_keys[slot * kHeadDim + d])
            << "slot " << slot << " kv head " << g;
      }
    }
  }
  EXPECT_EQ(gpu_cache.first_visible(12), 10);
  EXPECT_EQ(gpu_cache.first_visible(9), 5);
}

TEST_F(GpuTest, DeviceCacheRefusesWhatTheCpuCacheRefuses) {
  DeviceKVCache chunked(1, 4, 16, 5);
  const DeviceBuffer<float> rows(std::vector<float>(4 * 8, 1.0f));
  EXPECT_THAT([&] { chunked.append(rows.data(), rows.data(), 6); },
              ::testing::ThrowsMessage<Error>(HasSubstr("positions 0..5 cross a chunk boundary")));
  DeviceKVCache global(1, 4, 3, std::nullopt);
  EXPECT_THAT(
      [&] { global.append(rows.data(), rows.data(), 4); },
      ::testing::ThrowsMessage<Error>(HasSubstr("position 3 is past the context length 3")));
  global.append(rows.data(), rows.data(), 3);
  EXPECT_EQ(global.next_position(), 3);
  global.clear();
  EXPECT_EQ(global.next_position(), 0);
  EXPECT_EQ(DeviceKVCache(2, 4, 100, 8).slots(), 8);
  EXPECT_EQ(DeviceKVCache(2, 4, 6, 8).slots(), 6);  // a context shorter than a chunk
}

TEST(GpuAttentionKernel, UnevenHeadGroupsAreAnError) {
  // Checked on the host before the launch, so this runs without a GPU (but not against the
  // GPU_BACKEND=off stub, which refuses every call).
  if (gpu::probe().backend == "off") GTEST_SKIP() << "built with GPU_BACKEND=off";
  EXPECT_THAT([] { gpu::attention(nullptr, nullptr, nullptr, nullptr, 1, 6, 4, 16, 0, 0); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("6 query heads cannot share 4 key/value heads evenly")));
}

// ---------------------------------------------------------------------------------------------
// The whole attention block: GpuAttention against AttentionLayer, every recorded stage.

struct LayerCase {
  std::string name;
  std::int64_t hidden, heads, kv_heads, head_dim, chunk;
  LayerConfig kind;
  bool rope_scaling;
  std::vector<std::int64_t> calls;
};

void PrintTo(const LayerCase& c, std::ostream* out) {
  *out << c.name << ": hidden " << c.hidden << ", " << c.heads << " query heads, " << c.kv_heads
       << " kv heads, head_dim " << c.head_dim << ", chunk " << c.chunk << ", "
       << (c.kind.uses_rope ? "RoPE" : "NoPE")
       << (c.kind.chunked_attention ? " chunked" : " global")
       << (c.kind.uses_qk_norm ? " QK-norm" : "")
       << (c.kind.uses_temperature_tuning ? " temperature" : "")
       << (c.rope_scaling ? ", llama3 scaling" : "") << ", calls of " << sizes_text(c.calls)
       << " tokens";
}

class AttentionBlock : public GpuTestWithParam<LayerCase> {};

TEST_P(AttentionBlock, MatchesAttentionLayerAtEveryStage) {
  const LayerCase& c = GetParam();
  ModelConfig config = small_config(c.hidden, c.heads, c.kv_heads, c.head_dim, 4, 1, 24);
  config.attention_chunk_size = c.chunk;
  config.layers = {c.kind};
  if (!c.rope_scaling) config.rope_scaling = std::nullopt;
  std::mt19937 generator(static_cast<unsigned>(c.hidden + c.heads + c.chunk));
  const AttentionWeights weights{random_weight({c.heads * c.head_dim, c.hidden}, generator),
                                 random_weight({c.kv_heads * c.head_dim, c.hidden}, generator),
                                 random_weight({c.kv_heads * c.head_dim, c.hidden}, generator),
                                 random_weight({c.hidden, c.heads * c.head_dim}, generator)};
  const std::vector<float> frequencies =
      rope_inverse_frequencies(c.head_dim, config.rope_theta, config.rope_scaling);
  const AttentionLayer cpu(config, 0, weights, frequencies);
  const DeviceBuffer<float> frequencies_device(frequencies);
  const gpu::GpuAttention gpu_layer(config, 0, weights, frequencies_device.data());

  std::int64_t capacity = 0;
  for (const std::int64_t call : c.calls) capacity += call;
  LayerKVCache cpu_cache = cpu.make_cache(capacity);
  DeviceKVCache gpu_cache = gpu_layer.make_cache(capacity);
  gpu::Workspace workspace;
  ActivationRecorder cpu_recorder, gpu_recorder;
  for (const std::int64_t tokens : c.calls) {
    const Tensor x = random_tensor({tokens, c.hidden}, generator);
    const Tensor want = cpu.forward(x, cpu_cache, &cpu_recorder);
    workspace.reserve(config, tokens);
    const DeviceBuffer<float> x_device = to_device(x);
    DeviceBuffer<float> out(static_cast<std::size_t>(tokens * c.hidden));
    gpu_layer.forward(x_device.data(), tokens, gpu_cache, out.data(), workspace, &gpu_recorder);
    EXPECT_LT(nmse(out.to_host(), to_vector(want)), kF32SumNmse)
        << "call at " << gpu_cache.next_position() - tokens;
  }
  // Every stage the CPU recorded (but the probabilities, which the GPU does not keep) over all
  // calls.
  int stages = 0;
  for (const std::string& name : cpu_recorder.names()) {
    if (name.ends_with("attn_probs")) continue;
    ASSERT_TRUE(gpu_recorder.contains(name)) << name;
    const Tensor gpu_stage = gpu_recorder.concatenated(name);
    const Tensor cpu_stage = cpu_recorder.concatenated(name);
    EXPECT_EQ(gpu_stage.shape(), cpu_stage.shape()) << name;
    EXPECT_LT(nmse(to_vector(gpu_stage), to_vector(cpu_stage)), kF32SumNmse) << name;
    ++stages;
  }
  EXPECT_GE(stages, 6);
  EXPECT_EQ(gpu_recorder.names().size(), static_cast<std::size_t>(stages));
}

constexpr LayerConfig kRopeChunkedQkNorm{.uses_rope = true,
                                         .chunked_attention = true,
                                         .uses_qk_norm = true,
                                         .uses_temperature_tuning = false,
                                         .is_moe = false};
constexpr LayerConfig kRopeChunked{.uses_rope = true,
                                   .chunked_attention = true,
                                   .uses_qk_norm = false,
                                   .uses_temperature_tuning = false,
                                   .is_moe = false};
constexpr LayerConfig kNopeGlobalTemperature{.uses_rope = false,
                                             .chunked_attention = false,
                                             .uses_qk_norm = false,
                                             .uses_temperature_tuning = true,
                                             .is_moe = false};

INSTANTIATE_TEST_SUITE_P(
    Layers, AttentionBlock,
    ::testing::Values(
        // Scout's RoPE layers: a prefill that crosses two chunk boundaries, then single tokens.
        LayerCase{"ScoutRopeLayer", 37, 6, 2, 18, 5, kRopeChunkedQkNorm, true, {12, 1, 1, 4, 1, 9}},
        // Scout's NoPE layers: global, temperature-tuned queries (floor_scale 3: it changes often).
        LayerCase{
            "ScoutNopeLayer", 37, 6, 2, 18, 5, kNopeGlobalTemperature, true, {12, 1, 1, 4, 1, 9}},
        // Maverick's RoPE layers: no QK norm, no RoPE scaling.
        LayerCase{"MaverickRopeLayer",
                  64,
                  4,
                  4,
                  16,
                  8,
                  kRopeChunked,
                  false,
                  {10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
        // More keys than a block has threads, in one call and across calls.
        LayerCase{"LongGlobal", 64, 2, 1, 128, 8192, kNopeGlobalTemperature, true, {300, 1, 299}},
        LayerCase{"LongChunked", 64, 2, 1, 128, 270, kRopeChunkedQkNorm, true, {600, 1}}),
    case_name<LayerCase>);

}  // namespace
}  // namespace llama4::testing
