// Attention temperature tuning on the GPU: the twin of common/layers/attention_temperature.hpp.
//
// NoPE layers scale the query of the token at position p by
//     scale(p) = 1 + attn_scale · ln(floor((p + 1) / floor_scale) + 1)
// computed in f32 exactly as the CPU's attention_temperature() does.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// Scales q: [tokens, heads * head_dim] in place (device); token t sits at start_position + t.
void apply_attention_temperature(float* q, std::int64_t tokens, std::int64_t row_size,
                                 std::int64_t start_position, double floor_scale,
                                 double attn_scale);

}  // namespace llama4::gpu
