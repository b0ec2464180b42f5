// What the GPU benchmarks (bench/bench_gpu.cpp) need beside the kernels they time: data that is not
// zero, and times read off the GPU's own clock.
//
// Never time zeros: a kernel can run faster on them than on real numbers, and they hide an output
// nobody wrote. And time on the GPU's clock (events), after a warm-up: a launch returns before its
// kernel has run, and the first launches pay for loading the module.
#pragma once

#include <cstdint>
#include <functional>

#include "common/tensors/bfloat16.hpp"

namespace llama4::gpu {

// Fills x: [count] (device memory) with numbers uniform in [-scale, scale), each a hash of (seed,
// index): the same numbers on every run and every GPU. Queued like a kernel.
void fill_random(float* x, std::int64_t count, std::uint64_t seed, float scale);
void fill_random(bfloat16* x, std::int64_t count, std::uint64_t seed, float scale);

// Milliseconds per run of `run_once(r)`, measured with two GPU events around `runs` runs
// (r = 0 .. runs-1) queued back to back, after `warm_up` untimed runs. run_once only queues work
// (kernel launches); the events see when the GPU started and finished it.
double milliseconds_per_run(const std::function<void(int run)>& run_once, int warm_up, int runs);

}  // namespace llama4::gpu
