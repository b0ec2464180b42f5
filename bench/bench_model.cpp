// Chapter 08 benchmarks: decode and prefill speed of the whole model on synthetic Llama 4 shapes
// (common/model/synthetic_model.hpp), next to this machine's ceilings measured in the same process.
// Chapter 12 adds the same model with its weights quantized (1b/q8_0, 1b/q4_0, 1b/q4_1).
//
//   build/bin/bench_model                                  100m and 1b, bf16 and quantized
//   build/bin/bench_model --benchmark_filter='1b'          the 1b model in each format
//   build/bin/bench_model --benchmark_filter=scout_layer   one full-size Scout layer (8.6 GB of
//   weights)
//
// Decode (one token per forward pass) reads every active weight once per token: its ceiling is
// memory bandwidth, so it is reported as GB/s of weights read and "of_bandwidth". Prefill (a batch
// of tokens per pass) reuses each weight for every token: it is reported as GFLOP/s and "of_peak".
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "bench/ceilings.hpp"
#include "bench/report.hpp"
#include "common/model/model.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/quantization/block_formats.hpp"
#include "common/quantization/quantized_checkpoint.hpp"

namespace llama4 {
namespace {

// "1b" (bf16, as made) or "1b/q4_0" (the same weights quantized, chapter 12). Made once, kept.
const Model& synthetic(const std::string& name_and_format) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& slot = models[name_and_format];
  if (!slot) {
    const std::size_t slash = name_and_format.find('/');
    const std::string name = name_and_format.substr(0, slash);
    const ModelConfig config = synthetic_config(name);
    Checkpoint checkpoint = synthetic_checkpoint(config, 1);
    if (slash != std::string::npos) {
      const DType format = parse_quantization_format(name_and_format.substr(slash + 1));
      checkpoint = quantize_checkpoint(checkpoint, {format});
    }
    slot = std::make_unique<Model>(config, std::move(checkpoint));
  }
  return *slot;
}

// One decode step per iteration, after a 32-token prompt; the cache restarts when it fills up.
void BM_Decode(benchmark::State& state, const std::string& name) {
  const Model& model = synthetic(name);
  constexpr std::int64_t kContext = 512;
  KVCache cache = model.make_cache(kContext);
  const std::vector<std::int32_t> prompt(32, 7);
  model.forward(prompt, cache, LogitRows::last);
  std::int32_t token = 11;
  bench::Stopwatch stopwatch;
  for (auto _ : state) {
    if (cache.next_position() == kContext) {
      state.PauseTiming();
      stopwatch.pause();
      cache.clear();
      model.forward(prompt, cache, LogitRows::last);
      stopwatch.resume();
      state.ResumeTiming();
    }
    const Tensor logits = model.forward(std::span(&token, 1), cache, LogitRows::last);
    benchmark::DoNotOptimize(logits.data<float>());
  }
  bench::report_rate(state, "tok/s", 1.0, stopwatch);
  bench::report_bandwidth(state, static_cast<double>(model.bytes_read_per_token()), stopwatch);
  state.counters["MB/token"] = static_cast<double>(model.bytes_read_per_token()) / 1e6;
}

// state.range(0) sequences decoding together (Model::forward_batch), each after its own 32-token
// prompt; reported as tokens per second of the whole batch. The weights are read once per step
// for all the sequences (more of the routed experts, as the batch's tokens choose different ones).
void BM_DecodeBatch(benchmark::State& state, const std::string& name) {
  const Model& model = synthetic(name);
  const std::int64_t batch = state.range(0);
  constexpr std::int64_t kContext = 512;
  std::vector<KVCache> caches;
  std::vector<KVCache*> pointers;
  const auto start = [&] {
    caches.clear();
    pointers.clear();
    for (std::int64_t b = 0; b < batch; ++b) {
      caches.push_back(model.make_cache(kContext));
      const std::vector<std::int32_t> prompt(32, static_cast<std::int32_t>(7 + b));
      model.forward(prompt, caches.back(), LogitRows::last);
    }
    for (KVCache& cache : caches) pointers.push_back(&cache);
  };
  start();
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(batch), 11);
  bench::Stopwatch stopwatch;
  for (auto _ : state) {
    if (caches.front().next_position() == kContext) {
      state.PauseTiming();
      stopwatch.pause();
      start();
      stopwatch.resume();
      state.ResumeTiming();
    }
    const Tensor logits = model.forward_batch(tokens, pointers);
    benchmark::DoNotOptimize(logits.data<float>());
  }
  bench::report_rate(state, "tok/s", static_cast<double>(batch), stopwatch);
}

// A prompt of state.range(0) tokens from an empty cache, last-row logits only.
void BM_Prefill(benchmark::State& state, const std::string& name) {
  const Model& model = synthetic(name);
  const std::int64_t length = state.range(0);
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(length));
  for (std::int64_t i = 0; i < length; ++i)
    prompt[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 7919) % 30000);
  KVCache cache = model.make_cache(length);
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
    cache.clear();
    const Tensor logits = model.forward(prompt, cache, LogitRows::last);
    benchmark::DoNotOptimize(logits.data<float>());
  }
  // Weight FLOPs only (2 per weight per token, LM head once); attention adds a little on top.
  const double flops_per_pass =
      static_cast<double>(model.flops_per_token()) * static_cast<double>(length) -
      2.0 * static_cast<double>(model.config().vocab_size * model.config().hidden_size) *
          static_cast<double>(length - 1);
  bench::report_rate(state, "tok/s", static_cast<double>(length), stopwatch);
  bench::report_flops(state, flops_per_pass, stopwatch);
}

BENCHMARK(bench::BM_Ceilings)->Iterations(1);
BENCHMARK_CAPTURE(BM_Decode, 100m, std::string("100m"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Decode, 1b, std::string("1b"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_Decode, 1b / q8_0, std::string("1b/q8_0"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_Decode, 1b / q4_0, std::string("1b/q4_0"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_Decode, 1b / q4_1, std::string("1b/q4_1"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK_CAPTURE(BM_DecodeBatch, 1b, std::string("1b"))
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Prefill, 100m, std::string("100m"))
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Prefill, 1b, std::string("1b"))
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Prefill, 1b / q8_0, std::string("1b/q8_0"))
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Prefill, 1b / q4_0, std::string("1b/q4_0"))
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Prefill, 1b / q4_1, std::string("1b/q4_1"))
    ->Arg(128)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Decode, scout_layer, std::string("scout-layer"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Prefill, scout_layer, std::string("scout-layer"))
    ->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(bench::BM_CeilingsAgain)->Iterations(1);

}  // namespace
}  // namespace llama4

BENCHMARK_MAIN();
