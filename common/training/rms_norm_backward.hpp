// The gradient of RMSNorm and of the weightless QK norm.
//
// Forward, for one token's vector x of n numbers (n = H, or head_dim for the QK norm):
//
//     r = 1 / sqrt(mean(x²) + eps)          one number per vector
//     y_i = x_i · r · w_i                   (w_i = 1 for the QK norm)
//
// Backward. Write g_i = dy_i · w_i (the gradient arriving at the normalised vector x·r). Every y_i
// depends on x_i directly and, through r, on every x_j; ∂r/∂x_j = -r³ · x_j / n. So
//
//     dx_j = r · g_j  -  x_j · r³/n · Σ_i g_i · x_i
//          = r · (g_j - x̂_j · mean(g ⊙ x̂))          with x̂ = x · r, the normalised vector
//
// The second term removes from g its component along x̂: scaling x up or down changes nothing
// after normalisation, so the gradient has no component in that direction. Forgetting it (dx =
// r · g, as if r were a constant) is the classic slip; a test shows the golden data catch it.
//
//     dw_i = Σ over tokens of dy_i · x̂_i
#pragma once

#include "common/tensors/tensor.hpp"

namespace llama4 {

// x: [N, H] (the norm's input), weight: [H] f32, dy: [N, H]. dx: [N, H] is overwritten (it may
// not alias dy); dweight: [H] is added to.
void rms_norm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                       Tensor& dx, Tensor& dweight);

// The QK norm: x: [N, heads, D] (the input of qk_norm, i.e. after RoPE), normalised per (token,
// head). gradient: [N, heads, D] holds dy on entry and dx on return.
void qk_norm_backward(const Tensor& x, float eps, Tensor& gradient);

}  // namespace llama4
