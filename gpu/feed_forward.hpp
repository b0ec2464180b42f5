// SwiGLU on the GPU: the twins of common/layers/feed_forward.hpp's swiglu and of the loop inside
// MoeLayer::expert (common/layers/moe.cpp). silu(z) = z · sigmoid(z) = z / (1 + e^-z).
//
// The projections around them are gpu::linear (dense MLP, shared expert) and gpu::matmul (routed
// experts). Pointers are device memory; the functions return once the kernel is queued.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// gate[i] = silu(gate[i]) · up[i] for i < count: the dense MLP and the shared expert, whose gate
// and up projections are two [T, I] matrices.
void swiglu(float* gate, const float* up, std::int64_t count);

// hidden: [rows, width] = silu(gate) · up, where gate_up: [rows, 2·width] holds the gate in columns
// 0 .. width-1 and up in width .. 2·width-1: the routed experts' fused gate_up_proj output.
void swiglu_fused(const float* gate_up, float* hidden, std::int64_t rows, std::int64_t width);

}  // namespace llama4::gpu
