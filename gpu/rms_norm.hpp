// RMSNorm and the per-head QK norm on the GPU: the twins of common/layers/rms_norm.hpp.
//
//   rms_norm  y[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + eps) * weight        one block per row
//   qk_norm   the same over each head's D numbers, no weight, in place      one block per head
//
// Pointers are device memory; the functions return once the kernel is queued.
#pragma once

#include <cstdint>

#include "common/tensors/bfloat16.hpp"

namespace llama4::gpu {

// y: [rows, hidden] = rms_norm(x: [rows, hidden]) * weight: [hidden] (bf16). y may be x.
void rms_norm(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
              std::int64_t hidden, float eps);

// x: [vectors, head_dim], each vector (one head of one token) normalised in place, no weight.
// A [T, heads, D] tensor is T * heads vectors.
void qk_norm(float* x, std::int64_t vectors, std::int64_t head_dim, float eps);

}  // namespace llama4::gpu
