// Chapter 11 benchmark: training speed. One iteration is one whole training step of
// chapter11_train (forward, backward, clipping, AdamW) on B sequences of T tokens, next to this
// machine's FMA peak measured in the same process.
//
//   build/bin/bench_training                                       the bible config, B 16, T 256
//   LLAMA4_BENCH_CONFIG=other.json build/bin/bench_training        another config
//
// Training is compute-bound (every weight is reused by all B·T tokens), so the figures are
// "tok/s" (training tokens per second) and GFLOP/s with "of_peak". The FLOPs are counted from the
// config, matrix products only: a forward pass costs 2 FLOPs per weight used per token plus the
// attention's two products over the keys each query sees; the backward pass costs twice the
// forward (a gradient for the input and one for the weight of every product).
// bench/training_vs_pytorch.sh runs the same step in PyTorch, alternating with this program.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "bench/ceilings.hpp"
#include "bench/report.hpp"
#include "common/program/keep_freed_memory.hpp"
#include "common/tensors/model_config.hpp"
#include "common/training/adamw.hpp"
#include "common/training/initialization.hpp"
#include "common/training/trainable_model.hpp"

namespace llama4 {
namespace {

ModelConfig bench_config() {
  const char* path = std::getenv("LLAMA4_BENCH_CONFIG");
  return load_model_config(path != nullptr && *path != '\0'
                               ? std::filesystem::path(path)
                               : std::filesystem::path(LLAMA4_SOURCE_DIR) /
                                     "chapters/11_training/configs/bible.json");
}

// Keys seen by a query at position p (0-based) of a T-token sequence, summed over the sequence:
// p + 1 on a global layer, (p mod C) + 1 on a chunked one.
double keys_seen(std::int64_t tokens, std::optional<std::int64_t> chunk) {
  double sum = 0;
  for (std::int64_t p = 0; p < tokens; ++p)
    sum += static_cast<double>((chunk ? p % *chunk : p) + 1);
  return sum;
}

// Matrix-product FLOPs of one training step (forward + backward) on B sequences of T tokens.
double training_flops(const ModelConfig& c, std::int64_t sequences, std::int64_t tokens) {
  const double H = static_cast<double>(c.hidden_size), D = static_cast<double>(c.head_dim);
  const double heads = static_cast<double>(c.num_attention_heads);
  const double kv_heads = static_cast<double>(c.num_key_value_heads);
  const double T = static_cast<double>(tokens);
  double per_sequence = 0;  // forward FLOPs of one sequence
  for (const LayerConfig& layer : c.layers) {
    // q, k, v and o projections, per token.
    per_sequence += T * 2 * H * D * (2 * heads + 2 * kv_heads);
    // scores q·k and the weighted sum of v: 2·D FLOPs each, per head, per key seen.
    const std::optional<std::int64_t> chunk =
        layer.chunked_attention ? c.attention_chunk_size : std::nullopt;
    per_sequence += 2 * (2 * D * heads) * keys_seen(tokens, chunk);
    if (layer.is_moe) {
      const double I = static_cast<double>(c.intermediate_size);
      const double experts_used = static_cast<double>(c.num_experts_per_tok);
      per_sequence += T * (2 * H * static_cast<double>(c.num_local_experts)  // router
                           + (experts_used + 1) * 2 * 3 * H * I);            // routed + shared
    } else {
      per_sequence += T * 2 * 3 * H * static_cast<double>(c.intermediate_size_mlp);
    }
  }
  per_sequence += T * 2 * H * static_cast<double>(c.vocab_size);  // LM head
  return 3 * per_sequence * static_cast<double>(sequences);       // forward + backward (2x)
}

// One training step per iteration, as chapter11_train does it, on random token ids.
void BM_TrainingStep(benchmark::State& state) {
  keep_freed_memory_for_reuse();
  const ModelConfig config = bench_config();
  const std::int64_t sequences = state.range(0), tokens = state.range(1);
  TrainableModel model(config);
  initialise_weights(model, 1);
  AdamW optimizer(AdamWSettings{}, model.parameters().count());
  std::mt19937 random(7);
  std::uniform_int_distribution<std::int32_t> id(
      0, static_cast<std::int32_t>(config.vocab_size) - 2049);  // ranks, not special tokens
  std::vector<std::int32_t> batch(static_cast<std::size_t>(sequences * (tokens + 1)));
  for (std::int32_t& value : batch) value = id(random);

  bench::Stopwatch stopwatch;
  for (auto _ : state) {
    const double loss = model.forward_backward(batch, sequences);
    clip_gradient_norm(model.parameters().gradients(), 1.0);
    optimizer.step(model.parameters(), 1e-4);
    benchmark::DoNotOptimize(loss);
  }
  bench::report_rate(state, "tok/s", static_cast<double>(sequences * tokens), stopwatch);
  bench::report_flops(state, training_flops(config, sequences, tokens), stopwatch);
  state.counters["params_M"] = static_cast<double>(model.parameters().count()) / 1e6;
}

}  // namespace
}  // namespace llama4

BENCHMARK(llama4::bench::BM_Ceilings)->Iterations(1);
BENCHMARK(llama4::BM_TrainingStep)
    ->Args({16, 256})  // chapter11_train's bible run
    ->Args({4, 256})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0);
BENCHMARK(llama4::bench::BM_CeilingsAgain)->Iterations(1);
BENCHMARK_MAIN();
