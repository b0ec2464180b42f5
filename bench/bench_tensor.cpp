// Chapter 01 benchmarks: bf16 -> f32 conversion and the two matrix products, each reported next
// to this machine's ceilings (bench/ceilings.hpp) measured in the same process.
//
//   build/bin/bench_tensor
//
// Decode-shaped products (one row of x) read every weight once and do 2 flops per weight, so they
// are bounded by memory bandwidth: judge them by "of_bandwidth". Prefill-shaped products (many
// rows) reuse each weight for every row and can approach the FLOP ceiling: judge them by "of_peak".
#include <benchmark/benchmark.h>

#include <random>

#include "bench/ceilings.hpp"
#include "bench/report.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

Tensor random_tensor(const Shape& shape, DType dtype) {
  std::mt19937 generator(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t = Tensor::zeros(shape, DType::F32);
  float* data = t.mutable_data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = normal(generator);
  return dtype == DType::F32 ? t : t.to(dtype);
}

BENCHMARK(bench::BM_Ceilings)->Iterations(1);

// bf16 -> f32 over 64 Mi elements: 2 bytes read + 4 written per element.
void BM_Bf16ToF32(benchmark::State& state) {
  const Tensor source = random_tensor({64 << 20}, DType::BF16);
  Tensor target = Tensor::zeros({64 << 20}, DType::F32);
  const bfloat16* in = source.data<bfloat16>();
  float* out = target.mutable_data<float>();
  const std::int64_t count = source.numel();
  const bench::Stopwatch stopwatch;
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < count; ++i) out[i] = bfloat16_to_float(in[i]);
    benchmark::ClobberMemory();
  }
  bench::report_bandwidth(state, 6.0 * static_cast<double>(count), stopwatch);
}
BENCHMARK(BM_Bf16ToF32)->Unit(benchmark::kMillisecond)->UseRealTime();

// linear: x [rows, 5120] · W [out, 5120]ᵀ with bf16 W (Scout's hidden size; 4096 x 5120 = 40 MiB).
void BM_Linear(benchmark::State& state) {
  const std::int64_t rows = state.range(0), in = 5120, out = 4096;
  const Tensor x = random_tensor({rows, in}, DType::F32);
  const Tensor w = random_tensor({out, in}, DType::BF16);
  Tensor y = Tensor::zeros({rows, out});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) linear(x, w, y);
  bench::report_bandwidth(state, 2.0 * static_cast<double>(out * in), stopwatch);
  bench::report_flops(state, 2.0 * static_cast<double>(rows * out * in), stopwatch);
}
BENCHMARK(BM_Linear)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// matmul: x [rows, 5120] · W [5120, 4096] with bf16 W, the routed-expert layout.
void BM_Matmul(benchmark::State& state) {
  const std::int64_t rows = state.range(0), in = 5120, out = 4096;
  const Tensor x = random_tensor({rows, in}, DType::F32);
  const Tensor w = random_tensor({in, out}, DType::BF16);
  Tensor y = Tensor::zeros({rows, out});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) matmul(x, w, y);
  bench::report_bandwidth(state, 2.0 * static_cast<double>(out * in), stopwatch);
  bench::report_flops(state, 2.0 * static_cast<double>(rows * out * in), stopwatch);
}
BENCHMARK(BM_Matmul)->Arg(1)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(bench::BM_CeilingsAgain)->Iterations(1);

}  // namespace
}  // namespace llama4

BENCHMARK_MAIN();
