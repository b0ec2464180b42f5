// Argmax: one block per row, a reduction of (value, index) pairs through shared memory.
#include "gpu/sampler.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// Whether (value, index) beats the current best: larger, or equal with a lower index. NaN is never
// larger or equal, so it never wins. index < 0 marks "nothing yet".
__device__ inline bool beats(float value, std::int64_t index, float best_value,
                             std::int64_t best_index) {
  if (best_index < 0) return value == value;  // anything but NaN beats nothing
  return value > best_value || (value == best_value && index < best_index);
}

// logits: [rows, vocab] f32, ids: [rows] int32. Grid (rows), block 256.
//
// Each thread finds the best of its elements (i = thread, thread + 256, ...); then the 256
// candidates are halved in shared memory, 128 pairs, 64, ... 1, with a barrier between rounds. (The
// sums elsewhere use warp shuffles; a pair of value and index is easier to follow this way.)
__global__ void argmax_rows_kernel(const float* logits, std::int32_t* ids, std::int64_t vocab) {
  __shared__ float best_values[kThreadsPerBlock];
  __shared__ std::int64_t best_indices[kThreadsPerBlock];
  const float* row = logits + static_cast<std::int64_t>(blockIdx.x) * vocab;
  float best_value = 0.0f;
  std::int64_t best_index = -1;
  for (std::int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    if (beats(row[i], i, best_value, best_index)) {
      best_value = row[i];
      best_index = i;
    }
  }
  best_values[threadIdx.x] = best_value;
  best_indices[threadIdx.x] = best_index;
  __syncthreads();
  for (unsigned int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      const unsigned int other = threadIdx.x + half;
      if (best_indices[other] >= 0 && beats(best_values[other], best_indices[other],
                                            best_values[threadIdx.x], best_indices[threadIdx.x])) {
        best_values[threadIdx.x] = best_values[other];
        best_indices[threadIdx.x] = best_indices[other];
      }
    }
    __syncthreads();  // this round's winners are written before the next round reads them
  }
  if (threadIdx.x == 0)
    ids[blockIdx.x] = static_cast<std::int32_t>(best_indices[0] < 0 ? 0 : best_indices[0]);
}

}  // namespace

void argmax_rows(const float* logits, std::int32_t* ids, std::int64_t rows, std::int64_t vocab) {
  if (rows == 0) return;  // a launch with zero blocks is an error
  // The halving needs a power-of-two block; kThreadsPerBlock is one.
  static_assert((kThreadsPerBlock & (kThreadsPerBlock - 1)) == 0);
  argmax_rows_kernel<<<blocks_for(rows, 1, "argmax_rows"), kThreadsPerBlock>>>(logits, ids, vocab);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
