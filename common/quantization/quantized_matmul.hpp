// The matrix product y = x · Wᵀ with W stored in blocks (Q8_0, Q4_0, Q4_1; chapter 12).
//
// linear() in common/tensors/matmul.hpp sends a block-quantized weight here, so every layer runs
// quantized without knowing it. W is [out, in] with its rows cut into 32-weight blocks along `in`;
// x and y stay f32.
//
// Kernel v1, here: each block is dequantized into registers (16 floats at a time, the scale folded
// in) and multiplied as the bf16 kernel does; memory delivers 34, 18 or 20 bytes per 32 weights
// instead of 64, while the arithmetic per weight grows by a conversion or two. For prefill a block
// is dequantized once and used for four rows of x. Decode (fewer than four rows) goes to kernel v2,
// integer dot products (integer_dot.hpp), where the CPU has AVX-512 VNNI or AVX2; Q4_0 matrices
// with an interleaved copy go to v4, in decode and in prefill. A build without AVX-512 sends
// prefill to v2 as well (quantized_matmul.cpp says why).
#pragma once

#include "common/tensors/tensor.hpp"

namespace llama4 {

// y: [rows, out] = x: [rows, in] · weightᵀ, weight: [out, in] block-quantized. y is overwritten.
void quantized_linear(const Tensor& x, const Tensor& weight, Tensor& y);

// True when prefill of Q8_0 and Q4_1 (and of Q4_0 without an interleaved copy) dequantizes the
// blocks (v1): builds for AVX-512. Elsewhere it takes the integer kernels where the CPU has them.
bool quantized_prefill_dequantizes();

}  // namespace llama4
