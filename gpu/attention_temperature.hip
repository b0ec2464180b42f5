// The attention temperature kernel: one thread per query element.
#include "gpu/attention_temperature.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// q: [tokens, row_size] f32 in place. Grid (ceil(row_size / 256), tokens). Every thread of token t
// computes the same scale; recomputing it costs less than a second kernel or a table would.
__global__ void attention_temperature_kernel(float* q, std::int64_t row_size,
                                             std::int64_t start_position, float floor_scale,
                                             float attn_scale) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t t = blockIdx.y;
  if (i >= row_size) return;
  const std::int64_t position = start_position + t;
  // The CPU's attention_temperature(), line for line.
  const float steps = floorf((static_cast<float>(position) + 1.0f) / floor_scale);
  const float scale = log1pf(steps) * attn_scale + 1.0f;
  q[t * row_size + i] *= scale;
}

}  // namespace

void apply_attention_temperature(float* q, std::int64_t tokens, std::int64_t row_size,
                                 std::int64_t start_position, double floor_scale,
                                 double attn_scale) {
  if (tokens == 0 || row_size == 0) return;  // a launch with zero blocks is an error
  const dim3 grid(blocks_for(row_size, kThreadsPerBlock, "apply_attention_temperature"),
                  grid_rows(tokens, "apply_attention_temperature"));
  attention_temperature_kernel<<<grid, kThreadsPerBlock>>>(
      q, row_size, start_position, static_cast<float>(floor_scale), static_cast<float>(attn_scale));
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
