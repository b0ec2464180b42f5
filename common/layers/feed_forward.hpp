// The SwiGLU feed-forward network.
//
//     y = W_down · ( silu(W_gate · x) ⊙ (W_up · x) )        silu(z) = z · sigmoid(z)
//
// Two projections up to an intermediate width I, one of them passed through SiLU and used as a gate
// on the other, then one projection back down. Llama 4 uses it in two places with different widths:
//   - the dense MLP of non-MoE layers (Maverick's even layers): I = intermediate_size_mlp (16384);
//   - the shared expert inside every MoE layer: I = intermediate_size (8192), like each routed
//   expert.
// Mixing the two widths up is a known slip (the names are confusing); our tiny model uses 96 and 32
// so a swap cannot go unnoticed.
#pragma once

#include <cmath>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

inline float silu(float z) {
  return z / (1.0f + std::exp(-z));
}

// h: [T, I] = silu(gate: [T, I]) ⊙ up: [T, I], written into gate.
void swiglu(Tensor& gate, const Tensor& up);

struct FeedForward {
  Tensor gate_proj;  // [I, H]
  Tensor up_proj;    // [I, H]
  Tensor down_proj;  // [H, I]

  // Loads "<prefix>gate_proj.weight" etc. with width I, checking the shapes.
  static FeedForward load(const Checkpoint& checkpoint, const std::string& prefix,
                          std::int64_t hidden, std::int64_t width);

  // x: [T, H] -> [T, H]
  Tensor forward(const Tensor& x) const;
};

}  // namespace llama4
