// The GPU's memory bandwidth, measured: the ceiling the benchmarks (bench/bench_gpu.cpp) judge the
// kernels by. Decoding one token reads every weight once, so tokens per second can never beat
// bandwidth / bytes_read_per_token; how close a kernel comes is the figure that matters.
//
// Both functions time `repeats` runs with GPU events (the GPU's own clock, so launch overheads on
// the host do not count) after one warm-up run, and return bytes per second.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// A kernel that reads x: [count] f32 (device) and nothing else (one float per thread is kept in
// registers; `sink`, [1] f32 on the device, is written only to stop the compiler from dropping the
// reads). count must be a multiple of 4: the kernel reads 16-byte float4s.
double read_bandwidth(const float* x, std::int64_t count, float* sink, int repeats);

// A device-to-device copy of count floats with the runtime's memcpy; counts the bytes read and the
// bytes written (2 · 4 · count per copy).
double copy_bandwidth(float* destination, const float* source, std::int64_t count, int repeats);

}  // namespace llama4::gpu
