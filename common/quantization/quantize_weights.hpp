// Which weights of a Llama 4 checkpoint are quantized, and how one is (chapter 12).
//
// Quantized: the matrices that hold nearly all the bytes and are used in matrix products: the
// attention projections (q, k, v, o), the dense MLP, the shared expert, the routed experts, and
// (a choice, measured in the chapter) the LM head. Kept in their stored precision:
//   - the RMSNorm weights: a few thousand numbers, each scaling a whole channel;
//   - the router: tiny ([E, H]), and its scores decide which expert runs: a small error there
//     sends a token to another expert, an error of a different kind altogether;
//   - the embedding: a decode step reads one row of it, so quantizing it saves almost nothing per
//     token (it does save file size; exercise 3 of the chapter).
//
// The routed experts are stored INPUT-major in an HF checkpoint (gate_up_proj [E, H, 2I]: x · W),
// but blocks run along the input dimension, so a quantized expert is transposed first: it becomes
// [E, 2I, H], one nn.Linear-layout [out, in] matrix per expert, like every other quantized weight
// (llama.cpp's converter does the same). MoeLayer multiplies by it with linear() instead of
// matmul(); the shape tells which is which.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/tensors/dtype.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

struct QuantizationPlan {
  DType format = DType::Q8_0;  // Q8_0, Q4_0 or Q4_1
  bool lm_head = true;         // quantize the LM head too (false: keep it in bf16)
};

// True for a routed experts tensor (experts.gate_up_proj, experts.down_proj): stored input-major.
bool is_input_major(std::string_view name);

// True for a tensor the plan may quantize, judged by its name (see the list above).
bool is_quantizable(std::string_view name, bool lm_head = true);

// The format `name` gets under `plan`, or nullopt to keep it as it is.
std::optional<DType> quantized_format(std::string_view name, const QuantizationPlan& plan);

// Shape of the quantized tensor: the experts' last two dimensions swapped, the rest unchanged.
Shape quantized_shape(std::string_view name, const Shape& stored_shape);

// `weight` quantized to `format` (experts transposed first). Errors name the tensor: rows that are
// not whole 32-weight blocks, NaN or infinity, a scale beyond f16.
Tensor quantize_weight(std::string_view name, const Tensor& weight, DType format);

}  // namespace llama4
