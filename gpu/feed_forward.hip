// SwiGLU kernels: one thread per output element.
#include "gpu/feed_forward.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// The CPU's silu(), common/layers/feed_forward.hpp.
__device__ inline float silu(float z) {
  return z / (1.0f + expf(-z));
}

// gate, up: [count] f32; gate is overwritten. Grid (ceil(count / 256)).
__global__ void swiglu_kernel(float* gate, const float* up, std::int64_t count) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) gate[i] = silu(gate[i]) * up[i];
}

// gate_up: [rows, 2·width] f32, hidden: [rows, width] f32. Grid (ceil(width / 256), rows): thread c
// of row r reads the gate at column c and the up value at column width + c of the same row.
__global__ void swiglu_fused_kernel(const float* gate_up, float* hidden, std::int64_t width) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t r = blockIdx.y;
  if (c >= width) return;
  const float* gate = gate_up + r * 2 * width;  // first half of the row
  const float* up = gate + width;               // second half
  hidden[r * width + c] = silu(gate[c]) * up[c];
}

}  // namespace

void swiglu(float* gate, const float* up, std::int64_t count) {
  if (count == 0) return;  // a launch with zero blocks is an error
  swiglu_kernel<<<blocks_for(count, kThreadsPerBlock, "swiglu"), kThreadsPerBlock>>>(gate, up,
                                                                                     count);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void swiglu_fused(const float* gate_up, float* hidden, std::int64_t rows, std::int64_t width) {
  if (rows == 0 || width == 0) return;
  const dim3 grid(blocks_for(width, kThreadsPerBlock, "swiglu_fused"),
                  grid_rows(rows, "swiglu_fused"));
  swiglu_fused_kernel<<<grid, kThreadsPerBlock>>>(gate_up, hidden, width);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
