// RMSNorm and QK norm kernels: one block per vector. The block adds up the squares (block_sum, as
// in gpu/reduce.hip), then every thread scales its share of the vector.
#include "gpu/rms_norm.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// [excerpt rms_norm_kernel]
// 1 / sqrt(mean(v²) + eps) over v: [n], for every thread of the block (the CPU's inverse_rms).
// Every thread of the block must call it.
__device__ float block_inverse_rms(const float* v, std::int64_t n, float eps) {
  float partial = 0.0f;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) partial += v[i] * v[i];
  const float sum_of_squares = block_sum(partial);
  return 1.0f / sqrtf(sum_of_squares / static_cast<float>(n) + eps);
}

// x, y: [rows, hidden] f32, weight: [hidden] bf16 bits. Grid (rows): block r normalises row r.
// y may be x: each thread reads its elements (in block_inverse_rms) before block_sum's barrier and
// writes only its own elements after it.
__global__ void rms_norm_kernel(const float* x, const std::uint16_t* weight, float* y,
                                std::int64_t hidden, float eps) {
  const std::int64_t r = blockIdx.x;
  const float* in = x + r * hidden;
  float* out = y + r * hidden;
  const float scale = block_inverse_rms(in, hidden, eps);
  for (std::int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    out[i] = in[i] * scale * bf16_bits_to_float(weight[i]);  // same order as the CPU: (x·s)·w
  }
}
// [end excerpt]

// x: [vectors, head_dim] f32, in place. Grid (vectors): block v normalises vector v (one head of
// one token: per head, never across heads).
__global__ void qk_norm_kernel(float* x, std::int64_t head_dim, float eps) {
  float* head = x + static_cast<std::int64_t>(blockIdx.x) * head_dim;
  const float scale = block_inverse_rms(head, head_dim, eps);
  for (std::int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) head[d] *= scale;
}

}  // namespace

void rms_norm(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
              std::int64_t hidden, float eps) {
  if (rows == 0) return;  // a launch with zero blocks is an error
  rms_norm_kernel<<<blocks_for(rows, 1, "rms_norm"), kThreadsPerBlock>>>(x, as_bits(weight), y,
                                                                         hidden, eps);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void qk_norm(float* x, std::int64_t vectors, std::int64_t head_dim, float eps) {
  if (vectors == 0) return;
  qk_norm_kernel<<<blocks_for(vectors, 1, "qk_norm"), kThreadsPerBlock>>>(x, head_dim, eps);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
