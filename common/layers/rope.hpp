// RoPE: rotary position embedding, Llama 4 style.
//
// Attention compares queries with keys by dot products, which know nothing about order. RoPE
// injects position by rotating each query and key: the head vector is cut into D/2 PAIRS of
// numbers, and pair i of a token at position p is rotated by the angle p·θ_i, where
//
//     θ_i = rope_theta^(-2i/D)            (fast rotation for i = 0, slower and slower after)
//
// A rotated query and key then have a dot product that depends only on their distance, p_q - p_k.
//
// Trap 1, the pairing. Llama 4 pairs ADJACENT numbers (x[2i], x[2i+1]), treating each pair as a
// complex number (Meta and HF both: view_as_complex). Hugging Face's Llama 2/3 code pairs x[i] with
// x[i + D/2] ("rotate half") and permutes the checkpoint's q/k weights to match. Llama 4
// checkpoints are NOT permuted, so rotate-half gives garbage that looks fine for a token or two.
//
// Trap 2, the llama3 frequency scaling (Scout, not Maverick), for long contexts. With wavelength
// λ_i = 2π/θ_i and L0 = original_max_position_embeddings:
//
//     λ_i < L0/high_freq_factor  ->  θ_i unchanged             (fast pairs: local detail)
//     λ_i > L0/low_freq_factor   ->  θ_i / factor              (slow pairs: stretched)
//     otherwise                  ->  a smooth blend of the two
//
// Scout ships factor 16 with low = high = 1, so both thresholds are 8192: the blend band is empty
// and its formula would divide by zero (high - low = 0). We never evaluate it then.
//
// Angles are computed in f32 as HF does (position · θ_i, then cos and sin).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// θ_i for i in [0, head_dim/2), with llama3 scaling applied when `scaling` is set.
std::vector<float> rope_inverse_frequencies(std::int64_t head_dim, double theta,
                                            const std::optional<RopeScaling>& scaling);

// Which way apply_rope turns the pairs: by +p·θ_i (RoPE itself) or by -p·θ_i, which undoes it. A
// rotation's transpose is its inverse, so turning back is also RoPE's backward pass (chapter 11):
// the gradient reaching the rotated vector, rotated back, is the gradient of the unrotated one.
enum class Rotation { forward, backward };

// Rotates every head of x: [T, heads, D] in place; token t sits at position start_position + t.
void apply_rope(Tensor& x, std::int64_t start_position,
                const std::vector<float>& inverse_frequencies,
                Rotation rotation = Rotation::forward);

}  // namespace llama4
