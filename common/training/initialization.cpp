#include "common/training/initialization.hpp"

#include <cmath>
#include <numbers>

namespace llama4 {

std::uint64_t counter_hash(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull ^
                    (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
                    (c + 0x2545f4914f6cdd1dull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

// A standard normal number from one 64-bit hash (Box-Muller on its two 32-bit halves).
double standard_normal(std::uint64_t bits) {
  const double u1 = (static_cast<double>(bits >> 32) + 1.0) / 4294967297.0;  // (0, 1]
  const double u2 = static_cast<double>(bits & 0xffffffffu) / 4294967296.0;  // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

bool writes_into_the_residual_stream(const std::string& name) {
  return name.ends_with("o_proj.weight") || name.ends_with("down_proj.weight") ||
         name.ends_with("experts.down_proj");
}

}  // namespace

void initialise_weights(TrainableModel& model, std::uint64_t seed, double std) {
  Parameters& parameters = model.parameters();
  const double depth_scale =
      1.0 / std::sqrt(2.0 * static_cast<double>(model.config().num_hidden_layers));
  std::uint64_t index = 0;
  for (const ParameterInfo& info : parameters.infos()) {
    float* w = parameters.value(info.name).mutable_data<float>();
    const std::uint64_t k = index++;
    if (!info.decays) {  // norm weights
      for (std::int64_t i = 0; i < info.size; ++i) w[i] = 1.0f;
      continue;
    }
    const double scale = writes_into_the_residual_stream(info.name) ? std * depth_scale : std;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < info.size; ++i) {
      w[i] = static_cast<float>(
          scale * standard_normal(counter_hash(seed, k, static_cast<std::uint64_t>(i))));
    }
  }
}

}  // namespace llama4
