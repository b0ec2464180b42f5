// Benchmarks of chapters 03-07: every stage of one Llama 4 layer at Scout's shapes, with random
// bf16 weights, each reported next to this machine's ceilings (bench/ceilings.hpp).
//
//   build/bin/bench_stages [--benchmark_filter=Attention]
//
// Shapes are Scout's: hidden 5120, 40 query and 8 kv heads of 128, experts of width 8192, a
// vocabulary of 202048. Weights are random (speed does not depend on their values) and made once
// per benchmark family; the largest, the 16-expert MoE layer, is 4.3 GB, and only one family's data
// is alive at a time.
//
// How to read the numbers. A decode step (T = 1) reads every weight it touches once and does 2
// flops per weight: it is bounded by memory bandwidth, judge it by "of_bandwidth". Prefill (many
// tokens) reuses each weight for every token and can approach the FLOP ceiling: judge it by
// "of_peak". The element-wise stages (embedding, norms, RoPE) stream activations through memory and
// are judged by bandwidth too.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/ceilings.hpp"
#include "bench/report.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/embedding.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/layers/moe.hpp"
#include "common/layers/moe_router.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

// ---------------------------------------------------------------------------------------------
// Random tensors, fast: element i is a hash of (seed, i), filled on every core.

std::uint64_t mix(std::uint64_t z) {  // splitmix64's finaliser: a good 64-bit hash
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [-scale, scale).
float random_value(std::uint64_t seed, std::int64_t i, float scale) {
  const std::uint64_t bits = mix(seed * 0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(i));
  return scale * (static_cast<float>(bits >> 40) / static_cast<float>(1 << 23) - 1.0f);
}

Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed, float scale = 1.0f) {
  Tensor t = Tensor::zeros(shape, dtype);
  const std::int64_t count = t.numel();
  if (dtype == DType::BF16) {
    bfloat16* data = t.mutable_data<bfloat16>();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i)
      data[i] = float_to_bfloat16(random_value(seed, i, scale));
  } else {
    float* data = t.mutable_data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) data[i] = random_value(seed, i, scale);
  }
  return t;
}

// A bf16 weight of small values, like HF's initialiser (std 0.02). The values do not change the
// speed; keeping them small only keeps activations far from overflow and from denormals.
Tensor random_weight(const Shape& shape, std::uint64_t seed) {
  return random_tensor(shape, DType::BF16, seed, 0.035f);
}

// ---------------------------------------------------------------------------------------------
// One benchmark family's data at a time: the next family's fixture frees the previous one, so the
// peak memory is that of the largest family, not the sum.

std::string current_fixture_key;
std::shared_ptr<void> current_fixture;

template <class Fixture>
const Fixture& fixture(const std::string& key, const std::function<Fixture()>& make) {
  if (key != current_fixture_key) {
    current_fixture.reset();  // free the previous family's data first
    current_fixture = std::make_shared<Fixture>(make());
    current_fixture_key = key;
  }
  return *static_cast<const Fixture*>(current_fixture.get());
}

// Scout's text config (HF's defaults are Scout's trunk; only the RoPE scaling must be spelled out).
const ModelConfig& scout() {
  static const ModelConfig config = parse_model_config(
      R"({"model_type": "llama4_text", "attn_temperature_tuning": true,
          "rope_scaling": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}})",
      "Scout (built in)");
  return config;
}

constexpr std::int64_t kHidden = 5120, kHeads = 40, kKvHeads = 8, kHeadDim = 128;
constexpr std::int64_t kVocab = 202048, kExpertWidth = 8192, kDenseWidth = 16384, kExperts = 16;

BENCHMARK(bench::BM_Ceilings)->Iterations(1);

// ---------------------------------------------------------------------------------------------
// Chapter 03: gather T random rows of the [202048, 5120] bf16 table (2.07 GB) into x: [T, 5120]
// f32. Bytes: 2 read + 4 written per number.

void BM_Embedding(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const Tensor& table = fixture<Tensor>("embedding", [] {
    return random_tensor({kVocab, kHidden}, DType::BF16, 1);
  });
  std::vector<std::int32_t> ids(static_cast<std::size_t>(tokens));
  for (std::int64_t t = 0; t < tokens; ++t)
    ids[static_cast<std::size_t>(t)] =
        static_cast<std::int32_t>(mix(static_cast<std::uint64_t>(t)) % kVocab);
  Tensor x = Tensor::zeros({tokens, kHidden});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    embed_tokens(ids, table, x);
    benchmark::ClobberMemory();
  }
  bench::report_bandwidth(state, 6.0 * static_cast<double>(tokens * kHidden), stopwatch);
}
BENCHMARK(BM_Embedding)->Arg(1)->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Chapter 04: RMSNorm over x: [T, 5120] (read x, write y: 8 bytes per number), and the QK norm over
// q: [T, 40, 128] in place (same traffic).

void BM_RmsNorm(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 2);
  const Tensor weight = random_tensor({kHidden}, DType::BF16, 3);
  Tensor y = Tensor::zeros({tokens, kHidden});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    rms_norm(x, weight, 1e-5f, y);
    benchmark::ClobberMemory();
  }
  bench::report_bandwidth(state, 8.0 * static_cast<double>(tokens * kHidden), stopwatch);
}
BENCHMARK(BM_RmsNorm)->Arg(1)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_QkNorm(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  Tensor q = random_tensor({tokens, kHeads, kHeadDim}, DType::F32, 4);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    qk_norm(q, 1e-5f);
    benchmark::ClobberMemory();
  }
  bench::report_bandwidth(state, 8.0 * static_cast<double>(tokens * kHeads * kHeadDim), stopwatch);
}
BENCHMARK(BM_QkNorm)->Arg(1)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Chapter 05: RoPE over q: [T, 40, 128] in place, with Scout's scaled table, at positions from
// 100000 (the cost does not depend on the position).

void BM_Rope(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const std::vector<float> frequencies =
      rope_inverse_frequencies(kHeadDim, 500000.0, scout().rope_scaling);
  Tensor q = random_tensor({tokens, kHeads, kHeadDim}, DType::F32, 5);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    apply_rope(q, 100000, frequencies);
    benchmark::ClobberMemory();
  }
  bench::report_bandwidth(state, 8.0 * static_cast<double>(tokens * kHeads * kHeadDim), stopwatch);
}
BENCHMARK(BM_Rope)->Arg(1)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Chapter 06: one Scout attention layer (q/k/v/o projections, 126 MB of bf16 weights) on a KV
// cache.

AttentionWeights random_attention_weights() {
  return AttentionWeights{random_weight({kHeads * kHeadDim, kHidden}, 10),
                          random_weight({kKvHeads * kHeadDim, kHidden}, 11),
                          random_weight({kKvHeads * kHeadDim, kHidden}, 12),
                          random_weight({kHidden, kHeads * kHeadDim}, 13)};
}

const AttentionWeights& attention_weights() {
  return fixture<AttentionWeights>("attention", random_attention_weights);
}

// Weights of the four projections (62.9 M): each is read once per call (2 bytes) and used for 2
// flops per token (a multiply and an add).
constexpr double kAttentionWeights =
    2.0 * kHidden * kHeads * kHeadDim + 2.0 * kHidden * kKvHeads * kHeadDim;

// Fills `cache` with `count` positions of random keys and values (a pool of rows, reused).
void fill_cache(LayerKVCache& cache, std::int64_t count) {
  const Tensor pool = random_tensor({256, kKvHeads * kHeadDim}, DType::F32, 14);
  for (std::int64_t p = 0; p < count; ++p) {
    const float* row = pool.data<float>() + (p % 256) * kKvHeads * kHeadDim;
    cache.append(p, row, row);
  }
}

// Decode: one new token at position `context` of layer 0 (chunked, C = 8192) or layer 3 (global).
// Bytes: the projection weights plus the visible keys and values (f32). The cache grows by one
// position per iteration, so the iteration count is fixed and small next to the context, and the
// chunked layer's positions stay inside one chunk (8160..8179 sees 8161..8180 keys; a position of
// 8192 would start a new chunk and see 1).
void BM_AttentionDecode(benchmark::State& state) {
  const std::int64_t layer_index = state.range(0), context = state.range(1);
  const AttentionLayer layer(scout(), layer_index, attention_weights(),
                             rope_inverse_frequencies(kHeadDim, 500000.0, scout().rope_scaling));
  LayerKVCache cache = layer.make_cache(context + 64);
  fill_cache(cache, context);
  const Tensor x = random_tensor({1, kHidden}, DType::F32, 15);
  const std::int64_t visible = context - cache.first_visible(context) + 1;
  const bench::Stopwatch stopwatch;
  for (auto _ : state) benchmark::DoNotOptimize(layer.forward(x, cache));
  const double kv_bytes = 2.0 * static_cast<double>(visible * kKvHeads * kHeadDim) * sizeof(float);
  bench::report_bandwidth(state, 2.0 * kAttentionWeights + kv_bytes, stopwatch);
  bench::report_flops(
      state, 2.0 * kAttentionWeights + 4.0 * static_cast<double>(kHeads * kHeadDim * visible),
      stopwatch);
  state.counters["keys_seen"] = static_cast<double>(visible);
  state.SetLabel(layer.kind().chunked_attention ? "chunked" : "global");
}
BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"layer", "context"})
    ->Args({3, 1024})
    ->Args({3, 8192})
    ->Args({3, 32768})
    ->Args({0, 8160})
    ->Args({0, 32768 + 8160})
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Prefill: T tokens from position 0 through layer 0 (T < 8192, so all in one chunk: causal).
// Flops: the four projections plus q·k and p·v over the T(T+1)/2 visible (query, key) pairs.
void BM_AttentionPrefill(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const AttentionLayer layer(scout(), 0, attention_weights(),
                             rope_inverse_frequencies(kHeadDim, 500000.0, scout().rope_scaling));
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 16);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    LayerKVCache cache = layer.make_cache(tokens);
    benchmark::DoNotOptimize(layer.forward(x, cache));
  }
  const double pairs = static_cast<double>(tokens * (tokens + 1) / 2);
  bench::report_flops(
      state,
      2.0 * kAttentionWeights * static_cast<double>(tokens) + 4.0 * kHeads * kHeadDim * pairs,
      stopwatch);
}
BENCHMARK(BM_AttentionPrefill)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Chapter 07: one Scout MoE layer: router [16, 5120], 16 experts (gate_up [16, 5120, 16384],
// down [16, 8192, 5120]) and the shared expert: 4.3 GB of bf16.

MoeWeights random_moe_weights() {
  return MoeWeights{random_weight({kExperts, kHidden}, 20),
                    random_weight({kExperts, kHidden, 2 * kExpertWidth}, 21),
                    random_weight({kExperts, kExpertWidth, kHidden}, 22),
                    FeedForward{random_weight({kExpertWidth, kHidden}, 23),
                                random_weight({kExpertWidth, kHidden}, 24),
                                random_weight({kHidden, kExpertWidth}, 25)}};
}

constexpr double kExpertBytes = 2.0 * 3 * kHidden * kExpertWidth;  // one SwiGLU expert in bf16
constexpr double kExpertFlopsPerToken = 2.0 * 3 * kHidden * kExpertWidth;

// T tokens through the whole layer. Bytes: the router, the shared expert and every expert that at
// least one token was routed to (random weights spread tokens over the experts).
void BM_MoeLayer(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const MoeLayer& moe =
      fixture<MoeLayer>("moe", [] { return MoeLayer(scout(), 0, random_moe_weights()); });
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 26);
  const RouterChoice choice = route_tokens(x, moe.weights().router, 1);
  const std::set<std::int32_t> experts_used(choice.expert_index.begin(), choice.expert_index.end());
  const bench::Stopwatch stopwatch;
  for (auto _ : state) benchmark::DoNotOptimize(moe.forward(x));
  const double router = 2.0 * kExperts * kHidden;
  bench::report_bandwidth(
      state, router + kExpertBytes * static_cast<double>(experts_used.size() + 1), stopwatch);
  bench::report_flops(state, static_cast<double>(tokens) * (router + 2 * kExpertFlopsPerToken),
                      stopwatch);
  state.counters["experts_used"] = static_cast<double>(experts_used.size());
}
BENCHMARK(BM_MoeLayer)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

// One routed expert alone (input-major weights, `matmul`) and the shared expert alone (`nn.Linear`
// weights, `linear`): the same arithmetic through the two weight layouts.
void BM_RoutedExpert(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const MoeLayer& moe =
      fixture<MoeLayer>("moe", [] { return MoeLayer(scout(), 0, random_moe_weights()); });
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 27);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) benchmark::DoNotOptimize(moe.expert(5, x));
  bench::report_bandwidth(state, kExpertBytes, stopwatch);
  bench::report_flops(state, static_cast<double>(tokens) * kExpertFlopsPerToken, stopwatch);
}
BENCHMARK(BM_RoutedExpert)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SharedExpert(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const MoeLayer& moe =
      fixture<MoeLayer>("moe", [] { return MoeLayer(scout(), 0, random_moe_weights()); });
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 28);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) benchmark::DoNotOptimize(moe.weights().shared_expert.forward(x));
  bench::report_bandwidth(state, kExpertBytes, stopwatch);
  bench::report_flops(state, static_cast<double>(tokens) * kExpertFlopsPerToken, stopwatch);
}
BENCHMARK(BM_SharedExpert)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// Maverick's dense SwiGLU layers: width 16384, 503 MB of bf16.
void BM_DenseMlp(benchmark::State& state) {
  const std::int64_t tokens = state.range(0);
  const FeedForward& mlp = fixture<FeedForward>("dense", [] {
    return FeedForward{random_weight({kDenseWidth, kHidden}, 30),
                       random_weight({kDenseWidth, kHidden}, 31),
                       random_weight({kHidden, kDenseWidth}, 32)};
  });
  const Tensor x = random_tensor({tokens, kHidden}, DType::F32, 33);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) benchmark::DoNotOptimize(mlp.forward(x));
  const double weights = 3.0 * kHidden * kDenseWidth;
  bench::report_bandwidth(state, 2.0 * weights, stopwatch);
  bench::report_flops(state, static_cast<double>(tokens) * 2.0 * weights, stopwatch);
}
BENCHMARK(BM_DenseMlp)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(bench::BM_CeilingsAgain)->Iterations(1);

}  // namespace
}  // namespace llama4

BENCHMARK_MAIN();
