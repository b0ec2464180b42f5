// SwiGLU feed-forward for training: the forward that keeps what the backward needs, and the
// backward. Used for the dense MLP layers and for the shared expert of MoE layers (the routed
// experts reuse swiglu_backward; moe_backward.hpp).
//
// Forward (layers/feed_forward.hpp), for x: [N, H]:
//     gate = x · W_gateᵀ,  up = x · W_upᵀ          [N, I]
//     h    = silu(gate) ⊙ up                        [N, I]
//     y    = h · W_downᵀ                            [N, H]
//
// Backward, from dy: [N, H]:
//     dh    = dy · W_down                    dW_down += dyᵀ · h
//     dgate = dh ⊙ up ⊙ silu'(gate)          dup = dh ⊙ silu(gate)
//     dx    = dgate · W_gate + dup · W_up    dW_gate += dgateᵀ · x,  dW_up += dupᵀ · x
//
// with silu(z) = z·σ(z) and silu'(z) = σ(z) · (1 + z·(1 - σ(z))), σ the logistic sigmoid.
#pragma once

#include "common/layers/feed_forward.hpp"
#include "common/tensors/tensor.hpp"
#include "common/training/linear.hpp"

namespace llama4 {

// What the forward keeps: the input and the three [N, I] intermediates.
struct FeedForwardActivations {
  Tensor input;   // [N, H]
  Tensor gate;    // [N, I]  before silu
  Tensor up;      // [N, I]
  Tensor hidden;  // [N, I]  silu(gate) ⊙ up
};

// The SwiGLU product and its gradient, element by element over n numbers.
void swiglu_backward(const float* gate, const float* up, const float* dhidden, float* dgate,
                     float* dup, std::int64_t n);

// x: [N, H] -> y: [N, H]; weights are f32 (FeedForward holds [I, H], [I, H], [H, I]).
void feed_forward_forward(const FeedForward& weights, const Tensor& x,
                          FeedForwardActivations& saved, Tensor& y);

// dy: [N, H] -> dx: [N, H] (= or += as dx_mode says); gradients (same shapes as the weights) are
// added to.
void feed_forward_backward(const FeedForward& weights, const FeedForwardActivations& saved,
                           const Tensor& dy, Tensor& dx, Gradient dx_mode, FeedForward& gradients);

}  // namespace llama4
