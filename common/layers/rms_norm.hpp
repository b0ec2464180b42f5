// RMSNorm, and its weightless per-head form, the QK norm.
//
// RMSNorm rescales each token's vector to unit root-mean-square, then multiplies by a learned
// per-channel weight:
//
//     y = x / sqrt(mean(x²) + eps) * weight
//
// Unlike LayerNorm it does not subtract the mean, and it has no bias. Every decoder layer applies
// it twice (before attention and before the feed-forward), and once more before the LM head.
//
// Llama 4 also normalises queries and keys per head, after RoPE, on RoPE layers (Scout only): the
// same formula over each head's head_dim numbers with NO weight. HF calls the class
// Llama4TextL2Norm but it is an RMS norm. Two traps other implementations fell into: normalising
// across all heads at once instead of per head (vLLM #16311), and eps 1e-6 (the first releases)
// instead of rms_norm_eps.
//
// Everything is computed in f32. (HF rounds the normalised vector to bf16 before the weight
// multiply when running in bf16; in f32, as here and in the golden data, that rounding does not
// exist.)
#pragma once

#include "common/tensors/tensor.hpp"

namespace llama4 {

// y: [T, H] = rms_norm(x: [T, H]) * weight: [H]. y may be x itself.
void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y);
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps);

// x: [T, heads, D], normalised over D for every (token, head), in place, no weight.
void qk_norm(Tensor& x, float eps);

}  // namespace llama4
