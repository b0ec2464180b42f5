// The RoPE kernel: one thread per pair of numbers.
#include "gpu/rope.hpp"

#include "common/tensors/error.hpp"
#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// x: [tokens, heads, head_dim] f32 in place, inverse_frequencies: [head_dim / 2] f32.
// Grid (ceil(heads * head_dim/2 / 256), tokens): thread p of token t rotates pair i = p % (D/2) of
// head h = p / (D/2), i.e. (x[t, h, 2i], x[t, h, 2i+1]), by the angle position · θ_i.
//
// The CPU computes each angle's cosine and sine once per (token, pair) and reuses them across the
// heads; here each thread computes its own. A GPU has arithmetic to spare; what it must not do is
// make threads wait for each other.
__global__ void rope_kernel(float* x, std::int64_t heads, std::int64_t head_dim,
                            std::int64_t start_position, const float* inverse_frequencies) {
  const std::int64_t half = head_dim / 2;
  const std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t t = blockIdx.y;
  if (p >= heads * half) return;
  const std::int64_t h = p / half;
  const std::int64_t i = p % half;
  const auto position = static_cast<float>(start_position + t);
  const float angle = position * inverse_frequencies[i];  // f32, like the CPU and HF
  const float cos = cosf(angle);
  const float sin = sinf(angle);
  // The pair (x[2i], x[2i+1]) is the complex number a + bi; multiply by cos + i·sin.
  float* pair = x + (t * heads + h) * head_dim + 2 * i;
  const float a = pair[0];
  const float b = pair[1];
  pair[0] = a * cos - b * sin;
  pair[1] = a * sin + b * cos;
}

}  // namespace

void apply_rope(float* x, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
                std::int64_t start_position, const float* inverse_frequencies) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    fail("apply_rope: RoPE needs an even head_dim, got ", head_dim);
  if (tokens == 0 || heads == 0) return;  // a launch with zero blocks is an error
  const dim3 grid(blocks_for(heads * (head_dim / 2), kThreadsPerBlock, "apply_rope"),
                  grid_rows(tokens, "apply_rope"));
  rope_kernel<<<grid, kThreadsPerBlock>>>(x, heads, head_dim, start_position, inverse_frequencies);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
