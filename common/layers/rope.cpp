#include "common/layers/rope.hpp"

#include <cmath>
#include <numbers>

#include "common/tensors/error.hpp"

namespace llama4 {

std::vector<float> rope_inverse_frequencies(std::int64_t head_dim, double theta,
                                            const std::optional<RopeScaling>& scaling) {
  if (head_dim <= 0 || head_dim % 2 != 0) fail("RoPE needs an even head_dim, got ", head_dim);
  std::vector<float> frequencies(static_cast<std::size_t>(head_dim / 2));
  for (std::int64_t i = 0; i < head_dim / 2; ++i) {
    // HF: 1 / theta ** (arange(0, D, 2) / D), in f32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    frequencies[static_cast<std::size_t>(i)] = 1.0f / std::pow(static_cast<float>(theta), exponent);
  }
  if (!scaling) return frequencies;
  if (!scaling->frequency_divisors.empty()) {  // from a GGUF file's rope_freqs
    if (scaling->frequency_divisors.size() != frequencies.size()) {
      fail("RoPE: ", scaling->frequency_divisors.size(), " frequency divisors for ",
           frequencies.size(), " frequencies (head_dim / 2)");
    }
    for (std::size_t i = 0; i < frequencies.size(); ++i)
      frequencies[i] /= scaling->frequency_divisors[i];
    return frequencies;
  }

  // [excerpt llama3_scaling]
  const float factor = static_cast<float>(scaling->factor);
  const float low = static_cast<float>(scaling->low_freq_factor);
  const float high = static_cast<float>(scaling->high_freq_factor);
  const float original = static_cast<float>(scaling->original_max_position_embeddings);
  const float low_freq_wavelength = original / low;    // longer than this: divide by factor
  const float high_freq_wavelength = original / high;  // shorter than this: keep
  for (float& frequency : frequencies) {
    const float wavelength = 2.0f * std::numbers::pi_v<float> / frequency;
    if (wavelength < high_freq_wavelength) continue;
    if (wavelength > low_freq_wavelength) {
      frequency /= factor;
      continue;
    }
    // The blend band. Reachable only when high > low, so the division below is safe: with Scout's
    // low = high both thresholds are equal and every wavelength took one of the branches above.
    const float smooth = (original / wavelength - low) / (high - low);
    frequency = (1.0f - smooth) * frequency / factor + smooth * frequency;
  }
  // [end excerpt]
  return frequencies;
}

void apply_rope(Tensor& x, std::int64_t start_position,
                const std::vector<float>& inverse_frequencies, Rotation rotation) {
  if (x.rank() != 3 || !x.is_contiguous())
    fail("apply_rope: x must be a contiguous [T, heads, D] tensor");
  const std::int64_t tokens = x.dim(0), heads = x.dim(1), head_dim = x.dim(2);
  if (static_cast<std::int64_t>(inverse_frequencies.size()) * 2 != head_dim) {
    fail("apply_rope: ", inverse_frequencies.size(), " frequencies for head_dim ", head_dim);
  }
  // [excerpt apply_rope]
  float* data = x.mutable_data<float>();
  for (std::int64_t t = 0; t < tokens; ++t) {
    const auto position = static_cast<float>(start_position + t);
    for (std::int64_t i = 0; i < head_dim / 2; ++i) {
      const float angle = position * inverse_frequencies[static_cast<std::size_t>(i)];
      const float cos = std::cos(angle);
      const float sin = rotation == Rotation::forward ? std::sin(angle) : -std::sin(angle);
      for (std::int64_t h = 0; h < heads; ++h) {
        // The pair (x[2i], x[2i+1]) is the complex number a + bi; multiply by cos + i·sin.
        float* pair = data + (t * heads + h) * head_dim + 2 * i;
        const float a = pair[0], b = pair[1];
        pair[0] = a * cos - b * sin;
        pair[1] = a * sin + b * cos;
      }
    }
  }
  // [end excerpt]
}

}  // namespace llama4
