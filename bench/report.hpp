// Reporting a benchmark's figures next to the machine's ceilings (bench/ceilings.hpp).
//
// Google Benchmark's own rate counters divide by the elapsed time for us, but print every rate with
// a "/s" suffix, so a ratio such as "of_bandwidth" would read "0.55/s". Instead each benchmark runs
// a Stopwatch over its loop and these functions set plain counters from it:
//
//   bench::Stopwatch stopwatch;                      // starts now
//   for (auto _ : state) work();
//   bench::report_bandwidth(state, bytes_per_iteration, stopwatch);   // GB/s=41.1
//   of_bandwidth=0.55
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>

namespace llama4::bench {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void pause() { paused_at_ = std::chrono::steady_clock::now(); }  // with state.PauseTiming()
  void resume() { paused_ += std::chrono::steady_clock::now() - paused_at_; }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_ - paused_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point paused_at_;
  std::chrono::steady_clock::duration paused_{};
};

// "GB/s" and "of_bandwidth": bytes moved per second, and that as a fraction of the read bandwidth.
void report_bandwidth(benchmark::State& state, double bytes_per_iteration,
                      const Stopwatch& stopwatch);
// "GFLOP/s" and "of_peak": floating-point operations per second, and that as a fraction of the
// peak.
void report_flops(benchmark::State& state, double flops_per_iteration, const Stopwatch& stopwatch);
// Any other rate, e.g. report_rate(state, "tok/s", tokens_per_iteration, stopwatch).
void report_rate(benchmark::State& state, const char* name, double amount_per_iteration,
                 const Stopwatch& stopwatch);

// The ceilings themselves, so the output shows the numbers the ratios divide by. Every program
// registers BM_Ceilings first and BM_CeilingsAgain last:
//
//   BENCHMARK(bench::BM_Ceilings)->Iterations(1);        // read_GB/s, peak_GFLOP/s
//   ... the program's benchmarks ...
//   BENCHMARK(bench::BM_CeilingsAgain)->Iterations(1);   // read_GB/s measured again, and
//                                                        // held=again/first (near 1: a fair run)
void BM_Ceilings(benchmark::State& state);
void BM_CeilingsAgain(benchmark::State& state);

}  // namespace llama4::bench
