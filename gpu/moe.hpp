// The mixture-of-experts layer on the GPU: the router's top-k, and the dispatch of tokens to their
// experts. The twins of common/layers/moe_router.hpp (route_tokens) and common/layers/moe.hpp
// (MoeLayer::forward).
//
// The dispatch, step by step (gpu/gpu_layers.cpp, GpuMoe::forward, puts them together):
//
//   1. logits = linear(x, router)                        [T, E]      gpu::linear
//   2. expert_index, expert_score = route_top_k(logits)  [T, k] each one thread per token
//   3. download expert_index (T·k int32: a few bytes) and batch_by_expert() on the host: for each
//      expert, the list of "slots" (slot s = token s / k's choice number s % k) routed to it
//   4. upload the batched slots (one copy), then for each expert e with n > 0 tokens:
//        gather_scaled_rows   in[i]  = score[slot_i] · x[slot_i / k]      [n, H]
//        matmul               gu     = in · gate_up_proj[e]               [n, 2I]
//        swiglu_fused         h      = silu(gu[:, :I]) · gu[:, I:]        [n, I]
//        matmul               out    = h · down_proj[e]                   [n, H]
//        scatter_add_rows     routed[slot_i / k] += out[i]                [T, H]
//
// The score scales the expert's INPUT (the Llama 4 trap, see common/layers/moe.hpp). The experts
// run one after another on the same queue, so the additions into `routed` happen in the CPU's order
// (expert 0 first) and no two threads ever add into the same number at once: within one expert each
// token appears at most once (its k choices are k different experts).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace llama4::gpu {

// logits: [tokens, experts] -> expert_index: [tokens, top_k] int32 (best first, ties to the lower
// index, like the CPU's stable sort) and expert_score: [tokens, top_k] = sigmoid(chosen logits).
void route_top_k(const float* logits, std::int32_t* expert_index, float* expert_score,
                 std::int64_t tokens, std::int64_t experts, std::int64_t top_k);

// The slots routed to each expert, on the host. slots[offsets[e] .. offsets[e + 1]) are the slots
// (indices into the [T·k] expert_index) that chose expert e, in increasing order, as the CPU
// gathers them.
struct ExpertBatches {
  std::vector<std::int32_t> slots;    // [T·k]
  std::vector<std::int64_t> offsets;  // [experts + 1]
  std::int64_t count(std::int64_t expert) const {
    return offsets[static_cast<std::size_t>(expert) + 1] -
           offsets[static_cast<std::size_t>(expert)];
  }
};
// expert_index: [T·k] on the host. An index outside [0, experts) (a NaN logit picks none) is an
// Error.
ExpertBatches batch_by_expert(std::span<const std::int32_t> expert_index, std::int64_t experts);

// out: [n, hidden], out[i] = expert_score[slots[i]] · x[slots[i] / top_k]; x: [tokens, hidden],
// expert_score: [tokens · top_k], slots: [n] int32, all device memory.
void gather_scaled_rows(const float* x, const float* expert_score, const std::int32_t* slots,
                        float* out, std::int64_t n, std::int64_t top_k, std::int64_t hidden);

// routed[slots[i] / top_k] += expert_out[i] for i < n; expert_out: [n, hidden], routed: [tokens,
// hidden]. No two slots of one call may belong to the same token (true within one expert).
void scatter_add_rows(const float* expert_out, const std::int32_t* slots, float* routed,
                      std::int64_t n, std::int64_t top_k, std::int64_t hidden);

}  // namespace llama4::gpu
