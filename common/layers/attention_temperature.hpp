// Attention temperature tuning: how NoPE layers cope with very long contexts.
//
// Every fourth Llama 4 layer (3, 7, 11, ...) uses no positional encoding at all ("NoPE") and
// attends to the whole context. Over millions of tokens the softmax over so many keys flattens out;
// Llama 4 sharpens it again by scaling the QUERY of a token at absolute position p by
//
//     scale(p) = 1 + attn_scale · ln(floor((p + 1) / floor_scale) + 1)
//
// With Scout's floor_scale 8192 and attn_scale 0.1 the scale is exactly 1 up to position 8190, so
// short contexts never see it (and a test with short prompts cannot tell whether it is there: our
// tiny model uses floor_scale 4). Only NoPE layers do this, only on queries, never on cached keys.
#pragma once

#include <cstdint>

#include "common/tensors/tensor.hpp"

namespace llama4 {

// scale(position), computed in f32 like HF: log1p(floor((p + 1) / floor_scale)) * attn_scale + 1.
float attention_temperature(std::int64_t position, double floor_scale, double attn_scale);

// Scales every head of q: [T, heads, D] in place; token t sits at position start_position + t.
void apply_attention_temperature(Tensor& q, std::int64_t start_position, double floor_scale,
                                 double attn_scale);

}  // namespace llama4
