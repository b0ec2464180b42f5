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

// Rows of an input-major W that matmul's prefill takes per pass, in every kernel (chapter 01's f32
// one and chapter 12's bf16 pairs). A row of W is out · 2 bytes of bf16 (8 KiB for Scout's 4096
// columns), so each row a tile reads lies on its own 4 KiB page: walking all of W's rows for every
// tile of x missed the TLB at every row. The kernels run every tile of x over 128 rows, adding into
// the sums, then take the next 128 (20.6 -> 14.4 ms for 64 rows of one matrix, f32 kernel).
inline constexpr std::int64_t kMatmulChunkRows = 128;

// y: [rows, out] = x: [rows, in] · weight, weight: [in, out]. y is overwritten.
void matmul(const Tensor& x, const Tensor& weight, Tensor& y);
Tensor matmul(const Tensor& x, const Tensor& weight);

// Σ_i a[i] · b[i] over n floats, in f32: the kernel of every decode product above, also what
// attention's scores q · k are made of.
float dot(const float* a, const float* b, std::int64_t n);

}  // namespace llama4
