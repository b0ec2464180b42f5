// AdamW: how the weights move, given their gradients.
//
// Plain gradient descent moves every weight by -learning_rate · gradient. Adam (Kingma & Ba,
// 2014) keeps two running averages per weight,
//
//     m = β1·m + (1-β1)·g          the gradient's mean: a velocity that smooths out noise
//     v = β2·v + (1-β2)·g²         its mean square: how large this weight's gradients usually are
//
// and moves by m / (sqrt(v) + ε): each weight gets its own step size, so weights whose gradients
// are tiny (a rarely seen token's embedding) still move, and noisy ones move carefully. Both
// averages start at 0, which biases them low for the first steps; dividing by (1 - β^t) corrects
// that ("bias correction"). AdamW (Loshchilov & Hutter, 2017) adds weight decay DECOUPLED from the
// gradient: every step also shrinks each decayed weight by lr·λ·w, pulling unused weights toward 0.
//
// One step, in the order PyTorch's torch.optim.AdamW does it (the golden data check it):
//     w -= lr·λ·w                                   (only parameters that decay)
//     m, v updated as above with the clipped gradient g
//     w -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + ε)
//
// Around the optimizer, two more things every modern recipe uses:
//   - gradient clipping by the global norm: if ‖g‖ (over ALL parameters together) exceeds a
//     maximum, scale every gradient down so it equals it. One bad batch cannot then throw the
//     weights far away;
//   - a learning-rate schedule: a linear warm-up from 0 (Adam's first steps use poor estimates of
//     v), then a cosine decay to a small final rate.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/training/parameters.hpp"

namespace llama4 {

struct AdamWSettings {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double epsilon = 1e-8;
  double weight_decay = 0.1;
};

class AdamW {
 public:
  AdamW(AdamWSettings settings, std::int64_t parameter_count);

  // One step at learning rate `rate` over every parameter (values and gradients as laid out in
  // `parameters`).
  void step(Parameters& parameters, double rate);

  std::int64_t steps_taken() const { return steps_; }
  const AdamWSettings& settings() const { return settings_; }
  // The running averages, for saving and resuming training.
  std::vector<float>& first_moment() { return m_; }
  std::vector<float>& second_moment() { return v_; }
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  void set_steps_taken(std::int64_t steps) { steps_ = steps; }

 private:
  AdamWSettings settings_;
  std::vector<float> m_, v_;
  std::int64_t steps_ = 0;
};

// The square root of the sum of every gradient squared (over all parameters); if it exceeds
// max_norm, every gradient is scaled by max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_
// does. Returns the norm before clipping.
double clip_gradient_norm(std::span<float> gradients, double max_norm);

struct LearningRateSchedule {
  double peak = 1e-3;
  std::int64_t warmup_steps = 100;
  std::int64_t total_steps = 1000;
  double minimum = 1e-4;

  // Step 0 gets peak / warmup_steps, step warmup_steps - 1 the peak; then a cosine down to
  // `minimum` at total_steps (and `minimum` after it).
  double at(std::int64_t step) const;
};

}  // namespace llama4
