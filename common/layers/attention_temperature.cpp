#include "common/layers/attention_temperature.hpp"

#include <cmath>

#include "common/tensors/error.hpp"

namespace llama4 {

// [excerpt attention_temperature]
float attention_temperature(std::int64_t position, double floor_scale, double attn_scale) {
  const float steps =
      std::floor((static_cast<float>(position) + 1.0f) / static_cast<float>(floor_scale));
  return std::log1p(steps) * static_cast<float>(attn_scale) + 1.0f;
}
// [end excerpt]

void apply_attention_temperature(Tensor& q, std::int64_t start_position, double floor_scale,
                                 double attn_scale) {
  if (q.rank() != 3 || !q.is_contiguous())
    fail("attention temperature: q must be a contiguous [T, heads, D] tensor");
  const std::int64_t row = q.dim(1) * q.dim(2);  // all heads of one token
  float* data = q.mutable_data<float>();
  for (std::int64_t t = 0; t < q.dim(0); ++t) {
    const float scale = attention_temperature(start_position + t, floor_scale, attn_scale);
    for (std::int64_t i = 0; i < row; ++i) data[t * row + i] *= scale;
  }
}

}  // namespace llama4
