#include "common/quantization/quantize_weights.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "common/quantization/block_formats.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// One expert, stored [in, out], quantized as [out, in] into `blocks`: transposed through one f32
// buffer (reused from expert to expert: large fresh allocations cost more than the work on some
// machines), 64 input rows at a time, then each output row quantized.
void quantize_transposed(const Tensor& expert, DType format, std::vector<float>& transposed,
                         std::byte* blocks) {
  const std::int64_t in = expert.dim(0), out = expert.dim(1);
  transposed.resize(static_cast<std::size_t>(in * out));
  constexpr std::int64_t kTile = 64;
  for (std::int64_t i0 = 0; i0 < in; i0 += kTile) {
    const std::int64_t i1 = std::min(i0 + kTile, in);
    const Tensor rows = expert.slice(0, i0, i1).to(DType::F32);  // [i1 - i0, out]
    const float* source = rows.data<float>();
    for (std::int64_t o = 0; o < out; ++o) {
      for (std::int64_t i = i0; i < i1; ++i)
        transposed[static_cast<std::size_t>(o * in + i)] = source[(i - i0) * out + o];
    }
  }
  const std::size_t row_bytes = dtype_bytes(format, in);
  std::string first_error;
  std::int64_t error_row = out;
#pragma omp parallel for schedule(static)
  for (std::int64_t o = 0; o < out; ++o) {
    try {
      quantize_row(transposed.data() + o * in, in, format,
                   blocks + static_cast<std::size_t>(o) * row_bytes);
    } catch (const Error& error) {
#pragma omp critical
      if (o < error_row) {
        error_row = o;
        first_error = "output " + std::to_string(o) + ": " + error.what();
      }
    }
  }
  if (!first_error.empty()) fail(first_error);
}

}  // namespace

bool is_input_major(std::string_view name) {
  return ends_with(name, "feed_forward.experts.gate_up_proj") ||
         ends_with(name, "feed_forward.experts.down_proj");
}

bool is_quantizable(std::string_view name, bool lm_head) {
  constexpr std::array<std::string_view, 10> kQuantized = {
      "self_attn.q_proj.weight",       "self_attn.k_proj.weight",
      "self_attn.v_proj.weight",       "self_attn.o_proj.weight",
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
  if (is_input_major(name) && shape.size() >= 2)
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  return shape;
}

// [excerpt quantize_weight]
Tensor quantize_weight(std::string_view name, const Tensor& weight, DType format) {
  if (!is_block_quantized(format))
    fail("quantize_weight: ", dtype_name(format), " is not a block format");
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
    std::vector<float> transposed;
    for (std::int64_t e = 0; e < weight.dim(0); ++e) {
      try {
        const std::ptrdiff_t offset = result.select(e).raw_data() - result.raw_data();
        quantize_transposed(weight.select(e), format, transposed,
                            result.mutable_raw_data() + offset);
      } catch (const Error& error) {
        fail("expert ", e, ", ", error.what());
      }
    }
  } catch (const Error& error) {
    fail("tensor \"", name, "\": ", error.what());
  }
  return result;
}
// [end excerpt]

}  // namespace llama4
