// MoE kernels: the router's top-k (one thread per token), and the gather and scatter around each
// expert (one thread per element).
#include "gpu/moe.hpp"

#include "common/tensors/error.hpp"
#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// logits: [tokens, experts] f32, expert_index, expert_score: [tokens, top_k]. Grid
// (ceil(tokens / 256)): thread t routes token t.
//
// The CPU sorts the experts by logit (stable: ties keep the lower index first) and takes the first
// k. Here choice i is the best expert that ranks after choice i - 1 in that same order, "after"
// meaning a lower logit, or an equal logit and a higher index. That needs no sorting and no memory:
// k passes over the E logits (E = 16 in Scout, 128 in Maverick; k = 1 in both).
__global__ void route_top_k_kernel(const float* logits, std::int32_t* expert_index,
                                   float* expert_score, std::int64_t tokens, std::int64_t experts,
                                   std::int64_t top_k) {
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= tokens) return;
  const float* row = logits + t * experts;
  float previous_logit = INFINITY;
  std::int64_t previous_expert = -1;
  for (std::int64_t i = 0; i < top_k; ++i) {
    std::int64_t best = -1;
    for (std::int64_t e = 0; e < experts; ++e) {
      const float logit = row[e];
      const bool after_previous =
          logit < previous_logit || (logit == previous_logit && e > previous_expert);
      if (after_previous && (best < 0 || logit > row[best]))
        best = e;  // '>' keeps the lower index on ties
    }
    // best stays -1 only if no logit qualifies (NaNs); the host rejects the -1 (batch_by_expert).
    expert_index[t * top_k + i] = static_cast<std::int32_t>(best);
    expert_score[t * top_k + i] = best < 0 ? 0.0f : 1.0f / (1.0f + expf(-row[best]));  // sigmoid
    if (best < 0) continue;
    previous_logit = row[best];
    previous_expert = best;
  }
}

// x: [tokens, hidden], expert_score: [tokens·top_k], slots: [n], out: [n, hidden]. Grid
// (ceil(hidden / 256), n): row i of out is token slots[i] / top_k's row of x times its score.
__global__ void gather_scaled_rows_kernel(const float* x, const float* expert_score,
                                          const std::int32_t* slots, float* out, std::int64_t top_k,
                                          std::int64_t hidden) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t i = blockIdx.y;
  if (c >= hidden) return;
  const std::int64_t slot = slots[i];
  const std::int64_t token = slot / top_k;
  out[i * hidden + c] =
      expert_score[slot] * x[token * hidden + c];  // score · x, as the CPU multiplies
}

// expert_out: [n, hidden], slots: [n], routed: [tokens, hidden]. Grid (ceil(hidden / 256), n).
__global__ void scatter_add_rows_kernel(const float* expert_out, const std::int32_t* slots,
                                        float* routed, std::int64_t top_k, std::int64_t hidden) {
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t i = blockIdx.y;
  if (c >= hidden) return;
  const std::int64_t token = slots[i] / top_k;
  routed[token * hidden + c] += expert_out[i * hidden + c];
}

}  // namespace

void route_top_k(const float* logits, std::int32_t* expert_index, float* expert_score,
                 std::int64_t tokens, std::int64_t experts, std::int64_t top_k) {
  if (top_k < 1 || top_k > experts) fail("router: top_k ", top_k, " with ", experts, " experts");
  if (tokens == 0) return;  // a launch with zero blocks is an error
  route_top_k_kernel<<<blocks_for(tokens, kThreadsPerBlock, "route_top_k"), kThreadsPerBlock>>>(
      logits, expert_index, expert_score, tokens, experts, top_k);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void gather_scaled_rows(const float* x, const float* expert_score, const std::int32_t* slots,
                        float* out, std::int64_t n, std::int64_t top_k, std::int64_t hidden) {
  if (n == 0 || hidden == 0) return;
  const dim3 grid(blocks_for(hidden, kThreadsPerBlock, "gather_scaled_rows"),
                  grid_rows(n, "gather_scaled_rows"));
  gather_scaled_rows_kernel<<<grid, kThreadsPerBlock>>>(x, expert_score, slots, out, top_k, hidden);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void scatter_add_rows(const float* expert_out, const std::int32_t* slots, float* routed,
                      std::int64_t n, std::int64_t top_k, std::int64_t hidden) {
  if (n == 0 || hidden == 0) return;
  const dim3 grid(blocks_for(hidden, kThreadsPerBlock, "scatter_add_rows"),
                  grid_rows(n, "scatter_add_rows"));
  scatter_add_rows_kernel<<<grid, kThreadsPerBlock>>>(expert_out, slots, routed, top_k, hidden);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
