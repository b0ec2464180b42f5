// Chapter 12 benchmarks: the quantized matrix product, kernel by kernel (v1: dequantize to floats
// in registers; v2: int8 x int8 with AVX-512 VNNI or AVX2, decode only), beside bf16 on the same
// matrix (widened to f32, or in bf16 pairs with AVX-512 BF16) and this machine's ceilings
// measured in the same process.
//
//   build/bin/bench_quantization
//
// The matrix is 4096 x 5120 like chapter 01's BM_Linear (Scout's hidden size). Decode (one row of
// x) should be bounded by memory: "GB/s" counts the weight bytes read, in the format's own size, so
// of_bandwidth near 1 means the kernel keeps up with memory. Prefill (64 rows) is judged by
// of_peak.
#include <benchmark/benchmark.h>

#include <random>

#include "bench/ceilings.hpp"
#include "bench/report.hpp"
#include "common/quantization/block_formats.hpp"
#include "common/quantization/integer_dot.hpp"
#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

Tensor random_weights(std::int64_t out, std::int64_t in) {
  std::mt19937 generator(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t = Tensor::zeros({out, in});
  float* data = t.mutable_data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = normal(generator);
  return t;
}

// state.range(0): rows of x. `format`: BF16 or a block type. `kernel`: which quantized kernel.
void BM_QuantizedLinear(benchmark::State& state, DType format, QuantizedKernel kernel) {
  set_quantized_kernel(kernel == QuantizedKernel::dequantize_to_float ? kernel
                                                                      : QuantizedKernel::automatic);
  if (kernel != QuantizedKernel::dequantize_to_float && !using_integer_dot()) {
    state.SkipWithError("neither AVX-512 VNNI nor AVX2 on this CPU");
    return;
  }
  if (kernel == QuantizedKernel::eight_rows && !has_eight_row_kernel()) {
    state.SkipWithError("no AVX-512 VNNI on this CPU (kernel v3)");
    return;
  }
  set_quantized_kernel(kernel);
  const std::int64_t rows = state.range(0), in = 5120, out = 4096;
  const Tensor weights = random_weights(out, in).to(format);
  const Tensor x = random_weights(rows, in);
  Tensor y = Tensor::zeros({rows, out});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) linear(x, weights, y);
  bench::report_bandwidth(state, static_cast<double>(weights.nbytes()), stopwatch);
  bench::report_flops(state, 2.0 * static_cast<double>(rows * out * in), stopwatch);
  set_quantized_kernel(QuantizedKernel::automatic);
}

// bf16 weights with each of their kernels (bfloat16_dot.hpp): widened to f32, or multiplied in
// bf16 pairs by vdpbf16ps with x rounded to bf16. Both layouts: linear's [out, in] and the routed
// experts' input-major [in, out] (matmul), which the pair kernel must interleave as it loads.
void BM_Bf16Product(benchmark::State& state, bool input_major, Bf16Kernel kernel) {
  if (kernel == Bf16Kernel::bf16_pairs && !cpu_has_bf16_pairs()) {
    state.SkipWithError("no AVX-512 BF16 on this CPU");
    return;
  }
  set_bf16_kernel(kernel);
  const std::int64_t rows = state.range(0), in = 5120, out = 4096;
  const Tensor weights =
      (input_major ? random_weights(in, out) : random_weights(out, in)).to(DType::BF16);
  const Tensor x = random_weights(rows, in);
  Tensor y = Tensor::zeros({rows, out});
  const bench::Stopwatch stopwatch;
  for (auto _ : state) input_major ? matmul(x, weights, y) : linear(x, weights, y);
  bench::report_bandwidth(state, static_cast<double>(weights.nbytes()), stopwatch);
  bench::report_flops(state, 2.0 * static_cast<double>(rows * out * in), stopwatch);
  set_bf16_kernel(Bf16Kernel::widen_to_float);
}

constexpr auto kFloat = QuantizedKernel::dequantize_to_float;
constexpr auto kInteger = QuantizedKernel::integer_dot;
constexpr auto kEightRows = QuantizedKernel::eight_rows;
constexpr auto kInterleaved = QuantizedKernel::interleaved;

BENCHMARK(bench::BM_Ceilings)->Iterations(1);
BENCHMARK_CAPTURE(BM_QuantizedLinear, bf16, DType::BF16, kFloat)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q8_0_v1, DType::Q8_0, kFloat)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q8_0_v2, DType::Q8_0, kInteger)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_0_v1, DType::Q4_0, kFloat)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_0_v2, DType::Q4_0, kInteger)->Arg(1);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_0_v3, DType::Q4_0, kEightRows)->Arg(1);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_0_v4, DType::Q4_0, kInterleaved)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_1_v1, DType::Q4_1, kFloat)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_QuantizedLinear, q4_1_v2, DType::Q4_1, kInteger)->Arg(1);
constexpr auto kWiden = Bf16Kernel::widen_to_float;
constexpr auto kPairs = Bf16Kernel::bf16_pairs;
BENCHMARK_CAPTURE(BM_Bf16Product, linear_widen, false, kWiden)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_Bf16Product, linear_pairs, false, kPairs)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_Bf16Product, matmul_widen, true, kWiden)->Arg(1)->Arg(64);
BENCHMARK_CAPTURE(BM_Bf16Product, matmul_pairs, true, kPairs)->Arg(1)->Arg(64);
BENCHMARK(bench::BM_CeilingsAgain)->Iterations(1);

}  // namespace
}  // namespace llama4

BENCHMARK_MAIN();
