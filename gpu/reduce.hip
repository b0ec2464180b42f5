// Row sums: one block per row, and one warp per row.
#include "gpu/reduce.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// x: [rows, cols], y: [rows]. Grid (rows). Block r sums row r: each thread adds every 256th
// element, then block_sum adds the 256 partial sums.
__global__ void row_sum_kernel(const float* x, float* y, std::int64_t cols) {
  const std::int64_t r = blockIdx.x;
  const float* row = x + r * cols;
  float partial = 0.0f;
  for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) partial += row[i];
  const float total = block_sum(partial);
  if (threadIdx.x == 0) y[r] = total;
}

// x: [rows, cols], y: [rows]. Warp w of the grid sums row w: each lane adds every kWarpSize-th
// element, then warp_allreduce_sum gives every lane the total. The host sized the grid for the
// widest warp, so on a GPU with narrower warps the surplus warps have no row and leave.
__global__ void row_sum_per_warp_kernel(const float* x, float* y, std::int64_t rows,
                                        std::int64_t cols) {
  const std::int64_t thread = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t r = thread / kWarpSize;
  const int lane = static_cast<int>(thread % kWarpSize);
  if (r >= rows) return;  // all lanes of a warp share r, so whole warps leave together
  const float* row = x + r * cols;
  float partial = 0.0f;
  for (std::int64_t i = lane; i < cols; i += kWarpSize) partial += row[i];
  const float total = warp_allreduce_sum(partial);
  // The LAST lane writes: after a reduction into lane 0 only (warp_reduce_sum) it would hold a
  // partial sum, so this also checks that the all-reduce really reaches every lane.
  if (lane == kWarpSize - 1) y[r] = total;
}

}  // namespace

void row_sum(const float* x, float* y, std::int64_t rows, std::int64_t cols) {
  if (rows == 0) return;  // a launch with zero blocks is an error
  row_sum_kernel<<<blocks_for(rows, 1, "row_sum"), kThreadsPerBlock>>>(x, y, cols);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void row_sum_per_warp(const float* x, float* y, std::int64_t rows, std::int64_t cols) {
  if (rows == 0) return;
  constexpr int kRowsPerBlock = kThreadsPerBlock / kMaxWarpSize;
  const unsigned int blocks = blocks_for(rows, kRowsPerBlock, "row_sum_per_warp");
  row_sum_per_warp_kernel<<<blocks, kThreadsPerBlock>>>(x, y, rows, cols);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
