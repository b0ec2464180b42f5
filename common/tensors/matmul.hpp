// Matrix products with weights read in place from the checkpoint (bf16, f16 or f32).
//
// Two weight layouts appear in a Llama 4 checkpoint, so there are two functions:
//
//   linear(x, W):  y = x · Wᵀ   with W: [out, in]   nn.Linear's layout. Every projection (q, k, v,
//                                                  o, router, shared expert, dense MLP, lm_head).
//   matmul(x, W):  y = x · W    with W: [in, out]   "input-major". The routed experts' fused
//                                                  gate_up_proj [E, H, 2I] and down_proj [E, I, H]
//                                                  are stored this way, one [in, out] matrix per
//                                                  expert.
//
// Mixing them up is a classic bug: for a square matrix both run and give garbage. Activations are
// f32; weights are converted to f32 one element at a time as they are read (bf16 -> f32 is a
// shift, see bfloat16.hpp), so no f32 copy of the model is ever made. The work is split across all
// cores with OpenMP. Accumulation is f32.
#pragma once

#include "common/tensors/tensor.hpp"

namespace llama4 {

// y: [rows, out] = x: [rows, in] · weightᵀ, weight: [out, in]. y is overwritten. A block-quantized
// weight (Q8_0, Q4_0, Q4_1) goes to quantized_linear (common/quantization/quantized_matmul.hpp).
void linear(const Tensor& x, const Tensor& weight, Tensor& y);
Tensor linear(const Tensor& x, const Tensor& weight);

// y: [rows, out] = x: [rows, in] · weight, weight: [in, out]. y is overwritten.
void matmul(const Tensor& x, const Tensor& weight, Tensor& y);
Tensor matmul(const Tensor& x, const Tensor& weight);

}  // namespace llama4
