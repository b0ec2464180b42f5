// The attention sub-block of a decoder layer, for training: projections, RoPE, QK norm or the
// NoPE temperature, the attention core, and the output projection; forward and backward.
//
// Forward (layers/attention.hpp explains each step), for the normed input a: [N, H]:
//
//   q = a·W_qᵀ, k = a·W_kᵀ, v = a·W_vᵀ                         [N, heads|kv_heads, D]
//   RoPE layer:  q, k = rope(q), rope(k);  then, with use_qk_norm, q, k = qk_norm(q), qk_norm(k)
//   NoPE layer:  q = q · temperature(position)
//   context = attention(q, k, v)                                [N, heads·D]
//   out = context·W_oᵀ                                          [N, H]
//
// Backward runs the same list bottom-up, each step's derivative in its own file:
//
//   dcontext = dout·W_o                        (linear.hpp)
//   dq, dk, dv = attention_backward(...)       (attention_backward.hpp)
//   QK norm:      dq, dk = qk_norm_backward    (rms_norm_backward.hpp)
//   RoPE:         dq, dk rotated back          (apply_rope with Rotation::backward, rope.hpp)
//   temperature:  dq = dq · temperature(position)   (q was scaled by a constant: so is dq)
//   da = dq·W_q + dk·W_k + dv·W_v              the three projections read the same a
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/attention.hpp"
#include "common/tensors/model_config.hpp"
#include "common/training/attention_backward.hpp"

namespace llama4 {

struct AttentionBlockSettings {
  LayerConfig kind;  // RoPE or NoPE, chunked or global, QK norm, temperature
  AttentionShape shape;
  float norm_eps = 1e-5f;
  double floor_scale = 8192.0, attn_scale = 0.1;
  const std::vector<float>* inverse_frequencies = nullptr;  // RoPE θ_i, [D/2]

  // positions: each row's position in its document, [B·T] (packed documents, chapter 13); empty:
  // every sequence is one document.
  AttentionBlockSettings(const ModelConfig& config, std::int64_t layer, std::int64_t sequences,
                         std::int64_t tokens, const std::vector<float>& inverse_frequencies,
                         std::span<const std::int32_t> positions = {});
};

struct AttentionBlockActivations {
  Tensor input;           // [N, H]         the normed input a
  Tensor q_rope, k_rope;  // [N, heads|kv_heads, D]  after RoPE, before the QK norm
  Tensor q, k, v;         // what the core saw
  Tensor probabilities;   // [B, heads, T, T]
  Tensor context;         // [N, heads·D]
};

// x: [N, H] normed -> out: [N, H] (overwritten). Records the golden data's stage names.
void attention_block_forward(const AttentionBlockSettings& settings,
                             const AttentionWeights& weights, const Tensor& x,
                             AttentionBlockActivations& saved, Tensor& out, std::int64_t layer,
                             ActivationRecorder* recorder);

// dout: [N, H] -> dx: [N, H] (overwritten); gradients added to `gradients`.
void attention_block_backward(const AttentionBlockSettings& settings,
                              const AttentionWeights& weights,
                              const AttentionBlockActivations& saved, const Tensor& dout,
                              Tensor& dx, AttentionWeights& gradients, std::int64_t layer,
                              ActivationRecorder* gradient_recorder);

}  // namespace llama4
