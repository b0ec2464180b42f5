// Row sums on the GPU: the two ways a kernel adds up numbers spread over many threads. The model
// needs such sums everywhere (RMSNorm's mean square, softmax's denominator, attention scores);
// these two kernels exist to show and test the building blocks in gpu/hip_portable.hpp.
//
//   row_sum           one block per row: block_sum (shuffles within each warp, then shared memory
//                     across the warps)
//   row_sum_per_warp  one warp per row: warp_allreduce_sum (shuffles only)
//
// Pointers are device memory; the functions return as soon as the kernel is queued.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// y: [rows], y[r] = sum_c x[r, c], x: [rows, cols].
void row_sum(const float* x, float* y, std::int64_t rows, std::int64_t cols);
void row_sum_per_warp(const float* x, float* y, std::int64_t rows, std::int64_t cols);

}  // namespace llama4::gpu
