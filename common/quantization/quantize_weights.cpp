#include "common/quantization/quantize_weights.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/quantization/block_formats.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// [rows, columns] -> [columns, rows] as a contiguous F32 matrix, in tiles so both sides stay in
// cache.
Tensor transposed_f32(const Tensor& matrix) {
  const std::int64_t rows = matrix.dim(0), columns = matrix.dim(1);
  const Tensor source = matrix.to(DType::F32);
  Tensor result = Tensor::zeros({columns, rows});
  const float* in = source.data<float>();
  float* out = result.mutable_data<float>();
  constexpr std::int64_t kTile = 64;
  for (std::int64_t r0 = 0; r0 < rows; r0 += kTile) {
    for (std::int64_t c0 = 0; c0 < columns; c0 += kTile) {
      for (std::int64_t r = r0; r < std::min(r0 + kTile, rows); ++r) {
        for (std::int64_t c = c0; c < std::min(c0 + kTile, columns); ++c)
          out[c * rows + r] = in[r * columns + c];
      }
    }
  }
  return result;
}

}  // namespace

bool is_input_major(std::string_view name) {
  return ends_with(name, "feed_forward.experts.gate_up_proj") ||
         ends_with(name, "feed_forward.experts.down_proj");
}

bool is_quantizable(std::string_view name, bool lm_head) {
  constexpr std::array<std::string_view, 10> kQuantized = {
      "self_attn.q_proj.weight",   "self_attn.k_proj.weight",
      "self_attn.v_proj.weight",   "self_attn.o_proj.weight",
      "feed_forward.gate_proj.weight", "feed_forward.up_proj.weight",
      "feed_forward.down_proj.weight", "shared_expert.gate_proj.weight",
      "shared_expert.up_proj.weight",  "shared_expert.down_proj.weight"};
  for (const std::string_view suffix : kQuantized) {
    if (ends_with(name, suffix)) return true;
  }
  if (is_input_major(name)) return true;
  return lm_head && (name == "lm_head.weight" || name == "language_model.lm_head.weight");
}

std::optional<DType> quantized_format(std::string_view name, const QuantizationPlan& plan) {
  if (!is_quantizable(name, plan.lm_head)) return std::nullopt;
  return plan.format;
}

Shape quantized_shape(std::string_view name, const Shape& stored_shape) {
  Shape shape = stored_shape;
  if (is_input_major(name) && shape.size() >= 2) std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  return shape;
}

// [excerpt quantize_weight]
Tensor quantize_weight(std::string_view name, const Tensor& weight, DType format) {
  if (!is_block_quantized(format)) fail("quantize_weight: ", dtype_name(format), " is not a block format");
  const Shape shape = quantized_shape(name, weight.shape());
  if (shape.empty() || shape.back() % kQuantBlock != 0) {
    fail("tensor \"", name, "\" ", shape_string(weight.shape()), " cannot be quantized to ",
         dtype_name(format), ": its rows of ", shape.empty() ? 0 : shape.back(),
         " inputs are not whole ", kQuantBlock, "-weight blocks");
  }
  Tensor result = Tensor::zeros(shape, format);
  try {
    if (!is_input_major(name)) return weight.to(format);
    // Experts: one [in, out] matrix at a time, transposed to [out, in], then quantized.
    for (std::int64_t e = 0; e < weight.dim(0); ++e) {
      const Tensor expert = transposed_f32(weight.select(e)).to(format);  // [out, in]
      std::memcpy(result.mutable_raw_data() + e * static_cast<std::int64_t>(expert.nbytes()),
                  expert.raw_data(), expert.nbytes());
    }
  } catch (const Error& error) {
    fail("tensor \"", name, "\": ", error.what());
  }
  return result;
}
// [end excerpt]

}  // namespace llama4
