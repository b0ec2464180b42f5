#include "bench/report.hpp"

#include "bench/ceilings.hpp"

namespace llama4::bench {
namespace {

double per_second(const benchmark::State& state, double amount_per_iteration,
                  const Stopwatch& stopwatch) {
  const double seconds = stopwatch.seconds();
  return seconds > 0 ? amount_per_iteration * static_cast<double>(state.iterations()) / seconds
                     : 0.0;
}

}  // namespace

void report_bandwidth(benchmark::State& state, double bytes_per_iteration,
                      const Stopwatch& stopwatch) {
  const double bytes_per_second = per_second(state, bytes_per_iteration, stopwatch);
  state.counters["GB/s"] = bytes_per_second / 1e9;
  state.counters["of_bandwidth"] = bytes_per_second / read_bandwidth_bytes_per_second();
}

void report_flops(benchmark::State& state, double flops_per_iteration, const Stopwatch& stopwatch) {
  const double flops_per_second = per_second(state, flops_per_iteration, stopwatch);
  state.counters["GFLOP/s"] = flops_per_second / 1e9;
  state.counters["of_peak"] = flops_per_second / peak_flops_per_second();
}

void report_rate(benchmark::State& state, const char* name, double amount_per_iteration,
                 const Stopwatch& stopwatch) {
  state.counters[name] = per_second(state, amount_per_iteration, stopwatch);
}

void BM_Ceilings(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(read_bandwidth_bytes_per_second());
  state.counters["read_GB/s"] = read_bandwidth_bytes_per_second() / 1e9;
  state.counters["peak_GFLOP/s"] = peak_flops_per_second() / 1e9;
}

void BM_CeilingsAgain(benchmark::State& state) {
  double again = 0;
  for (auto _ : state) again = measure_read_bandwidth_again_bytes_per_second();
  state.counters["read_GB/s"] = again / 1e9;
  state.counters["held"] = again / read_bandwidth_bytes_per_second();
}

}  // namespace llama4::bench
