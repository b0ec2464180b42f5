#include "bench/ceilings.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>

namespace llama4::bench {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double measure_read_bandwidth() {
  // 1 GiB, 64-byte aligned like every Tensor: with std::vector's 16-byte alignment half of the
  // 64-byte loads straddle two cache lines, and the "ceiling" came out a third too low.
  const std::size_t count = (std::size_t{1} << 30) / sizeof(float);
  constexpr std::align_val_t kAlignment{64};
  std::unique_ptr<float, void (*)(float*)> memory(
      static_cast<float*>(::operator new(count * sizeof(float), kAlignment)),
      [](float* p) { ::operator delete(p, kAlignment); });
  float* data = memory.get();
#pragma omp parallel for schedule(static)  // first touch by the threads that will read it
  for (std::size_t i = 0; i < count; ++i) data[i] = static_cast<float>(i & 7);
  // Sum in blocks of 64 floats into 64 independent partial sums: four AVX-512 registers' worth of
  // accumulators, so the adds never wait on each other and only memory sets the pace. (One scalar
  // accumulator measured a third of the real bandwidth here: the ceiling must not be the
  // bottleneck.)
  constexpr std::size_t kBlock = 64;
  double best = 0;
  volatile float sink = 0;
  // The best of many passes: on a virtual machine a pass can run at a third of the usual speed
  // (for instance while the OS still reclaims memory another process just freed), so keep going
  // until five passes in a row fail to beat the best, up to 40.
  int passes_without_progress = 0;
  for (int pass = 0; pass < 40 && passes_without_progress < 5; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    float total = 0;
#pragma omp parallel reduction(+ : total)
    {
      float partial[kBlock] = {};
#pragma omp for schedule(static)
      for (std::size_t block = 0; block < count / kBlock; ++block) {
        const float* values = data + block * kBlock;
#pragma omp simd
        for (std::size_t k = 0; k < kBlock; ++k) partial[k] += values[k];
      }
      for (float p : partial) total += p;
    }
    const double seconds = seconds_since(start);
    sink = sink + total;
    const double bandwidth = static_cast<double>(count * sizeof(float)) / seconds;
    passes_without_progress = bandwidth > best * 1.01 ? 0 : passes_without_progress + 1;
    best = std::max(best, bandwidth);
  }
  return best;
}

double measure_peak_flops() {
  // 16 independent accumulator lanes x 8 chains per thread: enough independent FMAs to fill the
  // pipelines of a vector unit. The compiler vectorises the inner loop (omp simd).
  constexpr int kLanes = 16;
  constexpr int kChains = 8;
  constexpr std::int64_t kIterations = 20'000'000;
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    int threads = 1;
    float checksum = 0;
#pragma omp parallel reduction(+ : checksum)
    {
#pragma omp single
      threads = omp_get_num_threads();
      float accumulator[kChains][kLanes];
      for (int c = 0; c < kChains; ++c)
        for (int l = 0; l < kLanes; ++l) accumulator[c][l] = static_cast<float>(l + c);
      const float a = 0.999999f, b = 1e-7f;
      for (std::int64_t i = 0; i < kIterations / 16; ++i) {
        for (int c = 0; c < kChains; ++c) {
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) accumulator[c][l] = accumulator[c][l] * a + b;
        }
      }
      for (int c = 0; c < kChains; ++c)
        for (int l = 0; l < kLanes; ++l) checksum += accumulator[c][l];
    }
    const double seconds = seconds_since(start);
    const double flops = 2.0 * kChains * kLanes * static_cast<double>(kIterations / 16) * threads;
    best = std::max(best, flops / seconds + 0 * checksum);
  }
  return best;
}

}  // namespace

double read_bandwidth_bytes_per_second() {
  static const double value = measure_read_bandwidth();
  return value;
}

double measure_read_bandwidth_again_bytes_per_second() {
  return measure_read_bandwidth();
}

double peak_flops_per_second() {
  static const double value = measure_peak_flops();
  return value;
}

}  // namespace llama4::bench
