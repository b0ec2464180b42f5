// The projections of training: y = x · Wᵀ and y = x · W, forward and backward, in f32.
//
// Every weight matrix of Llama 4 is used in one of two products (tensors/matmul.hpp explains
// why there are two layouts). Differentiating a product by each factor gives the backward pass:
//
//   nn.Linear layout, W: [out, in]       y = x · Wᵀ      dx = dy · W       dW = dyᵀ · x
//   input-major layout, W: [in, out]     y = x · W       dx = dy · Wᵀ      dW = xᵀ · dy
//
// (Element by element: y[t,o] = Σ_i x[t,i] W[o,i], so ∂L/∂x[t,i] = Σ_o dy[t,o] W[o,i] and
// ∂L/∂W[o,i] = Σ_t dy[t,o] x[t,i]: the weight gradient sums over every token that used W.)
//
// Shapes: x [N, in], y and dy [N, out], N = every token of the batch. Weight gradients are ADDED
// to (a weight can be used more than once, and gradients of several batches can be summed);
// input gradients are overwritten or added as the caller says, because the residual stream
// collects the gradients of several branches.
#pragma once

#include "common/tensors/tensor.hpp"

namespace llama4 {

enum class Gradient { overwrite, add };

// nn.Linear layout: y [N, out] = x [N, in] · weight [out, in]ᵀ.
void linear_forward(const Tensor& x, const Tensor& weight, Tensor& y);
// dx [N, in] (= or +=) dy · weight;  dweight [out, in] += dyᵀ · x.  dx may be null (the
// gradient of the token ids is not needed).
void linear_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor* dx,
                     Gradient dx_mode, Tensor& dweight);

// Input-major layout (the routed experts): y [N, out] = x [N, in] · weight [in, out].
void matmul_forward(const Tensor& x, const Tensor& weight, Tensor& y);
// dx [N, in] (= or +=) dy · weightᵀ;  dweight [in, out] += xᵀ · dy.
void matmul_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor* dx,
                     Gradient dx_mode, Tensor& dweight);

}  // namespace llama4
