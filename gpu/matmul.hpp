// Matrix products on the GPU with bf16 weights and f32 activations, f32 accumulation. The GPU
// twins of common/tensors/matmul.hpp (read that first: it explains the two weight layouts), which
// is also the reference the tests hold these to.
//
//   linear(x, W):  y = x · Wᵀ   W: [out, in]   every projection, the shared expert, lm_head
//   matmul(x, W):  y = x · W    W: [in, out]   the routed experts' gate_up_proj and down_proj
//
// rows = 1 is the matrix-vector product of decoding one token; rows > 1 the matrix-matrix product
// of a prompt. All pointers are device memory (DeviceBuffer::data()); a stacked weight such as
// the experts' [E, in, out] is passed as a pointer to expert e's matrix. The functions return as
// soon as the kernel is queued. rows is at most 65535 (it is the grid's y dimension).
#pragma once

#include <cstdint>

#include "common/tensors/bfloat16.hpp"

namespace llama4::gpu {

// y: [rows, out] = x: [rows, in] · weightᵀ, weight: [out, in]. y is overwritten.
void linear(const float* x, const bfloat16* weight, float* y, std::int64_t rows, std::int64_t in,
            std::int64_t out);

// y: [rows, out] = x: [rows, in] · weight, weight: [in, out]. y is overwritten.
void matmul(const float* x, const bfloat16* weight, float* y, std::int64_t rows, std::int64_t in,
            std::int64_t out);

}  // namespace llama4::gpu
