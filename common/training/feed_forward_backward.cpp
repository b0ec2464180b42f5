#include "common/training/feed_forward_backward.hpp"

#include <cmath>

namespace llama4 {

void swiglu_backward(const float* gate, const float* up, const float* dhidden, float* dgate,
                     float* dup, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float sigmoid = 1.0f / (1.0f + std::exp(-gate[i]));
    const float silu = gate[i] * sigmoid;
    dup[i] = dhidden[i] * silu;
    dgate[i] = dhidden[i] * up[i] * sigmoid * (1.0f + gate[i] * (1.0f - sigmoid));
  }
}

void feed_forward_forward(const FeedForward& weights, const Tensor& x,
                          FeedForwardActivations& saved, Tensor& y) {
  const std::int64_t tokens = x.dim(0), width = weights.gate_proj.dim(0);
  saved.input = x;
  saved.gate = Tensor::zeros({tokens, width});
  saved.up = Tensor::zeros({tokens, width});
  linear_forward(x, weights.gate_proj, saved.gate);
  linear_forward(x, weights.up_proj, saved.up);
  saved.hidden = saved.gate.clone();
  swiglu(saved.hidden, saved.up);  // the inference code's SwiGLU: one definition for both
  linear_forward(saved.hidden, weights.down_proj, y);
}

void feed_forward_backward(const FeedForward& weights, const FeedForwardActivations& saved,
                           const Tensor& dy, Tensor& dx, Gradient dx_mode, FeedForward& gradients) {
  const std::int64_t tokens = saved.input.dim(0), width = weights.gate_proj.dim(0);
  Tensor dhidden = Tensor::zeros({tokens, width});
  linear_backward(saved.hidden, weights.down_proj, dy, &dhidden, Gradient::overwrite,
                  gradients.down_proj);
  Tensor dgate = Tensor::zeros({tokens, width});
  Tensor dup = Tensor::zeros({tokens, width});
  swiglu_backward(saved.gate.data<float>(), saved.up.data<float>(), dhidden.data<float>(),
                  dgate.mutable_data<float>(), dup.mutable_data<float>(), tokens * width);
  linear_backward(saved.input, weights.gate_proj, dgate, &dx, dx_mode, gradients.gate_proj);
  linear_backward(saved.input, weights.up_proj, dup, &dx, Gradient::add, gradients.up_proj);
}

}  // namespace llama4
