// linear on block-quantized weights (chapter 12's Q8_0, Q4_0 and Q4_1) on the GPU: the weights stay
// packed in device memory, 8.5 or 4.5 or 5 bits each, and every thread turns the values it reads
// back into floats on the way (d · q, or d · q + m). The twin of the CPU's dequantize-then-f32
// product (common/quantization/quantized_matmul.hpp, kernel v1), which the tests hold it to: the
// activations stay f32 here, so there is no rounding of x to allow for.
//
//   quantized_linear(x, W):  y = x · Wᵀ   W: [out, in], each row `in / 32` blocks as on the host
//
// The bytes are the host tensor's raw_data(), uploaded unchanged (block_formats.hpp has the
// layouts, which are llama.cpp's). `in` must be a multiple of 32. Like gpu::linear, it returns as
// soon as the kernel is queued; rows is at most 65535.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/tensors/dtype.hpp"

namespace llama4::gpu {

// y: [rows, out] = x: [rows, in] · weightᵀ; weight: [out, in] in `format` (Q8_0, Q4_0 or Q4_1;
// another is an Error). y is overwritten.
void quantized_linear(const float* x, const std::byte* weight, DType format, float* y,
                      std::int64_t rows, std::int64_t in, std::int64_t out);

}  // namespace llama4::gpu
