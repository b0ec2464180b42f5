// RoPE on the GPU: the twin of common/layers/rope.hpp's apply_rope (read that first: the
// adjacent-pair convention and the llama3 frequency scaling are explained there).
//
// The frequencies θ_i come from the CPU's rope_inverse_frequencies and are uploaded once, when the
// model is: the scaling rules are host code that runs once, not per token. The kernel computes each
// angle position · θ_i in f32, then its cosine and sine, as the CPU does.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// Rotates every head of x: [tokens, heads, head_dim] in place (device); token t sits at position
// start_position + t. inverse_frequencies: [head_dim / 2] f32 (device).
void apply_rope(float* x, std::int64_t tokens, std::int64_t heads, std::int64_t head_dim,
                std::int64_t start_position, const float* inverse_frequencies);

}  // namespace llama4::gpu
