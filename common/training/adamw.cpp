#include "common/training/adamw.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/tensors/error.hpp"

namespace llama4 {

AdamW::AdamW(AdamWSettings settings, std::int64_t parameter_count)
    : settings_(settings),
      m_(static_cast<std::size_t>(parameter_count), 0.0f),
      v_(static_cast<std::size_t>(parameter_count), 0.0f) {}

void AdamW::step(Parameters& parameters, double rate) {
  if (static_cast<std::int64_t>(m_.size()) != parameters.count()) {
    fail("AdamW: made for ", m_.size(), " weights, given ", parameters.count());
  }
  ++steps_;
  const auto t = static_cast<double>(steps_);
  const auto beta1 = static_cast<float>(settings_.beta1);
  const auto beta2 = static_cast<float>(settings_.beta2);
  const auto step_size = static_cast<float>(rate / (1.0 - std::pow(settings_.beta1, t)));
  const auto v_correction = static_cast<float>(std::sqrt(1.0 - std::pow(settings_.beta2, t)));
  const auto epsilon = static_cast<float>(settings_.epsilon);
  const auto decay = static_cast<float>(1.0 - rate * settings_.weight_decay);
  std::span<float> w = parameters.values();
  std::span<const float> g = parameters.gradients();
  // [excerpt adamw_step]
  for (const ParameterInfo& info : parameters.infos()) {
    const float shrink = info.decays ? decay : 1.0f;
#pragma omp parallel for schedule(static) if (info.size > (1 << 16))
    for (std::int64_t i = info.offset; i < info.offset + info.size; ++i) {
      const auto k = static_cast<std::size_t>(i);
      w[k] *= shrink;
      m_[k] = beta1 * m_[k] + (1.0f - beta1) * g[k];
      v_[k] = beta2 * v_[k] + (1.0f - beta2) * g[k] * g[k];
      w[k] -= step_size * m_[k] / (std::sqrt(v_[k]) / v_correction + epsilon);
    }
  }
  // [end excerpt]
}

double clip_gradient_norm(std::span<float> gradients, double max_norm) {
  double sum_of_squares = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum_of_squares)
  for (std::size_t i = 0; i < gradients.size(); ++i) {
    sum_of_squares += static_cast<double>(gradients[i]) * gradients[i];
  }
  const double norm = std::sqrt(sum_of_squares);
  if (!std::isfinite(norm)) fail("the gradient norm is ", norm, ": training has diverged");
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    const auto s = static_cast<float>(scale);
    for (float& g : gradients) g *= s;
  }
  return norm;
}

double LearningRateSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) {
    return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_steps) /
                        static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps)));
  return minimum + 0.5 * (peak - minimum) * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace llama4
