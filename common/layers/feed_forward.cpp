#include "common/layers/feed_forward.hpp"

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

void swiglu(Tensor& gate, const Tensor& up) {
  expect_shape(up, gate.shape(), "swiglu up");
  float* g = gate.mutable_data<float>();
  const float* u = up.data<float>();
  const std::int64_t count = gate.numel();
  for (std::int64_t i = 0; i < count; ++i) g[i] = silu(g[i]) * u[i];
}

FeedForward FeedForward::load(const Checkpoint& checkpoint, const std::string& prefix,
                              std::int64_t hidden, std::int64_t width) {
  return FeedForward{load_weight(checkpoint, prefix + "gate_proj.weight", {width, hidden}),
                     load_weight(checkpoint, prefix + "up_proj.weight", {width, hidden}),
                     load_weight(checkpoint, prefix + "down_proj.weight", {hidden, width})};
}

Tensor FeedForward::forward(const Tensor& x) const {
  Tensor gate = linear(x, gate_proj);    // [T, I]
  const Tensor up = linear(x, up_proj);  // [T, I]
  swiglu(gate, up);                      // gate now holds silu(gate) ⊙ up
  return linear(gate, down_proj);        // [T, H]
}

}  // namespace llama4
