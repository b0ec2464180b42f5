// bf16 <-> f32 conversion kernels: the simplest possible kernel shape, one thread per element.
#include "gpu/convert.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// x: [count] bf16 bits, y: [count] f32. Thread i of the grid converts element i; the grid is
// rounded up to whole blocks, so the last block's extra threads do nothing.
__global__ void bf16_to_f32_kernel(const std::uint16_t* x, float* y, std::int64_t count) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] = bf16_bits_to_float(x[i]);
}

// x: [count] f32, y: [count] bf16 bits.
__global__ void f32_to_bf16_kernel(const float* x, std::uint16_t* y, std::int64_t count) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) y[i] = float_to_bf16_bits(x[i]);
}

}  // namespace

void bf16_to_f32(const bfloat16* x, float* y, std::int64_t count) {
  if (count == 0) return;  // a launch with zero blocks is an error
  const unsigned int blocks = blocks_for(count, kThreadsPerBlock, "bf16_to_f32");
  bf16_to_f32_kernel<<<blocks, kThreadsPerBlock>>>(as_bits(x), y, count);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void f32_to_bf16(const float* x, bfloat16* y, std::int64_t count) {
  if (count == 0) return;
  const unsigned int blocks = blocks_for(count, kThreadsPerBlock, "f32_to_bf16");
  f32_to_bf16_kernel<<<blocks, kThreadsPerBlock>>>(x, as_bits(y), count);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
