// linear and matmul kernels, written to be read, not to be fast (the optimised versions come in a
// later chapter). Each picks the thread layout that makes its weight reads coalesced: the threads
// of a warp read neighbouring addresses, which the GPU serves as one wide memory transaction.
#include "gpu/matmul.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// x: [rows, in] f32, weight: [out, in] bf16 bits, y: [rows, out] f32. Grid (out, rows).
//
// One block per output element: block (o, r) computes y[r, o] = dot(x[r, :], weight[o, :]).
// A weight row is contiguous, so thread t takes elements t, t + 256, t + 512, ...: at every step
// the block's threads read 256 neighbouring weights. block_sum then adds the threads' partial sums.
__global__ void linear_kernel(const float* x, const std::uint16_t* weight, float* y,
                              std::int64_t in, std::int64_t out) {
  const std::int64_t o = blockIdx.x;
  const std::int64_t r = blockIdx.y;
  const float* x_row = x + r * in;
  const std::uint16_t* weight_row = weight + o * in;
  float partial = 0.0f;
  for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) {
    partial += x_row[i] * bf16_bits_to_float(weight_row[i]);
  }
  const float total = block_sum(partial);  // every thread must get here: no early return above
  if (threadIdx.x == 0) y[r * out + o] = total;
}

// x: [rows, in] f32, weight: [in, out] bf16 bits, y: [rows, out] f32. Grid (ceil(out / 256), rows).
//
// One thread per output element: thread c of row r computes y[r, c] = sum_i x[r, i] * W[i, c],
// walking down column c of the weight. At each step i the threads of a block read W[i, c..c+255],
// neighbouring addresses, while x[r, i] is the same for all of them.
__global__ void matmul_kernel(const float* x, const std::uint16_t* weight, float* y,
                              std::int64_t in, std::int64_t out) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t r = blockIdx.y;
  if (c >= out) return;  // the last block's extra threads
  const float* x_row = x + r * in;
  float sum = 0.0f;
  for (std::int64_t i = 0; i < in; ++i) sum += x_row[i] * bf16_bits_to_float(weight[i * out + c]);
  y[r * out + c] = sum;
}

}  // namespace

void linear(const float* x, const bfloat16* weight, float* y, std::int64_t rows, std::int64_t in,
            std::int64_t out) {
  if (rows == 0 || out == 0) return;  // nothing to compute; a launch with zero blocks is an error
  const dim3 grid(blocks_for(out, 1, "linear"), grid_rows(rows, "linear"));
  linear_kernel<<<grid, kThreadsPerBlock>>>(x, as_bits(weight), y, in, out);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void matmul(const float* x, const bfloat16* weight, float* y, std::int64_t rows, std::int64_t in,
            std::int64_t out) {
  if (rows == 0 || out == 0) return;
  const dim3 grid(blocks_for(out, kThreadsPerBlock, "matmul"), grid_rows(rows, "matmul"));
  matmul_kernel<<<grid, kThreadsPerBlock>>>(x, as_bits(weight), y, in, out);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
